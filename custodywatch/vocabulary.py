"""The fixed words of the product: room types, zones, roles, rule ids, severities.

These ids appear in config, CLI output, the API and metrics, so they live in one place.
"""
from __future__ import annotations

import re
from enum import StrEnum

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class RoomType(StrEnum):
    INTERROGATION = "interrogation"
    HOLDING = "holding"
    CORRIDOR = "corridor"


class Zone(StrEnum):
    DETAINEE_SEAT = "detainee_seat"
    OFFICER_AREA = "officer_area"
    DETAINEE_AREA = "detainee_area"
    GUARD_POST = "guard_post"


class Role(StrEnum):
    DETAINEE = "detainee"
    OFFICER = "officer"
    GUARD = "guard"


class RuleId(StrEnum):
    SINGLE_OFFICER = "single_officer"
    UNATTENDED_DETAINEE = "unattended_detainee"
    GUARD_ABSENT = "guard_absent"
    GUARD_ASLEEP = "guard_asleep"
    OVERSTAY = "overstay"
    UNREGISTERED_DETENTION = "unregistered_detention"
    VIDEO_LOSS = "video_loss"


class Severity(StrEnum):
    WARNING = "warning"
    ALARM = "alarm"


# Which zone a person's anchor must be in to hold a role, per room type.
ROLE_ZONES: dict[RoomType, dict[Role, Zone]] = {
    RoomType.INTERROGATION: {Role.DETAINEE: Zone.DETAINEE_SEAT, Role.OFFICER: Zone.OFFICER_AREA},
    RoomType.HOLDING: {Role.DETAINEE: Zone.DETAINEE_AREA, Role.GUARD: Zone.GUARD_POST},
    RoomType.CORRIDOR: {},
}

ROOM_ZONES: dict[RoomType, frozenset[Zone]] = {
    rt: frozenset(zones.values()) for rt, zones in ROLE_ZONES.items()
}

ROOM_RULES: dict[RoomType, tuple[RuleId, ...]] = {
    RoomType.INTERROGATION: (
        RuleId.SINGLE_OFFICER,
        RuleId.UNATTENDED_DETAINEE,
        RuleId.OVERSTAY,
        RuleId.UNREGISTERED_DETENTION,
        RuleId.VIDEO_LOSS,
    ),
    RoomType.HOLDING: (
        RuleId.GUARD_ABSENT,
        RuleId.GUARD_ASLEEP,
        RuleId.OVERSTAY,
        RuleId.UNREGISTERED_DETENTION,
        RuleId.VIDEO_LOSS,
    ),
    RoomType.CORRIDOR: (RuleId.VIDEO_LOSS,),
}

# Rules with a warning level before the alarm.
TWO_LEVEL_RULES: frozenset[RuleId] = frozenset(
    {RuleId.GUARD_ABSENT, RuleId.GUARD_ASLEEP, RuleId.OVERSTAY}
)
