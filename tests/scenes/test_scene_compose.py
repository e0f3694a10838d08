"""The composer: people appear where the timeline puts them, move, leave, and frames are alive."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from custodywatch.scenes.compose import Actor, Keyframe, Renderer, Timeline
from custodywatch.scenes.cutouts import Cutout, empty_room_path, read_image
from custodywatch.vocabulary import Role


@pytest.fixture(scope="module")
def empty_room() -> np.ndarray:
    return read_image(empty_room_path())


def changed_box(frame: np.ndarray, background: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box (x0, y0, x1, y1, exclusive) of what differs from the background beyond noise."""
    changed = cv2.absdiff(frame, background).max(axis=2) > 25
    if not changed.any():
        return None
    x, y, w, h = cv2.boundingRect(changed.astype(np.uint8))
    return x, y, x + w, y + h


@pytest.mark.parametrize(("t", "want"), [
    (0.0, (0.2, 0.9)), (5.0, (0.2, 0.9)),      # before the walk
    (7.5, (0.35, 0.8)),                         # half way
    (10.0, (0.5, 0.7)), (99.0, (0.5, 0.7)),    # after the last keyframe: stays
])
def test_a_still_actor_follows_the_keyframes_exactly(cutouts: dict[str, Cutout], t: float,
                                                     want: tuple[float, float]) -> None:
    actor = Actor(cutouts["black_tshirt"], Role.OFFICER, [(0, 0.2, 0.9), (5, 0.2, 0.9), (10, 0.5, 0.7)],
                  awake=False)
    assert actor.anchor_at(t) == pytest.approx(want)


def test_an_awake_actor_sways_a_little_around_the_script(cutouts: dict[str, Cutout]) -> None:
    actor = Actor(cutouts["black_tshirt"], Role.OFFICER, [(0, 0.5, 0.9)], seed=3)
    anchors = np.array([actor.anchor_at(i / 10) for i in range(300)])
    assert np.abs(anchors - [0.5, 0.9]).max() < 0.01, "sway must stay within a few pixels"
    steps = np.abs(np.diff(anchors, axis=0)).max(axis=1)
    assert (steps > 0).all(), "someone awake is never perfectly still from frame to frame"


def test_keyframe_visibility_holds_until_the_next_keyframe(cutouts: dict[str, Cutout]) -> None:
    actor = Actor(cutouts["black_tshirt"], Role.OFFICER,
                  [Keyframe(0, 0.5, 0.9), Keyframe(10, 0.5, 0.9, visible=False), Keyframe(20, 0.5, 0.9)])
    assert [actor.is_visible(t) for t in (0, 9.9, 10, 19.9, 20, 50)] == [True, True, False, False, True, True]


def test_keyframes_out_of_order_are_refused(cutouts: dict[str, Cutout]) -> None:
    with pytest.raises(ValueError, match="must not decrease"):
        Actor(cutouts["black_tshirt"], Role.OFFICER, [(5, 0.5, 0.9), (1, 0.4, 0.9)])


def test_the_person_is_drawn_with_their_feet_on_the_anchor(cutouts: dict[str, Cutout],
                                                           empty_room: np.ndarray) -> None:
    actor = Actor(cutouts["grey_shirt_jeans"], Role.OFFICER, [(0, 0.3, 0.9)], awake=False)
    timeline = Timeline((actor,), duration_s=1.0)
    renderer = Renderer(timeline, empty_room)
    box = changed_box(renderer.frame(0), renderer.background)
    assert box is not None
    width, height = timeline.size
    want = np.array(timeline.box_at(actor, 0.0)) * [width, height, width, height]
    assert np.abs(np.array(box) - want).max() <= 3, (box, want)
    assert (box[3] - box[1]) / height > 0.35, "people must be big enough to be detected"


def test_someone_who_walks_out_of_view_is_seen_walking_then_gone(cutouts: dict[str, Cutout],
                                                                 empty_room: np.ndarray) -> None:
    actor = Actor(cutouts["grey_shirt_jeans"], Role.OFFICER,
                  [(0, 0.3, 0.9), (1, 0.3, 0.9), (3, -0.3, 0.9)], awake=False)
    renderer = Renderer(Timeline((actor,), duration_s=4.0), empty_room)
    lefts = []
    for index in (0, 10, 15, 20, 22):
        box = changed_box(renderer.frame(index), renderer.background)
        assert box is not None, f"gone too early, at frame {index}"
        lefts.append(box[0])
    assert lefts[1] > lefts[2] > lefts[3] >= lefts[4] == 0, "walking left, step by step, to the edge"
    assert changed_box(renderer.frame(30), renderer.background) is None


def test_nearer_people_cover_those_further_back(cutouts: dict[str, Cutout], empty_room: np.ndarray) -> None:
    far = Actor(cutouts["grey_shirt_jeans"], Role.OFFICER, [(0, 0.5, 0.7)], awake=False)
    near = Actor(cutouts["black_tshirt"], Role.OFFICER, [(0, 0.5, 0.95)], awake=False)
    frame = Renderer(Timeline((near, far), duration_s=1.0), empty_room).frame(0)
    alone = Renderer(Timeline((near,), duration_s=1.0), empty_room).frame(0)
    # At the near person's waist, the pixels are theirs whatever the order the actors are listed in.
    x, y = 320, int(0.95 * 360 - 0.3 * 360)
    assert np.abs(frame[y, x].astype(int) - alone[y, x]).max() <= 2 * 3 + 1


def test_frames_are_never_identical_yet_rendering_is_repeatable(cutouts: dict[str, Cutout],
                                                                empty_room: np.ndarray) -> None:
    still = Actor(cutouts["black_tshirt"], Role.GUARD, [(0, 0.5, 0.9)], awake=False)
    renderer = Renderer(Timeline((still,), duration_s=2.0), empty_room)
    frames = list(renderer.frames())
    assert len(frames) == 20
    for a, b in zip(frames, frames[1:], strict=False):
        diff = cv2.absdiff(a, b)
        assert diff.any(), "sensor noise keeps a still scene from looking like a frozen camera"
        assert diff.mean() < 4, "but only a little noise"
    assert np.array_equal(renderer.frame(7), frames[7])
