"""The rule engine: role changes from cameras in, alert events out, per room."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from custodywatch.config import Config
from custodywatch.rules.catalog import build_rules
from custodywatch.rules.events import AlertEvent
from custodywatch.rules.roles import RoleChange
from custodywatch.rules.room import RoomObservation, RoomTimeline
from custodywatch.rules.threshold import RuleSignal, ThresholdRule
from custodywatch.vocabulary import ROLE_ZONES


def settle_horizon(enter_s: float, exit_s: float, min_fps: float) -> float:
    """How late a role change can reach the engine: hysteresis plus two frame intervals."""
    return max(enter_s, exit_s) + 2.0 / min_fps


@dataclass
class _RoomRules:
    room: str
    camera: str  # the camera alerts of this room are filed under
    timeline: RoomTimeline
    rules: list[ThresholdRule]
    open_ids: dict[str, str]


class RuleEngine:
    """Steps every room's rules on its settled timeline and names the alerts they raise."""

    def __init__(self, cfg: Config, cameras: Iterable[str] | None = None,
                 new_id: Callable[[], str] = lambda: uuid.uuid4().hex):
        wanted = set(cameras) if cameras is not None else {c.id for c in cfg.cameras}
        self._new_id = new_id
        self._rooms: dict[str, _RoomRules] = {}
        self._camera_room: dict[str, str] = {}
        for room in cfg.rooms:
            cams = [c for c in cfg.cameras_in(room.id) if c.id in wanted]
            if not cams:
                continue
            horizon = settle_horizon(cfg.roles.enter_s, cfg.roles.exit_s, min(c.fps for c in cams))
            timeline = RoomTimeline([c.id for c in cams], ROLE_ZONES[room.type], horizon)
            self._rooms[room.id] = _RoomRules(room.id, cams[0].id, timeline, build_rules(room), {})
            for c in cams:
                self._camera_room[c.id] = room.id

    def observe(self, changes: Iterable[RoleChange]) -> None:
        for change in changes:
            room = self._camera_room.get(change.camera)
            if room is not None:
                self._rooms[room].timeline.add([change])

    def advance(self, now: float) -> list[AlertEvent]:
        """Run every room's rules up to the settled part of `now`."""
        events: list[AlertEvent] = []
        for rr in self._rooms.values():
            for obs in rr.timeline.settle(now):
                events += self._step(rr, obs.at, obs)
            events += self._step(rr, now - rr.timeline.horizon_s, None)
        return events

    def finish(self, end: float) -> list[AlertEvent]:
        """At the end of a finite input: apply everything and advance to `end`."""
        events: list[AlertEvent] = []
        for rr in self._rooms.values():
            for obs in rr.timeline.flush():
                events += self._step(rr, obs.at, obs)
            events += self._step(rr, end, None)
        return events

    def _step(self, rr: _RoomRules, t: float, obs: RoomObservation | None) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        for rule in rr.rules:
            out += [self._event(rr, rule, s) for s in rule.step(t, obs)]
        return out

    def _event(self, rr: _RoomRules, rule: ThresholdRule, s: RuleSignal) -> AlertEvent:
        key = rule.rule_id.value
        if s.kind == "fired":
            rr.open_ids[key] = self._new_id()
        alert_id = rr.open_ids[key]
        if s.kind == "ended":
            del rr.open_ids[key]
        return AlertEvent(kind=s.kind, alert_id=alert_id, rule=rule.rule_id, room=rr.room, camera=rr.camera,
                          severity=s.severity, condition_started_at=s.condition_started_at, at=s.at)
