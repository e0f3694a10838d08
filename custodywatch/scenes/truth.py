"""Ground truth of a scene, derived from its script by design.md's rule definitions.

Never from running the detector: who is where and doing what comes from the timeline, and the
alerts follow from design.md's definitions with the scene's thresholds:

- roles: a person's anchor (bottom centre) in their role's zone, seen: visible, not hidden behind
  furniture, and the room in sight. A count level is in after being seen for `enter_s`, out after
  unseen for `exit_s`; its changes take the *observed* times (first sighting of an arrival, last
  sighting of a departure), so hysteresis never stretches a timer.
- while the room is out of sight (covered, blurred, turned away, frozen) nobody is seen or unseen:
  counts hold, as the rules that need sight are suspended.
- a condition held for a level's threshold fires that level at `condition start + threshold`.

Everything is read off the frames `analyze` samples (every `video fps / analysis fps`-th frame),
since those are the only moments the analysis sees. A script whose truth would be ambiguous (a
condition ending within `MARGIN_S` of its threshold, an alert firing at the very end of the
footage) is refused, so the truth never hinges on a fraction of a second.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from custodywatch.scenes.compose import Activity, Actor, Timeline
from custodywatch.vocabulary import ROLE_ZONES, ROOM_RULES, Role, RoomType, RuleId, Severity, Zone

Polygon = Sequence[tuple[float, float]]
# Per-rule overrides of a room, as under `rooms[].rules` in the config.
RuleOverrides = Mapping[RuleId, Mapping[str, float | bool]]

# A condition must end at least this far from a threshold, either side, for its truth to be sure.
MARGIN_S = 2.0
# A person covered this much by furniture is hidden from the detector (half a body is still found).
HIDDEN_SHARE = 0.6
# design.md's role hysteresis defaults.
ENTER_S = 1.5
EXIT_S = 5.0
# design.md's custody defaults: limits by legal basis, warnings before the limit.
CUSTODY_LIMITS_S = {"questioning": 28800.0, "summons": 43200.0, "compelled_appearance": 43200.0,
                    "extended": 86400.0}
CUSTODY_WARN_BEFORE_S = (7200.0, 3600.0, 1800.0)


@dataclass(frozen=True)
class RuleDefaults:
    levels: tuple[tuple[Severity, float], ...]
    clear_s: float = 0.0


# design.md's rule table. overstay's come from the custody limits instead.
RULE_DEFAULTS: dict[RuleId, RuleDefaults] = {
    RuleId.SINGLE_OFFICER: RuleDefaults(((Severity.ALARM, 60.0),), clear_s=10.0),
    RuleId.UNATTENDED_DETAINEE: RuleDefaults(((Severity.ALARM, 30.0),)),
    RuleId.GUARD_ABSENT: RuleDefaults(((Severity.WARNING, 60.0), (Severity.ALARM, 120.0))),
    RuleId.GUARD_ASLEEP: RuleDefaults(((Severity.WARNING, 180.0), (Severity.ALARM, 600.0))),
    RuleId.UNREGISTERED_DETENTION: RuleDefaults(((Severity.ALARM, 600.0),)),
    RuleId.VIDEO_LOSS: RuleDefaults(((Severity.ALARM, 20.0),)),
}


@dataclass(frozen=True)
class TruthAlert:
    """One alert level a correct analysis reports, in the `analyze` output format (without `id`)."""

    rule: RuleId
    camera: str
    room: str
    severity: Severity
    start_s: float
    condition_start_s: float
    end_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rule": self.rule.value, "severity": self.severity.value}


@dataclass(frozen=True)
class CustodyRecord:
    """A custody record as `analyze --custody` reads it; times in seconds from the video start."""

    person: str
    room: str
    legal_basis: str
    check_in: float
    release: float | None = None
    extended: bool = False

    def open_at(self, t: float) -> bool:
        return self.check_in <= t and (self.release is None or t < self.release)

    def to_dict(self) -> dict[str, Any]:
        return {"person": self.person, "room": self.room, "legal_basis": self.legal_basis,
                "extended": self.extended, "check_in": self.check_in, "release": self.release}


@dataclass(frozen=True)
class Spell:
    """A condition holding from `start` until `end` (None: still holding when the footage ends)."""

    start: float
    end: float | None


def analysed_times(timeline: Timeline, analysis_fps: int) -> list[float]:
    """The stream times of the frames `analyze` keeps when sampling this timeline's video."""
    if timeline.fps % analysis_fps:
        raise ValueError(f"analysis rate {analysis_fps} fps must divide the video's {timeline.fps} fps, "
                         "or the sampled frames drift against the truth")
    step = timeline.fps // analysis_fps
    return [timeline.frame_time(i) for i in range(0, timeline.frame_count, step)]


def in_zone(actor: Actor, zone: Polygon, t: float) -> bool:
    if not actor.is_visible(t):
        return False
    contour = np.asarray(zone, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, actor.anchor_at(t), False) >= 0


def seen_in_zone(timeline: Timeline, actor: Actor, zone: Polygon, t: float) -> bool:
    """In the zone and in view of the camera: visible, on screen and not behind furniture."""
    if not in_zone(actor, zone, t):
        return False
    x0, _, x1, _ = timeline.box_at(actor, t)
    return x0 >= 0 and x1 <= 1 and timeline.hidden_share(actor, t) < HIDDEN_SHARE


def last_in_zone_before_leaving(actor: Actor, zone: Polygon, times: Sequence[float], after_s: float) -> float:
    """The last sampled time in `zone` before the actor's first sampled time outside it after `after_s`."""
    inside_at = None
    for t in times:
        if t < after_s:
            continue
        if not in_zone(actor, zone, t):
            if inside_at is None:
                break
            return inside_at
        inside_at = t
    raise ValueError(f"{actor.cutout.name} does not leave the zone after {after_s} s")


def first_in_zone_after(actor: Actor, zone: Polygon, times: Sequence[float], after_s: float) -> float:
    for t in times:
        if t >= after_s and in_zone(actor, zone, t):
            return t
    raise ValueError(f"{actor.cutout.name} is not in the zone after {after_s} s")


# ---- roles --------------------------------------------------------------------------------


def level_spells(raw: Sequence[int], times: Sequence[float], level: int,
                 enter_s: float, exit_s: float) -> list[Spell]:
    """When count level `level` of a role is present, from per-frame raw counts, on observed times:
    from the first sighting of a run to its last (None: the run lasts to the end of the footage)."""
    spells: list[Spell] = []
    first: float | None = None
    last: float | None = None
    for t, n in zip(times, raw, strict=True):
        if n >= level:
            if first is None or (last is not None and t - last > exit_s):
                if first is not None and last is not None and last - first >= enter_s:
                    spells.append(Spell(first, last))
                first = t
            last = t
    if first is not None and last is not None and last - first >= enter_s:
        # Unseen for less than `exit_s` when the footage ends: still there.
        spells.append(Spell(first, None if times[-1] - last < exit_s else last))
    return spells


def role_counts(raw: Sequence[int], times: Sequence[float], enter_s: float, exit_s: float) -> list[int]:
    """The role's count at each sampled time; a departure counts from its last sighting on."""
    counts = [0] * len(times)
    for level in range(1, max(raw, default=0) + 1):
        for spell in level_spells(raw, times, level, enter_s, exit_s):
            for i, t in enumerate(times):
                if spell.start <= t and (spell.end is None or t < spell.end):
                    counts[i] += 1
    return counts


# ---- conditions to alerts -----------------------------------------------------------------


def spells_of(holds: Sequence[bool], times: Sequence[float]) -> list[Spell]:
    """The spells of a condition sampled at `times`: from the first sample it holds to the first
    it does not."""
    spells: list[Spell] = []
    start: float | None = None
    for t, h in zip(times, holds, strict=True):
        if h and start is None:
            start = t
        elif not h and start is not None:
            spells.append(Spell(start, t))
            start = None
    if start is not None:
        spells.append(Spell(start, None))
    return spells


@dataclass(frozen=True)
class AlertSpec:
    """Where an alert is filed and the rule's levels and clearing time in this scene."""

    rule: RuleId
    room: str
    camera: str
    levels: tuple[tuple[Severity, float], ...]
    clear_s: float


def alerts_from_spells(spec: AlertSpec, spells: Sequence[Spell], footage_end: float) -> list[TruthAlert]:
    """Each level a condition reaches; spells closer together than `clear_s` after an alert fired
    are one alert (it had not cleared)."""
    alerts: list[TruthAlert] = []
    merged: list[Spell] = []
    for spell in spells:
        fired = bool(merged) and _reached(spec, merged[-1], footage_end)
        previous_end = merged[-1].end if merged else None
        if fired and previous_end is not None and spell.start - previous_end < spec.clear_s:
            merged[-1] = Spell(merged[-1].start, spell.end)
        else:
            merged.append(spell)
    for spell in merged:
        reached = _reached(spec, spell, footage_end)
        if reached and spell.end is not None and spell.end + spec.clear_s + MARGIN_S > footage_end:
            raise ValueError(f"{spec.rule.value} ends at {spell.end:.1f} s, too late to clear before the "
                             "footage ends")
        for severity, after_s in reached:
            alerts.append(TruthAlert(spec.rule, spec.camera, spec.room, severity,
                                     round(spell.start + after_s, 3), round(spell.start, 3),
                                     None if spell.end is None else round(spell.end, 3)))
    fire_times = sorted(a.start_s for a in alerts if a.severity is spec.levels[0][0])
    if any(b - a < 60.0 for a, b in zip(fire_times, fire_times[1:], strict=False)):
        raise ValueError(f"{spec.rule.value} fires twice within a minute: the cooldown decides, "
                         "not the script")
    return alerts


def _reached(spec: AlertSpec, spell: Spell, footage_end: float) -> list[tuple[Severity, float]]:
    reached = []
    for severity, after_s in spec.levels:
        due = spell.start + after_s
        until = footage_end if spell.end is None else spell.end
        if abs(until - due) < MARGIN_S:
            what = "the footage ends" if spell.end is None else "the condition ends"
            raise ValueError(f"{spec.rule.value} {severity.value} is due at {due:.1f} s, within {MARGIN_S} s "
                             f"of when {what} ({until:.1f} s): make the script decisive")
        if due < until:
            reached.append((severity, after_s))
    return reached


def rule_spec(rule: RuleId, overrides: RuleOverrides, room: str, camera: str) -> AlertSpec | None:
    """The rule's levels in this room: design.md's defaults, overridden; None when disabled."""
    override = overrides.get(rule, {})
    if override.get("enabled", True) is False:
        return None
    defaults = RULE_DEFAULTS[rule]
    if len(defaults.levels) == 1:
        ((severity, after_s),) = defaults.levels
        levels: tuple[tuple[Severity, float], ...] = ((severity, float(override.get("after_s", after_s))),)
    else:
        (warn, warn_s), (alarm, alarm_s) = defaults.levels
        levels = ((warn, float(override.get("warn_after_s", warn_s))),
                  (alarm, float(override.get("alarm_after_s", alarm_s))))
    return AlertSpec(rule, room, camera, levels, float(override.get("clear_s", defaults.clear_s)))


def overstay_spec(overrides: RuleOverrides, room: str, camera: str,
                  record: CustodyRecord | None) -> AlertSpec | None:
    """overstay's levels, counted from the custody clock's start: the room's absolute override,
    else warnings before and the alarm at the limit of the record's legal basis (the shortest
    limit without a record)."""
    override = overrides.get(RuleId.OVERSTAY, {})
    if override.get("enabled", True) is False:
        return None
    if "warn_after_s" in override and "alarm_after_s" in override:
        levels: tuple[tuple[Severity, float], ...] = (
            (Severity.WARNING, float(override["warn_after_s"])),
            (Severity.ALARM, float(override["alarm_after_s"])))
    else:
        if record is None:
            limit = min(CUSTODY_LIMITS_S.values())
        else:
            limit = CUSTODY_LIMITS_S["extended" if record.extended else record.legal_basis]
        levels = (*((Severity.WARNING, limit - before) for before in CUSTODY_WARN_BEFORE_S),
                  (Severity.ALARM, limit))
    return AlertSpec(RuleId.OVERSTAY, room, camera, levels, float(override.get("clear_s", 0.0)))


# ---- a room seen by one camera ------------------------------------------------------------


@dataclass(frozen=True)
class RoomScript:
    """What the truth needs of a scene: its timeline, the room and camera, thresholds and records."""

    timeline: Timeline
    room_id: str
    room_type: RoomType
    camera_id: str
    zones: Mapping[Zone, Polygon]
    rules: RuleOverrides
    custody: tuple[CustodyRecord, ...] | None
    analysis_fps: int


def room_alerts(script: RoomScript) -> list[TruthAlert]:
    """Every alert level a correct analysis of the scene reports, sorted as `analyze` prints them."""
    timeline = script.timeline
    times = analysed_times(timeline, script.analysis_fps)
    footage_end = times[-1]
    in_sight = [timeline.effects.room_in_sight(t) for t in times]
    role_zone = ROLE_ZONES[script.room_type]
    counts = {role: role_counts(_raw_counts(script, role, times, in_sight), times, ENTER_S, EXIT_S)
              for role in role_zone}

    def count(role: Role) -> list[int]:
        return counts.get(role, [0] * len(times))

    detainees, officers, guards = count(Role.DETAINEE), count(Role.OFFICER), count(Role.GUARD)
    conditions: dict[RuleId, list[bool]] = {
        RuleId.SINGLE_OFFICER: [d >= 1 and o == 1 for d, o in zip(detainees, officers, strict=True)],
        RuleId.UNATTENDED_DETAINEE: [d >= 1 and o == 0 for d, o in zip(detainees, officers, strict=True)],
        RuleId.GUARD_ABSENT: [d >= 1 and g == 0 for d, g in zip(detainees, guards, strict=True)],
        RuleId.GUARD_ASLEEP: _guard_asleep(script, times, in_sight, guards),
    }
    alerts: list[TruthAlert] = []
    enabled = ROOM_RULES[script.room_type]
    for rule, holds in conditions.items():
        spec = rule_spec(rule, script.rules, script.room_id, script.camera_id) if rule in enabled else None
        if spec is None:
            continue
        spells = spells_of(holds, times)
        _check_not_during_loss(rule, spells, times, in_sight)
        alerts += alerts_from_spells(spec, spells, footage_end)
    if RuleId.VIDEO_LOSS in enabled:
        spec = rule_spec(RuleId.VIDEO_LOSS, script.rules, script.room_id, script.camera_id)
        if spec is not None:
            alerts += alerts_from_spells(spec, spells_of([not s for s in in_sight], times), footage_end)
    alerts += _custody_alerts(script, times, detainees)
    return sorted(alerts, key=lambda a: (a.start_s, a.rule.value, a.severity.value))


def _raw_counts(script: RoomScript, role: Role, times: Sequence[float],
                in_sight: Sequence[bool]) -> list[int]:
    """People of `role` seen in its zone at each sampled time; held while the room is out of sight."""
    zone = script.zones[ROLE_ZONES[script.room_type][role]]
    actors = [a for a in script.timeline.actors if a.role is role]
    raw: list[int] = []
    for t, sight in zip(times, in_sight, strict=True):
        if sight:
            raw.append(sum(seen_in_zone(script.timeline, a, zone, t) for a in actors))
        else:
            raw.append(raw[-1] if raw else 0)
    return raw


def _guard_asleep(script: RoomScript, times: Sequence[float], in_sight: Sequence[bool],
                  guards: Sequence[int]) -> list[bool]:
    """Guard at the post and every guard seen there motionless (held while out of sight)."""
    if script.room_type is not RoomType.HOLDING:
        return [False] * len(times)
    post = script.zones[Zone.GUARD_POST]
    at_post = [a for a in script.timeline.actors if a.role is Role.GUARD]
    holds: list[bool] = []
    for t, sight, count in zip(times, in_sight, guards, strict=True):
        if not sight:
            holds.append(holds[-1] if holds else False)
            continue
        seen = [a for a in at_post if seen_in_zone(script.timeline, a, post, t)]
        holds.append(count >= 1 and bool(seen) and all(a.activity_at(t) is Activity.STILL for a in seen))
    return holds


def _check_not_during_loss(rule: RuleId, spells: Sequence[Spell], times: Sequence[float],
                           in_sight: Sequence[bool]) -> None:
    """A condition holding while the room is out of sight has its timer suspended: refuse such
    scripts rather than guess how long the suspension lasts as the analysis sees it."""
    for spell in spells:
        for t, sight in zip(times, in_sight, strict=True):
            if not sight and spell.start <= t and (spell.end is None or t < spell.end):
                raise ValueError(f"{rule.value} holds at {t:.1f} s while the room is out of sight")


def _custody_alerts(script: RoomScript, times: Sequence[float], detainees: Sequence[int]) -> list[TruthAlert]:
    enabled = ROOM_RULES[script.room_type]
    footage_end = times[-1]
    records = [r for r in script.custody or () if r.room == script.room_id]
    alerts: list[TruthAlert] = []
    if RuleId.OVERSTAY in enabled:
        # With a record the clock runs from check-in to release; without, from the detainee's
        # continuous presence.
        clocks: list[tuple[CustodyRecord | None, Spell]] = [
            (r, Spell(r.check_in, r.release if r.release is not None and r.release <= footage_end else None))
            for r in records]
        if not records:
            clocks += [(None, s) for s in spells_of([d >= 1 for d in detainees], times)]
        for record, spell in clocks:
            spec = overstay_spec(script.rules, script.room_id, script.camera_id, record)
            if spec is not None:
                alerts += alerts_from_spells(spec, [spell], footage_end)
    if RuleId.UNREGISTERED_DETENTION in enabled:
        spec = rule_spec(RuleId.UNREGISTERED_DETENTION, script.rules, script.room_id, script.camera_id)
        if spec is not None:
            holds = [d > sum(r.open_at(t) for r in records) for t, d in zip(times, detainees, strict=True)]
            alerts += alerts_from_spells(spec, spells_of(holds, times), footage_end)
    return alerts
