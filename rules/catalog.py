"""Builds a room's rules from the config: each rule's defaults, overridden per room."""
from __future__ import annotations

from collections.abc import Sequence

from custodywatch.config import CustodyConfig, RoomConfig, RuleOverride
from custodywatch.rules.custody import custody_levels, presence_limit_s
from custodywatch.rules.guard_absent import GuardAbsentRule
from custodywatch.rules.guard_asleep import GuardAsleepRule
from custodywatch.rules.overstay import PRESENCE_GAP_S, OverstayRule
from custodywatch.rules.single_officer import SingleOfficerRule
from custodywatch.rules.threshold import Level, ThresholdRule
from custodywatch.rules.unattended_detainee import UnattendedDetaineeRule
from custodywatch.rules.unregistered_detention import UnregisteredDetentionRule
from custodywatch.rules.video_loss import VideoLossRule
from custodywatch.vocabulary import ROOM_RULES, RuleId

DEFAULT_COOLDOWN_S = 30.0

# Rules of the room as a whole; video_loss is one rule per camera, overstay also has a clock per
# custody record (engine.py).
RULES: dict[RuleId, type[ThresholdRule]] = {
    cls.rule_id: cls for cls in (SingleOfficerRule, UnattendedDetaineeRule, GuardAbsentRule, GuardAsleepRule,
                                 UnregisteredDetentionRule)
}


def _levels(cls: type[ThresholdRule], o: RuleOverride) -> list[Level]:
    defaults = cls.default_levels
    if len(defaults) == 1:
        (level,) = defaults
        return [Level(level.severity, o.after_s if o.after_s is not None else level.after_s)]
    warn, alarm = defaults
    warn_s = o.warn_after_s if o.warn_after_s is not None else warn.after_s
    # A warning override past the default alarm moves the alarm after it.
    alarm_s = o.alarm_after_s if o.alarm_after_s is not None else max(alarm.after_s, warn_s + 1)
    return [Level(warn.severity, warn_s), Level(alarm.severity, alarm_s)]


def override_of(room: RoomConfig, rule: RuleId) -> RuleOverride:
    return room.rules.get(rule, RuleOverride())


def enabled(room: RoomConfig, rule: RuleId) -> bool:
    return rule in ROOM_RULES[room.type] and override_of(room, rule).enabled


def build_rules(room: RoomConfig, cameras: Sequence[str] = (),
                custody: CustodyConfig | None = None) -> list[ThresholdRule]:
    """The enabled rules of a room, configured for it: room-wide ones, then video_loss per camera."""
    custody = custody if custody is not None else CustodyConfig()
    rules: list[ThresholdRule] = []
    for rule_id in ROOM_RULES[room.type]:
        o = override_of(room, rule_id)
        if not o.enabled:
            continue
        cooldown = o.cooldown_s if o.cooldown_s is not None else DEFAULT_COOLDOWN_S
        if rule_id is RuleId.OVERSTAY:
            levels = custody_levels(presence_limit_s(custody), custody, o)
            clear = o.clear_s if o.clear_s is not None else PRESENCE_GAP_S
            rules.append(OverstayRule(levels, clear_s=clear, cooldown_s=cooldown, gap_s=clear))
            continue
        if rule_id is RuleId.VIDEO_LOSS:
            for camera in cameras:
                (level,) = VideoLossRule.default_levels
                after = o.after_s if o.after_s is not None else level.after_s
                rules.append(VideoLossRule([Level(level.severity, after)],
                                           clear_s=o.clear_s if o.clear_s is not None else 0.0,
                                           cooldown_s=cooldown, camera=camera))
            continue
        cls = RULES[rule_id]
        rules.append(cls(_levels(cls, o),
                         clear_s=o.clear_s if o.clear_s is not None else cls.default_clear_s,
                         cooldown_s=cooldown))
    return rules
