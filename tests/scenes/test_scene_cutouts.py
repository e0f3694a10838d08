"""Person cut-outs: the shipped ones and those cut from the real clip, found by the detector."""
from __future__ import annotations

from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv

from custodywatch.scenes import cutouts as cutouts_module
from custodywatch.scenes.compose import Actor, Renderer, Timeline
from custodywatch.scenes.cutouts import CLIP_PEOPLE, Cutout, empty_room_path, load_cutouts, read_image
from custodywatch.vocabulary import Role

# Where scenes make people stand (catalog.py), feet on the near floor.
STANDING_SPOTS = [(0.15, 0.93), (0.41, 0.91), (0.80, 0.93), (0.30, 0.92)]


def test_six_different_people_are_available(cutouts: dict[str, Cutout]) -> None:
    assert len(cutouts) >= 6
    assert {p.name for p in CLIP_PEOPLE} <= set(cutouts)
    thumbnails = {name: cv2.resize(c.bgra[..., :3], (32, 80), interpolation=cv2.INTER_AREA).astype(float)
                  for name, c in cutouts.items()}
    for a, b in combinations(thumbnails, 2):
        assert np.abs(thumbnails[a] - thumbnails[b]).mean() > 10, f"{a} and {b} look like the same person"


@pytest.mark.parametrize("person", [p.name for p in CLIP_PEOPLE])
def test_a_cut_from_the_clip_is_one_whole_standing_person(cutouts: dict[str, Cutout], person: str) -> None:
    bgra = cutouts[person].bgra
    height, width = bgra.shape[:2]
    assert height >= 0.6 * 432, "not the whole body of someone standing in the 432-line clip"
    assert 1.8 < height / width < 4.5, "a standing person is two to four times taller than wide"
    alpha = bgra[..., 3]
    opaque = alpha > 128
    assert 0.35 < opaque.mean() < 0.9, "the silhouette should fill much, not all, of its box"
    # Cropped to the silhouette (soft-edged): the person reaches every side of the cut-out.
    seen = alpha > 0
    assert seen[0].any() and seen[-1].any() and seen[:, 0].any() and seen[:, -1].any()
    # Just one person: a single connected silhouette, not a person plus stray changes in the room.
    count, _, stats, _ = cv2.connectedComponentsWithStats(opaque.astype(np.uint8))
    assert stats[1:, cv2.CC_STAT_AREA].max() > 0.98 * opaque.sum()


def test_cut_outs_are_cached_and_not_cut_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_cutouts(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{p.name}-v{cutouts_module.EXTRACTION_VERSION}.png" for p in CLIP_PEOPLE)

    def no_decoding(*_: object) -> None:
        raise AssertionError("cached cut-outs must not decode the clip again")

    monkeypatch.setattr(cutouts_module, "read_frame_at", no_decoding)
    again = load_cutouts(tmp_path)
    for name, cutout in first.items():
        assert np.array_equal(again[name].bgra, cutout.bgra), name


def test_an_empty_frame_has_no_person_to_cut() -> None:
    empty_room = read_image(empty_room_path())
    with pytest.raises(ValueError, match="nobody in view"):
        cutouts_module.cut_out("nobody", empty_room.copy(), empty_room)


@pytest.mark.parametrize("spot", STANDING_SPOTS)
def test_every_cut_out_pasted_in_the_room_is_detected_as_a_person(
        cutouts: dict[str, Cutout], detector, spot: tuple[float, float]) -> None:
    empty_room = read_image(empty_room_path())
    for name, cutout in cutouts.items():
        timeline = Timeline((Actor(cutout, Role.OFFICER, [(0.0, *spot)]),), duration_s=1.0)
        frame = Renderer(timeline, empty_room).frame(0)
        (found,) = detector.detect([frame])
        assert len(found) == 1, f"{name} at {spot}: {len(found)} people found"
        drawn = np.array([timeline.box_at(timeline.actors[0], 0.0)]) * (timeline.size * 2)
        iou = sv.box_iou_batch(drawn, found.xyxy)[0, 0]
        assert iou > 0.7, f"{name} at {spot}: found at {found.xyxy[0]}, drawn at {drawn[0]}"
