"""Scenes in the holding room: the guard away, hidden, asleep or reading; custody records; and
every way the camera can lose sight of the room (covered, turned, frozen, no frames) or not (night).

Detainees stay on the left, the guard's post is on the right. Each scene's truth is derived from
its script (see `truth.room_alerts`).
"""
from __future__ import annotations

from custodywatch.scenes.compose import Activity, Actor, Keyframe
from custodywatch.scenes.effects import Covered, Frozen, Lighting, NoFrames, TurnedAway
from custodywatch.scenes.props import locker
from custodywatch.scenes.staging import (
    GUARD_BACK_OF_ROOM,
    GUARD_OUT_OF_VIEW,
    GUARD_SPOT,
    HOLDING,
    HOLDING_DETAINEE_BACK,
    HOLDING_DETAINEE_OUT,
    HOLDING_DETAINEE_SPOT,
    Cutouts,
    Scene,
    leave,
    rules_with,
    stage,
    stay,
    step_out,
    still_between,
    walk_in,
)
from custodywatch.scenes.truth import CustodyRecord
from custodywatch.vocabulary import Role, RuleId


def _detainee(cutouts: Cutouts, name: str = "black_tshirt", seed: int = 11) -> Actor:
    return Actor(cutouts[name], Role.DETAINEE, stay(HOLDING_DETAINEE_SPOT), seed=seed)


def holding_guard_leaves(cutouts: Cutouts) -> Scene:
    return stage(
        "holding_guard_leaves",
        "A detainee in the holding room; the guard leaves the post at 15 s and stays away: "
        "guard_absent warning after 15 s, alarm after 30 s.",
        HOLDING,
        (
            Actor(cutouts["grey_shirt_jeans"], Role.GUARD,
                  leave(GUARD_SPOT, GUARD_BACK_OF_ROOM, GUARD_OUT_OF_VIEW, 15.0), seed=10),
            _detainee(cutouts),
        ),
        60.0,
        rules_with(guard_absent={"warn_after_s": 15.0, "alarm_after_s": 30.0}),
    )


def holding_guard_steps_out(cutouts: Cutouts) -> Scene:
    return stage(
        "holding_guard_steps_out",
        "Near miss: the guard steps out at 10 s and is back at the post about 12 s after leaving "
        "it; guard_absent warns at 17 s: no alert.",
        HOLDING,
        (
            Actor(cutouts["person_black"], Role.GUARD,
                  step_out(GUARD_SPOT, GUARD_BACK_OF_ROOM, GUARD_OUT_OF_VIEW, 10.0, 19.0), seed=30),
            _detainee(cutouts, "grey_cardigan", 31),
        ),
        45.0,
        rules_with(guard_absent={"warn_after_s": 17.0, "alarm_after_s": 34.0}),
    )


# The locker at the guard post, and where the guard stands to be hidden behind it.
LOCKER_BASE = (0.90, 0.90)
LOCKER_HEIGHT = 0.70
BEHIND_LOCKER = (0.90, 0.82)
GUARD_SPOT_BY_LOCKER = (0.70, 0.93)


def _hide_behind_locker(at: float, hidden_s: float, walk_s: float = 1.5) -> list[Keyframe]:
    return [Keyframe(at, *GUARD_SPOT_BY_LOCKER), Keyframe(at + walk_s, *BEHIND_LOCKER),
            Keyframe(at + walk_s + hidden_s, *BEHIND_LOCKER), Keyframe(at + 2 * walk_s + hidden_s,
                                                                     *GUARD_SPOT_BY_LOCKER)]


def holding_guard_hidden(cutouts: Cutouts) -> Scene:
    path = [Keyframe(0.0, *GUARD_SPOT_BY_LOCKER), *_hide_behind_locker(12.0, 2.0),
            *_hide_behind_locker(30.0, 2.0)]
    return stage(
        "holding_guard_hidden",
        "Briefly hidden: the guard twice steps behind the locker at the post, out of sight for about "
        "3 s, less than roles.exit_s; guard_absent is set to 4 s / 8 s: no alert.",
        HOLDING,
        (Actor(cutouts["grey_shirt_jeans"], Role.GUARD, path, seed=32),
         _detainee(cutouts, "person_blonde", 33)),
        45.0,
        rules_with(guard_absent={"warn_after_s": 4.0, "alarm_after_s": 8.0}),
        props=(locker(*LOCKER_BASE, LOCKER_HEIGHT),),
    )


def holding_guard_asleep(cutouts: Cutouts) -> Scene:
    return stage(
        "holding_guard_asleep",
        "The guard stays at the post but stops moving at 8 s: guard_asleep warning after 15 s, "
        "alarm after 30 s.",
        HOLDING,
        (Actor(cutouts["black_tshirt"], Role.GUARD, still_between(GUARD_SPOT, 8.0, None), seed=34),
         _detainee(cutouts, "grey_cardigan", 35)),
        50.0,
        rules_with(guard_asleep={"warn_after_s": 15.0, "alarm_after_s": 30.0}),
    )


def holding_guard_dozes(cutouts: Cutouts) -> Scene:
    return stage(
        "holding_guard_dozes",
        "Near miss: the guard is motionless from 8 s to 18 s, then moves again; guard_asleep warns "
        "at 14 s: no alert.",
        HOLDING,
        (Actor(cutouts["person_black"], Role.GUARD, still_between(GUARD_SPOT, 8.0, 18.0), seed=36),
         _detainee(cutouts, "dark_hair_grey_top", 37)),
        40.0,
        rules_with(guard_asleep={"warn_after_s": 14.0, "alarm_after_s": 28.0}),
    )


def holding_guard_reading(cutouts: Cutouts) -> Scene:
    return stage(
        "holding_guard_reading",
        "The guard stands at the post reading: feet still, only the upper body moves a little, for "
        "the whole scene; guard_asleep is set to 15 s / 30 s: no alert (reading is not asleep).",
        HOLDING,
        (Actor(cutouts["grey_shirt_jeans"], Role.GUARD, stay(GUARD_SPOT, Activity.READING), seed=38),
         _detainee(cutouts, "black_tshirt", 39)),
        45.0,
        rules_with(guard_asleep={"warn_after_s": 15.0, "alarm_after_s": 30.0}),
    )


def holding_overstay(cutouts: Cutouts) -> Scene:
    # Checked in 20 s before the footage starts; the room's override puts the limit at 45 s.
    record = CustodyRecord("detainee-1", HOLDING.room_id, "questioning", check_in=-20.0)
    return stage(
        "holding_overstay",
        "A registered detainee checked in 20 s before the video starts; overstay override warns at "
        "30 s and alarms at 45 s of custody: warning at 10 s, alarm at 25 s.",
        HOLDING,
        (Actor(cutouts["person_black"], Role.GUARD, stay(GUARD_SPOT), seed=40),
         _detainee(cutouts, "grey_cardigan", 41)),
        40.0,
        {RuleId.OVERSTAY: {"warn_after_s": 30.0, "alarm_after_s": 45.0},
         RuleId.UNREGISTERED_DETENTION: {"after_s": 10.0}},
        custody=(record,),
    )


def holding_detainee_released(cutouts: Cutouts) -> Scene:
    record = CustodyRecord("detainee-1", HOLDING.room_id, "summons", check_in=-20.0, release=15.0)
    detainee = Actor(cutouts["dark_hair_grey_top"], Role.DETAINEE,
                     leave(HOLDING_DETAINEE_SPOT, HOLDING_DETAINEE_BACK, HOLDING_DETAINEE_OUT, 15.0), seed=43)
    return stage(
        "holding_detainee_released",
        "Near miss: a detainee checked in 20 s before the video is released at 15 s and walks out; "
        "overstay would warn at 40 s of custody (20 s into the video): no alert.",
        HOLDING,
        (Actor(cutouts["black_tshirt"], Role.GUARD, stay(GUARD_SPOT), seed=42), detainee),
        40.0,
        {RuleId.OVERSTAY: {"warn_after_s": 40.0, "alarm_after_s": 60.0},
         RuleId.UNREGISTERED_DETENTION: {"after_s": 10.0}},
        custody=(record,),
    )


def _detainee_brought_in(at: float) -> list[Keyframe]:
    return walk_in(HOLDING_DETAINEE_SPOT, HOLDING_DETAINEE_BACK, HOLDING_DETAINEE_OUT, at)


def holding_unregistered(cutouts: Cutouts) -> Scene:
    # The only record is the previous detainee's, released a minute before the video starts.
    previous = CustodyRecord("detainee-9", HOLDING.room_id, "questioning", check_in=-3600.0, release=-60.0)
    detainee = Actor(cutouts["person_blonde"], Role.DETAINEE, _detainee_brought_in(3.0), seed=45)
    return stage(
        "holding_unregistered",
        "A detainee is brought in at 3 s; the room's only custody record was closed before: "
        "unregistered_detention after 15 s of their presence.",
        HOLDING,
        (Actor(cutouts["grey_shirt_jeans"], Role.GUARD, stay(GUARD_SPOT), seed=44), detainee),
        45.0,
        {RuleId.UNREGISTERED_DETENTION: {"after_s": 15.0}},
        custody=(previous,),
    )


def holding_registered(cutouts: Cutouts) -> Scene:
    record = CustodyRecord("detainee-2", HOLDING.room_id, "summons", check_in=1.0)
    detainee = Actor(cutouts["grey_cardigan"], Role.DETAINEE, _detainee_brought_in(3.0), seed=47)
    return stage(
        "holding_registered",
        "Near miss: a detainee is brought in at 3 s, checked in at 1 s: registered, so no "
        "unregistered_detention (set to 15 s) and no overstay.",
        HOLDING,
        (Actor(cutouts["black_tshirt"], Role.GUARD, stay(GUARD_SPOT), seed=46), detainee),
        45.0,
        {RuleId.UNREGISTERED_DETENTION: {"after_s": 15.0}},
        custody=(record,),
    )


def _guard_and_detainee(cutouts: Cutouts, guard: str, detainee: str, seed: int) -> tuple[Actor, Actor]:
    return (Actor(cutouts[guard], Role.GUARD, stay(GUARD_SPOT), seed=seed),
            Actor(cutouts[detainee], Role.DETAINEE, stay(HOLDING_DETAINEE_SPOT), seed=seed + 1))


# Video-loss scenes keep video_loss at its default (20 s) and set guard_absent short, so an
# analysis that takes a covered camera for an empty post (instead of suspending) raises it.
TIGHT_GUARD_ABSENT = {"warn_after_s": 8.0, "alarm_after_s": 16.0}


def holding_camera_covered(cutouts: Cutouts) -> Scene:
    return stage(
        "holding_camera_covered",
        "The lens is covered from 10 s to 38 s (dark, flat picture): video_loss after its default 20 s; "
        "guard_absent (8 s) stays suspended while nothing is seen.",
        HOLDING,
        _guard_and_detainee(cutouts, "person_black", "grey_cardigan", 50),
        55.0,
        rules_with(guard_absent=TIGHT_GUARD_ABSENT),
        effects=(Covered(10.0, 38.0),),
    )


def holding_camera_covered_briefly(cutouts: Cutouts) -> Scene:
    return stage(
        "holding_camera_covered_briefly",
        "Near miss: the lens is covered from 10 s to 25 s, less than video_loss's 20 s: no alert.",
        HOLDING,
        _guard_and_detainee(cutouts, "grey_shirt_jeans", "dark_hair_grey_top", 52),
        40.0,
        rules_with(guard_absent=TIGHT_GUARD_ABSENT),
        effects=(Covered(10.0, 25.0),),
    )


def holding_night(cutouts: Cutouts) -> Scene:
    return stage(
        "holding_night",
        "Night: the lights go down at 5 s and the camera turns to its grey night mode (22 % light); "
        "dark but every wall and person still visible: no video_loss, no alert.",
        HOLDING,
        _guard_and_detainee(cutouts, "black_tshirt", "grey_cardigan", 54),
        45.0,
        rules_with(guard_absent=TIGHT_GUARD_ABSENT),
        effects=(Lighting(5.0, gain=0.22, ramp_s=3.0, grey=True),),
    )


def holding_camera_turned(cutouts: Cutouts) -> Scene:
    return stage(
        "holding_camera_turned",
        "The camera is knocked up towards the wall at 10 s and stays there: video_loss after 20 s.",
        HOLDING,
        _guard_and_detainee(cutouts, "grey_shirt_jeans", "black_tshirt", 56),
        45.0,
        rules_with(guard_absent=TIGHT_GUARD_ABSENT),
        effects=(TurnedAway(10.0),),
    )


def holding_picture_frozen(cutouts: Cutouts) -> Scene:
    return stage(
        "holding_picture_frozen",
        "The picture freezes from 10 s to 40 s (the same frame over and over): video_loss after 20 s.",
        HOLDING,
        _guard_and_detainee(cutouts, "person_blonde", "dark_hair_grey_top", 58),
        55.0,
        rules_with(guard_absent=TIGHT_GUARD_ABSENT),
        effects=(Frozen(10.0, 40.0),),
    )


def holding_feed_lost(cutouts: Cutouts) -> Scene:
    return stage(
        "holding_feed_lost",
        "The camera sends nothing from 10 s to 40 s (a gap in the video): video_loss after 20 s, "
        "from when the next frame was due; guard_absent (8 s) stays suspended meanwhile.",
        HOLDING,
        _guard_and_detainee(cutouts, "dark_hair_grey_top", "black_tshirt", 60),
        55.0,
        rules_with(guard_absent=TIGHT_GUARD_ABSENT),
        effects=(NoFrames(10.0, 40.0),),
    )
