"""The composer: people appear where the timeline puts them, move, leave, hide behind furniture,
read or sleep; the light and the camera change; frames are alive."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from custodywatch.scenes.compose import Activity, Actor, Keyframe, Renderer, Timeline
from custodywatch.scenes.cutouts import Cutout, empty_room_path, read_image
from custodywatch.scenes.effects import Covered, Effects, Frozen, Lighting, NoFrames
from custodywatch.scenes.props import locker
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


def test_someone_reading_keeps_their_feet_and_hips_and_moves_the_upper_body(
        cutouts: dict[str, Cutout], empty_room: np.ndarray) -> None:
    reader = Actor(cutouts["grey_shirt_jeans"], Role.GUARD,
                   [Keyframe(0, 0.5, 0.93, activity=Activity.READING)])
    renderer = Renderer(Timeline((reader,), duration_s=3.0), empty_room)
    assert {reader.anchor_at(t) for t in (0.0, 0.7, 1.9)} == {(0.5, 0.93)}
    x0, y0, x1, y1 = (np.array(renderer.timeline.box_at(reader, 0.0)) * (640, 360, 640, 360)).astype(int)
    hips = y0 + int((y1 - y0) * 0.55)
    a, b = renderer.frame(0).astype(int), renderer.frame(12).astype(int)
    upper = np.abs(a[y0:hips, x0:x1] - b[y0:hips, x0:x1]).mean()
    legs = np.abs(a[hips + 5:y1, x0:x1] - b[hips + 5:y1, x0:x1]).mean()
    assert upper > 3 * legs and legs < 3, f"upper body {upper:.1f}, legs {legs:.1f} grey levels"


def test_activity_changes_at_keyframes_and_still_means_no_sway(cutouts: dict[str, Cutout]) -> None:
    guard = Actor(cutouts["black_tshirt"], Role.GUARD,
                  [Keyframe(0, 0.5, 0.9), Keyframe(5, 0.5, 0.9, activity=Activity.STILL)], seed=1)
    assert guard.activity_at(4.9) is Activity.AWAKE and guard.activity_at(5.0) is Activity.STILL
    assert {guard.anchor_at(t) for t in np.arange(5.0, 9.0, 0.1)} == {(0.5, 0.9)}


def test_a_prop_in_front_hides_the_person_behind_it_and_not_one_in_front(
        cutouts: dict[str, Cutout], empty_room: np.ndarray) -> None:
    behind = Actor(cutouts["grey_shirt_jeans"], Role.GUARD, [(0, 0.90, 0.82)], awake=False)
    in_front = Actor(cutouts["black_tshirt"], Role.DETAINEE, [(0, 0.90, 0.99)], awake=False)
    props = (locker(0.90, 0.90, 0.70),)
    assert Timeline((behind,), 1.0, props=props).hidden_share(behind, 0.0) > 0.6
    assert Timeline((in_front,), 1.0, props=props).hidden_share(in_front, 0.0) == 0.0
    with_prop = Renderer(Timeline((behind,), 1.0, props=props), empty_room).frame(0)
    prop_only = Renderer(Timeline((), 1.0, props=props), empty_room).frame(0)
    x0, y0, x1, y1 = (np.array(props[0].box((640, 360))) * (640, 360, 640, 360)).astype(int)
    region = np.s_[y0 + 2:y1 - 2, x0 + 2:x1 - 2]
    assert np.abs(with_prop[region].astype(int) - prop_only[region]).max() <= 2 * 3 + 1


def test_a_frozen_span_repeats_its_first_frame_exactly(cutouts: dict[str, Cutout],
                                                        empty_room: np.ndarray) -> None:
    actor = Actor(cutouts["black_tshirt"], Role.OFFICER, [(0, 0.3, 0.9)])
    renderer = Renderer(Timeline((actor,), 4.0, effects=Effects((Frozen(1.0, 3.0),))), empty_room)
    frozen = renderer.frame(10)
    assert all(np.array_equal(renderer.frame(i), frozen) for i in range(11, 30))
    assert not np.array_equal(renderer.frame(30), frozen) and not np.array_equal(renderer.frame(9), frozen)


def test_no_frames_are_sent_while_the_feed_is_lost(empty_room: np.ndarray) -> None:
    timeline = Timeline((), 3.0, effects=Effects((NoFrames(1.0, 2.0),)))
    sent = [frame is not None for frame in Renderer(timeline, empty_room).frames()]
    assert sent == [True] * 10 + [False] * 10 + [True] * 10


@pytest.mark.parametrize(("effect", "mean_range", "min_std"), [
    (Covered(0.0), (0, 20), 0.0),
    (Lighting(0.0, gain=0.22, ramp_s=0.0, grey=True), (15, 45), 8.0),
    (Lighting(0.0, gain=0.45, ramp_s=0.0), (40, 75), 20.0),
])
def test_light_and_lens_effects_set_the_picture_level(empty_room: np.ndarray, effect: Covered | Lighting,
                                                      mean_range: tuple[float, float],
                                                      min_std: float) -> None:
    frame = Renderer(Timeline((), 1.0, effects=Effects((effect,))), empty_room).frame(5)
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert mean_range[0] <= grey.mean() <= mean_range[1] and grey.std() >= min_std
    if isinstance(effect, Covered):
        assert grey.std() < 4, "a covered lens is flat"


def test_a_lighting_change_fades_in_and_out() -> None:
    dim = Lighting(10.0, 20.0, gain=0.5, ramp_s=2.0)
    assert [dim.share(t) for t in (9.9, 10.0, 11.0, 12.0, 15.0, 19.0, 20.0)] == [0, 0, 0.5, 1, 1, 0.5, 0]
