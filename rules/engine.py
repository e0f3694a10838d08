"""The rule engine: what cameras and custody records say in, alert events out, per room.

Fed role and stillness changes (CameraAnalyzer), each frame's view sample (video loss) and the
custody records; stepped with the time by `advance`. Its whole state can be taken out and put
back (`state`, `load_state`) so a restarted service changes no alert time and no custody clock.
"""
from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from custodywatch.config import Config, RoomConfig
from custodywatch.rules.catalog import build_rules, enabled, override_of
from custodywatch.rules.changes import CustodyChange, RoomChange, change_from_dict, change_to_dict
from custodywatch.rules.custody import CustodyRecord, custody_levels, limit_s
from custodywatch.rules.events import AlertEvent
from custodywatch.rules.maintenance import MaintenanceSchedule, MaintenanceWindow
from custodywatch.rules.overstay import CustodyClock
from custodywatch.rules.room import RoomObservation, RoomTimeline
from custodywatch.rules.sight import SightMonitor
from custodywatch.rules.threshold import Level, RuleSignal, ThresholdRule, ThresholdState
from custodywatch.rules.view import ViewSample
from custodywatch.vocabulary import ROLE_ZONES, Role, RuleId


def settle_horizon(enter_s: float, exit_s: float, min_fps: float) -> float:
    """How late a change can reach the engine: hysteresis plus two frame intervals."""
    return max(enter_s, exit_s) + 2.0 / min_fps


@dataclass(frozen=True)
class RoomCounts:
    """A room's role counts from `at` on (settled): the room timeline the UI draws."""

    room: str
    at: float
    counts: dict[Role, int]


@dataclass
class _RoomRules:
    config: RoomConfig
    camera: str  # the camera alerts of this room are filed under
    timeline: RoomTimeline
    rules: list[ThresholdRule]
    clocks: dict[str, CustodyClock] = field(default_factory=dict)
    open_ids: dict[str, str] = field(default_factory=dict)
    clock: float = -math.inf  # how far the rules have been stepped
    counts: dict[Role, int] = field(default_factory=dict)

    @property
    def room(self) -> str:
        return self.config.id


def _key(rule: RuleId, subject: str) -> str:
    return f"{rule.value}/{subject}"


class RuleEngine:
    """Steps every room's rules on its settled timeline and names the alerts they raise."""

    def __init__(self, cfg: Config, cameras: Iterable[str] | None = None,
                 new_id: Callable[[], str] | None = None):
        """`new_id` names new alerts; by default the name follows from the site, box, room, rule,
        subject and condition start, so a restart that replays an event names the same alert."""
        wanted = set(cameras) if cameras is not None else {c.id for c in cfg.cameras}
        self._cfg = cfg
        self._new_id = new_id
        self._rooms: dict[str, _RoomRules] = {}
        self._camera_room: dict[str, str] = {}
        self._sight: dict[str, SightMonitor] = {}
        self._room_counts: list[RoomCounts] = []
        self._maintenance = MaintenanceSchedule()
        for room in cfg.rooms:
            cams = [c for c in cfg.cameras_in(room.id) if c.id in wanted]
            if not cams:
                continue
            horizon = settle_horizon(cfg.roles.enter_s, cfg.roles.exit_s, min(c.fps for c in cams))
            timeline = RoomTimeline([c.id for c in cams], ROLE_ZONES[room.type], horizon,
                                    maintained=self._maintenance.maintained)
            rules = build_rules(room, [c.id for c in cams], cfg.custody)
            self._rooms[room.id] = _RoomRules(room, cams[0].id, timeline, rules, counts=timeline.counts())
            for c in cams:
                self._camera_room[c.id] = room.id
                self._sight[c.id] = SightMonitor(c.id, c.fps)

    # ---- input -----------------------------------------------------------------------------------

    def observe(self, changes: Iterable[RoomChange]) -> None:
        """Role and stillness changes from the cameras (observed times; they may come late)."""
        for change in changes:
            room = (change.room if isinstance(change, CustodyChange)
                    else self._camera_room.get(change.camera))
            if room is not None and room in self._rooms:
                self._rooms[room].timeline.add([change])

    def observe_view(self, camera: str, t: float, sample: ViewSample | None) -> None:
        """One analysed frame of `camera` at `t`, with its view sample when it was measured."""
        monitor = self._sight.get(camera)
        if monitor is not None:
            self.observe(monitor.observe(t, sample))

    def expect_frames(self, now: float) -> None:
        """Every camera is due to send frames from `now` on (the live service, at start): one that
        sends none is lost `video_loss` style, not merely unknown."""
        for monitor in self._sight.values():
            monitor.expect_frames(now)

    def sight_lost(self, camera: str) -> bool:
        """Whether the camera's video is lost now (its role counts must not be trusted)."""
        monitor = self._sight.get(camera)
        return monitor is not None and monitor.lost

    def set_custody(self, records: Iterable[CustodyRecord]) -> None:
        """The custody records known now (all of them, each person's latest); new and changed ones apply."""
        for record in records:
            rr = self._rooms.get(record.room)
            if rr is None or not enabled(rr.config, RuleId.OVERSTAY) and not enabled(
                    rr.config, RuleId.UNREGISTERED_DETENTION):
                continue
            clock = rr.clocks.get(record.person)
            if clock is None:
                clock = CustodyClock(record, self._custody_levels(rr, record))
                rr.clocks[record.person] = clock
                rr.timeline.add([CustodyChange(rr.room, +1, record.check_in)])
                if record.release is not None:
                    rr.timeline.add([CustodyChange(rr.room, -1, record.release)])
            elif clock.record != record:
                old = clock.record
                if old.release is None and record.release is not None:
                    rr.timeline.add([CustodyChange(rr.room, -1, record.release)])
                clock.update(record, self._custody_levels(rr, record))

    def set_maintenance(self, windows: Iterable[MaintenanceWindow]) -> None:
        """The maintenance windows known now (new and changed ones apply; video_loss is evaluated
        again at each of their boundaries)."""
        self.observe(self._maintenance.update(windows))

    def _custody_levels(self, rr: _RoomRules, record: CustodyRecord) -> list[Level]:
        return custody_levels(limit_s(record, self._cfg.custody), self._cfg.custody,
                              override_of(rr.config, RuleId.OVERSTAY))

    # ---- stepping --------------------------------------------------------------------------------

    def advance(self, now: float) -> list[AlertEvent]:
        """Run every room's rules up to the settled part of `now`."""
        for monitor in self._sight.values():
            self.observe(monitor.silence(now))
        events: list[AlertEvent] = []
        for rr in self._rooms.values():
            for obs in rr.timeline.settle(now):
                events += self._step(rr, obs.at, obs)
            events += self._step(rr, now - rr.timeline.horizon_s, None)
            events += self._step_clocks(rr, now)
        return events

    def finish(self, end: float) -> list[AlertEvent]:
        """At the end of a finite input: apply everything and advance to `end`."""
        events: list[AlertEvent] = []
        for rr in self._rooms.values():
            for obs in rr.timeline.flush():
                events += self._step(rr, obs.at, obs)
            events += self._step(rr, end, None)
            events += self._step_clocks(rr, end)
        return events

    def room_counts(self) -> list[RoomCounts]:
        """The settled role-count changes since the last call (for the store's room timeline)."""
        out, self._room_counts = self._room_counts, []
        return out

    def _step(self, rr: _RoomRules, t: float, obs: RoomObservation | None) -> list[AlertEvent]:
        t = max(t, rr.clock)  # a change known too late (a custody record entered afterwards) applies now
        rr.clock = t
        if obs is not None:
            obs = RoomObservation(t, obs.counts, obs.guard_still, obs.lost, obs.registered,
                                  rr.timeline.maintained_at(t))
            counts = dict(obs.counts)
            if counts != rr.counts:
                rr.counts = counts
                self._room_counts.append(RoomCounts(rr.room, t, counts))
        out: list[AlertEvent] = []
        for rule in rr.rules:
            camera = getattr(rule, "camera", "") or rr.camera
            out += [self._event(rr, rule.rule_id, camera, s) for s in rule.step(t, obs)]
        return out

    def _step_clocks(self, rr: _RoomRules, t: float) -> list[AlertEvent]:
        if not enabled(rr.config, RuleId.OVERSTAY):
            return []
        return [self._event(rr, RuleId.OVERSTAY, rr.camera, s)
                for clock in rr.clocks.values() for s in clock.step(t)]

    def _event(self, rr: _RoomRules, rule: RuleId, camera: str, s: RuleSignal) -> AlertEvent:
        key = _key(rule, s.subject)
        if s.kind == "fired":
            rr.open_ids[key] = self._new_id() if self._new_id is not None else self._alert_id(rr, key, s)
        alert_id = rr.open_ids[key]
        if s.kind == "ended":
            del rr.open_ids[key]
        return AlertEvent(kind=s.kind, alert_id=alert_id, rule=rule, room=rr.room, camera=camera,
                          severity=s.severity, condition_started_at=s.condition_started_at, at=s.at,
                          detail=s.detail)

    def _alert_id(self, rr: _RoomRules, key: str, s: RuleSignal) -> str:
        site = self._cfg.site
        name = f"{site.id}/{site.box_id}/{rr.room}/{key}/{s.condition_started_at!r}"
        return uuid.uuid5(uuid.NAMESPACE_URL, name).hex

    # ---- persistence -----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything needed to go on after a restart, as JSON-ready data, but the cameras'
        reference views (`references`)."""
        return {
            "rooms": {rr.room: {
                "clock": None if rr.clock == -math.inf else rr.clock,
                "timeline": rr.timeline.state(),
                "pending": [change_to_dict(c) for c in rr.timeline.pending()],
                "rules": {_key(r.rule_id, r.subject): r.s.to_dict() for r in rr.rules},
                "clocks": {p: c.state() for p, c in rr.clocks.items()},
                "open_ids": dict(rr.open_ids),
            } for rr in self._rooms.values()},
            "cameras": {name: m.state() for name, m in self._sight.items()},
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Put back what `state` took out (rooms and cameras no longer configured are skipped)."""
        for room, d in state.get("rooms", {}).items():
            rr = self._rooms.get(room)
            if rr is None:
                continue
            rr.clock = -math.inf if d["clock"] is None else float(d["clock"])
            rr.timeline.load_state(d["timeline"])
            rr.timeline.add([change_from_dict(c) for c in d["pending"]])
            rr.counts = rr.timeline.counts()
            saved_rules = d["rules"]
            for rule in rr.rules:
                saved = saved_rules.get(_key(rule.rule_id, rule.subject))
                if saved is not None:
                    rule.s = ThresholdState.from_dict(saved)
            for person, c in d["clocks"].items():
                record = CustodyRecord.from_dict(c["record"])
                clock = CustodyClock(record, self._custody_levels(rr, record))
                clock.load_state(c)
                rr.clocks[person] = clock
            rr.open_ids = dict(d["open_ids"])
        for name, d in state.get("cameras", {}).items():
            monitor = self._sight.get(name)
            if monitor is not None:
                monitor.load_state(d)

    def references(self) -> dict[str, Any]:
        """Each camera's reference view (video_loss), as JSON-ready data: a few kB per camera."""
        return {name: m.reference_state() for name, m in self._sight.items()}

    def load_references(self, references: Mapping[str, Any]) -> None:
        for name, d in references.items():
            monitor = self._sight.get(name)
            if monitor is not None:
                monitor.load_reference(d)

