"""Real people cut out of real footage, to paste into the empty room.

Two cut-outs ship with the shared media; the others are cut from the real Intel clip at moments
when exactly one person stands still in view, by differencing against the clip's empty room.
Extraction decodes video, so its results are cached as PNGs in a directory the caller owns.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from custodywatch.paths import shared_dir

# Bump when the extraction changes, so stale cached cut-outs are not reused.
EXTRACTION_VERSION = 1

# Max over BGR channels of |frame - empty room|; the clip's own noise stays below ~15 (p99).
DIFF_THRESHOLD = 32
# A hole inside the silhouette smaller than this share of it is clothing that matched the wall;
# bigger holes (between the legs) are real background and stay transparent.
MAX_FILLED_HOLE_SHARE = 0.004
# The smallest silhouette accepted, as a share of the frame height: a whole standing person.
MIN_PERSON_HEIGHT_SHARE = 0.6


@dataclass(frozen=True)
class Cutout:
    """One person, cropped to their silhouette: BGRA, alpha 0 outside the person."""

    name: str
    bgra: np.ndarray

    def __post_init__(self) -> None:
        if self.bgra.ndim != 3 or self.bgra.shape[2] != 4 or self.bgra.dtype != np.uint8:
            raise ValueError(f"cut-out {self.name!r} must be an HxWx4 uint8 BGRA image, "
                             f"got {self.bgra.shape} {self.bgra.dtype}")

    @property
    def aspect(self) -> float:
        """Width over height."""
        return int(self.bgra.shape[1]) / int(self.bgra.shape[0])


@dataclass(frozen=True)
class ClipPerson:
    """A person in the Intel clip and a moment they stand still with their whole body in view."""

    name: str
    time_s: float


def media_dir() -> Path:
    return shared_dir() / "media"


def clip_path() -> Path:
    return media_dir() / "real" / "intel_one-by-one-person-detection.mp4"


def empty_room_path() -> Path:
    """The clip's empty room (768x432), the background every scene is composed on."""
    return media_dir() / "cutouts" / "empty_room_frame.png"


# The two people shipped as cut-outs are the ones in view at 22-44 s and 50-69 s.
SHIPPED_CUTOUTS = ("person_black", "person_blonde")

# The clip's other four people (in view at 6-19, 74-86, 92-122 and 126-138 s), at moments picked
# by eye: standing at the table, facing it, feet on the floor.
CLIP_PEOPLE = (
    ClipPerson("grey_cardigan", 14.0),
    ClipPerson("black_tshirt", 82.0),
    ClipPerson("dark_hair_grey_top", 105.0),
    ClipPerson("grey_shirt_jeans", 131.0),
)


def read_image(path: Path, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    image = cv2.imread(str(path), flags)
    if image is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return image


def read_frame_at(video: Path, time_s: float) -> np.ndarray:
    """The first frame at or after `time_s`, as BGR."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        if stream.time_base is None:
            raise ValueError(f"{video} has no time base: cannot seek to {time_s} s")
        container.seek(int(time_s / stream.time_base), stream=stream)
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= time_s - 1e-6:
                return frame.to_ndarray(format="bgr24")
    raise ValueError(f"{video} has no frame at {time_s} s")


def person_mask(frame: np.ndarray, empty_room: np.ndarray) -> np.ndarray:
    """The largest changed region of `frame` against the empty room, holes in clothing filled."""
    diff = cv2.absdiff(frame, empty_room).max(axis=2)
    mask = (diff > DIFF_THRESHOLD).astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if count < 2:
        raise ValueError("no changed region: nobody in view")
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    person: np.ndarray = (labels == largest).astype(np.uint8) * 255
    contours, hierarchy = cv2.findContours(person, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    area = float(stats[largest, cv2.CC_STAT_AREA])
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0], strict=True):
        if parent >= 0 and cv2.contourArea(contour) < MAX_FILLED_HOLE_SHARE * area:
            cv2.drawContours(person, [contour], -1, 255, cv2.FILLED)
    return person


def cut_out(name: str, frame: np.ndarray, empty_room: np.ndarray) -> Cutout:
    mask = person_mask(frame, empty_room)
    x, y, w, h = cv2.boundingRect(mask)
    if h < MIN_PERSON_HEIGHT_SHARE * frame.shape[0]:
        raise ValueError(f"{name}: silhouette only {h} px tall, not a whole standing person")
    # Soft edges, as the shipped cut-outs have, so the paste shows no hard halo.
    alpha = cv2.GaussianBlur(mask, (5, 5), 0)
    bgra = np.dstack([frame, alpha])[y:y + h, x:x + w]
    return Cutout(name, np.ascontiguousarray(bgra))


def extract_clip_person(person: ClipPerson) -> Cutout:
    empty_room = read_image(empty_room_path())
    return cut_out(person.name, read_frame_at(clip_path(), person.time_s), empty_room)


def cached_clip_person(person: ClipPerson, cache_dir: Path) -> Cutout:
    path = cache_dir / f"{person.name}-v{EXTRACTION_VERSION}.png"
    if path.exists():
        return Cutout(person.name, read_image(path, cv2.IMREAD_UNCHANGED))
    cutout = extract_clip_person(person)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent or interrupted run never leaves half a PNG in the cache.
    partial = path.with_suffix(".partial.png")
    cv2.imwrite(str(partial), cutout.bgra)
    partial.replace(path)
    return cutout


def load_cutouts(cache_dir: Path) -> dict[str, Cutout]:
    """Every available person by name: the shipped cut-outs first, then those cut from the clip."""
    cutouts = {
        name: Cutout(name, read_image(media_dir() / "cutouts" / f"{name}_rgba.png", cv2.IMREAD_UNCHANGED))
        for name in SHIPPED_CUTOUTS
    }
    for person in CLIP_PEOPLE:
        cutouts[person.name] = cached_clip_person(person, cache_dir)
    return cutouts
