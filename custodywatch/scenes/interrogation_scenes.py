"""Scenes in the interrogation room: officers leaving, stepping out, crossing, lights, lens.

The detainee sits on the right; two officers stand on the left, by the window and by the table.
Each scene's truth is derived from its script (see `truth.room_alerts`).
"""
from __future__ import annotations

from custodywatch.scenes.compose import Actor, Keyframe
from custodywatch.scenes.effects import Blurred, Lighting
from custodywatch.scenes.staging import (
    DETAINEE_SPOT,
    INTERROGATION,
    NO_CUSTODY_RECORDS,
    OFFICER_BACK_OF_ROOM,
    OFFICER_OUT_OF_VIEW,
    OFFICER_SPOT_TABLE,
    OFFICER_SPOT_WINDOW,
    Cutouts,
    Scene,
    leave,
    rules_with,
    stage,
    stay,
    step_out,
)
from custodywatch.vocabulary import Role


def _officer_leaves(spot: tuple[float, float], at: float) -> list[Keyframe]:
    return leave(spot, OFFICER_BACK_OF_ROOM, OFFICER_OUT_OF_VIEW, at)


def _officer_who_leaves(cutouts: Cutouts, name: str, keyframes: list[Keyframe], seed: int) -> Actor:
    return Actor(cutouts[name], Role.OFFICER, keyframes, seed=seed)


def interrogation_officer_leaves(cutouts: Cutouts) -> Scene:
    return stage(
        "interrogation_officer_leaves",
        "Detainee seated, two officers; at 20 s one walks out and stays away: single_officer after 20 s.",
        INTERROGATION,
        (
            _officer_who_leaves(cutouts, "person_black", _officer_leaves(OFFICER_SPOT_WINDOW, 20.0), 1),
            Actor(cutouts["grey_shirt_jeans"], Role.OFFICER, stay(OFFICER_SPOT_TABLE), seed=2),
            Actor(cutouts["dark_hair_grey_top"], Role.DETAINEE, stay(DETAINEE_SPOT), seed=3),
        ),
        75.0,
        rules_with(single_officer={"after_s": 20.0, "clear_s": 10.0}),
    )


def interrogation_both_stay(cutouts: Cutouts) -> Scene:
    window_x, window_y = OFFICER_SPOT_WINDOW
    table_x, table_y = OFFICER_SPOT_TABLE
    # Both officers shift their weight and step a little, always inside the officer area.
    stepped_x, stepped_y = window_x + 0.06, window_y - 0.03
    stepping = [Keyframe(0.0, window_x, window_y), Keyframe(30.0, window_x, window_y),
                Keyframe(32.0, stepped_x, stepped_y), Keyframe(50.0, stepped_x, stepped_y),
                Keyframe(52.0, window_x, window_y)]
    shifting = [Keyframe(0.0, table_x, table_y), Keyframe(40.0, table_x, table_y),
                Keyframe(41.5, table_x + 0.03, table_y + 0.02)]
    return stage(
        "interrogation_both_stay",
        "Detainee seated, two officers who shift a little but stay for the whole scene: no alert.",
        INTERROGATION,
        (
            Actor(cutouts["black_tshirt"], Role.OFFICER, stepping, seed=4),
            Actor(cutouts["person_black"], Role.OFFICER, shifting, seed=5),
            Actor(cutouts["grey_cardigan"], Role.DETAINEE, stay(DETAINEE_SPOT), seed=6),
        ),
        75.0,
        rules_with(single_officer={"after_s": 20.0, "clear_s": 10.0}),
    )


def demo_interrogation_loop(cutouts: Cutouts) -> Scene:
    return stage(
        "demo_interrogation_loop",
        "Live demo, looped: two officers and a detainee; one officer is away from 15 s to 85 s, so "
        "single_officer (after 30 s) fires about 48 s into every loop and ends when they are back.",
        INTERROGATION,
        (
            _officer_who_leaves(cutouts, "black_tshirt", step_out(
                OFFICER_SPOT_WINDOW, OFFICER_BACK_OF_ROOM, OFFICER_OUT_OF_VIEW, 15.0, 85.0), 7),
            Actor(cutouts["grey_shirt_jeans"], Role.OFFICER, stay(OFFICER_SPOT_TABLE), seed=8),
            Actor(cutouts["dark_hair_grey_top"], Role.DETAINEE, stay(DETAINEE_SPOT), seed=9),
        ),
        105.0,
        rules_with(single_officer={"after_s": 30.0, "clear_s": 10.0}),
    )


def interrogation_officer_steps_out(cutouts: Cutouts) -> Scene:
    return stage(
        "interrogation_officer_steps_out",
        "Near miss: one officer steps out at 10 s and is back in the officer area about 16 s after "
        "leaving it; single_officer is set to 20 s: no alert.",
        INTERROGATION,
        (
            _officer_who_leaves(cutouts, "person_blonde", step_out(
                OFFICER_SPOT_WINDOW, OFFICER_BACK_OF_ROOM, OFFICER_OUT_OF_VIEW, 10.0, 20.0), 11),
            Actor(cutouts["black_tshirt"], Role.OFFICER, stay(OFFICER_SPOT_TABLE), seed=12),
            Actor(cutouts["grey_cardigan"], Role.DETAINEE, stay(DETAINEE_SPOT), seed=13),
        ),
        50.0,
        rules_with(single_officer={"after_s": 20.0, "clear_s": 10.0}),
    )


def interrogation_officers_cross(cutouts: Cutouts) -> Scene:
    window, table = OFFICER_SPOT_WINDOW, OFFICER_SPOT_TABLE
    # The two officers swap places twice, passing right in front of each other (one slightly
    # nearer the camera), which merges and splits their boxes and swaps tracker ids; then at
    # 30 s the one by the window leaves for good.
    first = [Keyframe(0.0, *window), Keyframe(10.0, *window), Keyframe(14.0, *table), Keyframe(20.0, *table),
             Keyframe(24.0, *window), Keyframe(30.0, *window), Keyframe(30.0 + 4.0, *OFFICER_BACK_OF_ROOM),
             Keyframe(30.0 + 9.0, *OFFICER_OUT_OF_VIEW, visible=False)]
    near_table = (table[0], table[1] + 0.04)
    near_window = (window[0], window[1] + 0.03)
    second = [Keyframe(0.0, *near_table), Keyframe(10.0, *near_table), Keyframe(14.0, *near_window),
              Keyframe(20.0, *near_window), Keyframe(24.0, *near_table)]
    return stage(
        "interrogation_officers_cross",
        "Tracker-hostile: two officers cross in front of each other at 10-14 s and 20-24 s (no alert "
        "from that), then one leaves at 30 s: single_officer after 15 s.",
        INTERROGATION,
        (
            Actor(cutouts["person_black"], Role.OFFICER, first, seed=14),
            Actor(cutouts["grey_shirt_jeans"], Role.OFFICER, second, seed=15),
            Actor(cutouts["dark_hair_grey_top"], Role.DETAINEE, stay(DETAINEE_SPOT), seed=16),
        ),
        60.0,
        rules_with(single_officer={"after_s": 15.0, "clear_s": 10.0}),
    )


def interrogation_officers_leave(cutouts: Cutouts) -> Scene:
    return stage(
        "interrogation_officers_leave",
        "Default thresholds: both officers walk out (10 s and 15 s) leaving the detainee alone: "
        "unattended_detainee after 30 s; single_officer (60 s) never holds long enough.",
        INTERROGATION,
        (
            _officer_who_leaves(cutouts, "black_tshirt", _officer_leaves(OFFICER_SPOT_WINDOW, 10.0), 17),
            _officer_who_leaves(cutouts, "person_blonde", _officer_leaves(OFFICER_SPOT_TABLE, 15.0), 18),
            Actor(cutouts["grey_cardigan"], Role.DETAINEE, stay(DETAINEE_SPOT), seed=19),
        ),
        60.0,
        NO_CUSTODY_RECORDS,
    )


def interrogation_officers_step_out(cutouts: Cutouts) -> Scene:
    return stage(
        "interrogation_officers_step_out",
        "Near miss: both officers step out (10 s, 15 s); the second is back about 15 s after they "
        "left; unattended_detainee is set to 20 s: no alert.",
        INTERROGATION,
        (
            _officer_who_leaves(cutouts, "black_tshirt", step_out(
                OFFICER_SPOT_WINDOW, OFFICER_BACK_OF_ROOM, OFFICER_OUT_OF_VIEW, 10.0, 40.0), 20),
            _officer_who_leaves(cutouts, "person_blonde", step_out(
                OFFICER_SPOT_TABLE, OFFICER_BACK_OF_ROOM, OFFICER_OUT_OF_VIEW, 15.0, 26.0), 21),
            Actor(cutouts["dark_hair_grey_top"], Role.DETAINEE, stay(DETAINEE_SPOT), seed=22),
        ),
        60.0,
        rules_with(single_officer={"after_s": 30.0, "clear_s": 10.0}, unattended_detainee={"after_s": 20.0}),
    )


def interrogation_lights_dim(cutouts: Cutouts) -> Scene:
    return stage(
        "interrogation_lights_dim",
        "Lighting change: the lights dim to 45 % at 15 s (2 s fade) and come back at 35 s; everyone "
        "stays and is seen throughout: no alert (single_officer at 10 s would catch a lost officer).",
        INTERROGATION,
        (
            Actor(cutouts["person_black"], Role.OFFICER, stay(OFFICER_SPOT_WINDOW), seed=23),
            Actor(cutouts["grey_shirt_jeans"], Role.OFFICER, stay(OFFICER_SPOT_TABLE), seed=24),
            Actor(cutouts["grey_cardigan"], Role.DETAINEE, stay(DETAINEE_SPOT), seed=25),
        ),
        50.0,
        rules_with(single_officer={"after_s": 10.0, "clear_s": 10.0}),
        effects=(Lighting(15.0, 35.0, gain=0.45, ramp_s=2.0),),
    )


def interrogation_lens_blurred(cutouts: Cutouts) -> Scene:
    return stage(
        "interrogation_lens_blurred",
        "Sprayed lens: from 10 s to the end the picture is a blur: video_loss after its default 20 s.",
        INTERROGATION,
        (
            Actor(cutouts["black_tshirt"], Role.OFFICER, stay(OFFICER_SPOT_WINDOW), seed=26),
            Actor(cutouts["person_blonde"], Role.OFFICER, stay(OFFICER_SPOT_TABLE), seed=27),
            Actor(cutouts["dark_hair_grey_top"], Role.DETAINEE, stay(DETAINEE_SPOT), seed=28),
        ),
        45.0,
        NO_CUSTODY_RECORDS,
        effects=(Blurred(10.0),),
    )
