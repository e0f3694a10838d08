"""The one validated configuration schema (`cameras.yaml`) and its loader.

Structural rules live on the pydantic models; checks that span sections (a camera naming a room,
zones valid for the room type, per-rule overrides) are the named functions below. Every problem
is reported with the YAML line it comes from, as `FILE:LINE: key.path: message`.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from custodywatch.vocabulary import (
    ID_PATTERN,
    ROLE_ZONES,
    ROOM_RULES,
    ROOM_ZONES,
    TWO_LEVEL_RULES,
    RoomType,
    RuleId,
    Zone,
)

Loc = tuple[str | int, ...]


def _check_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a valid id (lowercase letters, digits, '-' and '_', at most 32, "
            "starting with a letter or digit)"
        )
    return value


Id = Annotated[str, AfterValidator(_check_id)]
Seconds = Annotated[float, Field(ge=0, le=7 * 86400)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteConfig(StrictModel):
    id: Id = "site"
    box_id: Id = "box1"
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
            ) from None
        return value


Provider = Literal["tensorrt", "cuda", "cpu"]


def _default_providers() -> list[Provider]:
    return ["tensorrt", "cuda", "cpu"]


def _multiple_of_32(value: int) -> int:
    if value % 32:
        raise ValueError(f"{value} is not a multiple of 32")
    return value


InputSide = Annotated[int, Field(ge=64, le=2048), AfterValidator(_multiple_of_32)]


class DetectorConfig(StrictModel):
    model: str = "yolox_nano_coco_dynamic.onnx"
    # Where model files live on this box; CUSTODYWATCH_MODEL_DIR overrides it.
    model_dir: str | None = None
    # "auto" recognises the family from the ONNX outputs.
    family: Literal["auto", "yolox", "ultralytics", "ultralytics_pose"] = "auto"
    # A width alone: the height follows each camera's aspect (416 -> 416x224 for 16:9), a
    # multiple of 32. [width, height] fixes both.
    input: InputSide | tuple[InputSide, InputSide] = 416
    providers: list[Provider] = Field(default_factory=_default_providers, min_length=1)
    score_threshold: float = Field(0.3, gt=0, lt=1)
    nms_iou: float = Field(0.45, gt=0, lt=1)
    pose_model: str | None = None
    threads: int = Field(1, ge=1, le=64)
    batch_max: int = Field(16, ge=1, le=256)
    batch_window_ms: float = Field(5.0, ge=0, le=1000)
    stale_s: float = Field(0.5, gt=0, le=60)
    # Detector processes; each runs one session. Two single-threaded workers use two cores with
    # less CPU per frame than one two-threaded session (bench/capacity.py).
    workers: int = Field(2, ge=1, le=16)


class RolesConfig(StrictModel):
    enter_s: float = Field(1.5, ge=0, le=600)
    exit_s: float = Field(5.0, ge=0, le=600)


class CustodyConfig(StrictModel):
    limits_s: dict[str, Annotated[int, Field(gt=0)]] = Field(
        default_factory=lambda: {
            "questioning": 28800,
            "summons": 43200,
            "compelled_appearance": 43200,
            "extended": 86400,
        }
    )
    warn_before_s: list[Annotated[int, Field(gt=0)]] = Field(default_factory=lambda: [7200, 3600, 1800])


class RecorderConfig(StrictModel):
    segment_s: int = Field(60, ge=2, le=3600)
    retention_days: int = Field(180, ge=1, le=36500)
    # Per room / per camera retention (days); a camera's own value wins over its room's.
    retention_days_by_room: dict[Id, Annotated[int, Field(ge=1, le=36500)]] = Field(default_factory=dict)
    retention_days_by_camera: dict[Id, Annotated[int, Field(ge=1, le=36500)]] = Field(default_factory=dict)
    # Disk quota of the archive; None: age only. Protected footage is never deleted to meet it.
    quota_gb: float | None = Field(None, gt=0)
    pre_roll_s: float = Field(10, ge=0, le=600)
    post_roll_s: float = Field(10, ge=0, le=600)
    final_clip_max_s: float = Field(600, ge=10, le=7200)
    sign_interval_s: float = Field(60, ge=1, le=3600)
    retention_interval_s: float = Field(300, ge=1, le=86400)
    archive_dir: str | None = None


class StoreConfig(StrictModel):
    database_url: str | None = None


class ApiConfig(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # An alert still unacknowledged this long is announced again (and again, at this interval),
    # and escalated to the users named in escalate_to; null: never.
    renotify_after_s: float | None = Field(300, ge=10, le=86400)
    escalate_to: list[str] = Field(default_factory=list, max_length=64)
    # HTTPS: PEM certificate and key files (`custodywatch tls-cert` makes a self-signed pair).
    tls_cert: str | None = None
    tls_key: str | None = None

    @model_validator(mode="after")
    def _tls_pair(self) -> ApiConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        return self


class RuleOverride(StrictModel):
    enabled: bool = True
    after_s: Seconds | None = None
    clear_s: Seconds | None = None
    warn_after_s: Seconds | None = None
    alarm_after_s: Seconds | None = None
    cooldown_s: Seconds | None = None


class RoomConfig(StrictModel):
    id: Id
    type: RoomType
    name: str | None = None
    rules: dict[RuleId, RuleOverride] = Field(default_factory=dict)


Point = tuple[Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]]


def _polygon_has_area(points: list[Point]) -> list[Point]:
    area = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        area += x1 * y2 - x2 * y1
    if abs(area) / 2 < 1e-6:
        raise ValueError("polygon has no area (points are repeated or in a line)")
    return points


Polygon = Annotated[list[Point], Field(min_length=3, max_length=64), AfterValidator(_polygon_has_area)]


class CameraConfig(StrictModel):
    id: Id
    room: Id
    name: str | None = None
    detect_url: str = Field(min_length=1)
    record_url: str | None = None
    fps: float = Field(2.0, gt=0, le=30)
    zones: dict[Zone, Polygon] = Field(default_factory=dict)


class Config(StrictModel):
    site: SiteConfig = Field(default_factory=SiteConfig)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    custody: CustodyConfig = Field(default_factory=CustodyConfig)
    recorder: RecorderConfig = Field(default_factory=RecorderConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    rooms: list[RoomConfig] = Field(min_length=1)
    cameras: list[CameraConfig] = Field(min_length=1)

    def room(self, room_id: str) -> RoomConfig:
        return next(r for r in self.rooms if r.id == room_id)

    def camera(self, camera_id: str) -> CameraConfig:
        return next(c for c in self.cameras if c.id == camera_id)

    def cameras_in(self, room_id: str) -> list[CameraConfig]:
        return [c for c in self.cameras if c.room == room_id]


# ---- cross-section checks --------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigIssue:
    loc: Loc
    message: str


def check_unique_ids(cfg: Config) -> Iterator[ConfigIssue]:
    sections: tuple[tuple[str, Sequence[RoomConfig | CameraConfig]], ...] = (
        ("rooms", cfg.rooms), ("cameras", cfg.cameras))
    for section, items in sections:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.id in seen:
                yield ConfigIssue(
                    (section, i, "id"), f"duplicate id {item.id!r} (also {section}[{seen[item.id]}])"
                )
            seen.setdefault(item.id, i)


def check_camera_rooms(cfg: Config) -> Iterator[ConfigIssue]:
    rooms = {r.id for r in cfg.rooms}
    for i, cam in enumerate(cfg.cameras):
        if cam.room not in rooms:
            known = ", ".join(sorted(rooms))
            yield ConfigIssue(("cameras", i, "room"), f"room {cam.room!r} is not defined (rooms: {known})")


def check_zone_names(cfg: Config) -> Iterator[ConfigIssue]:
    types = {r.id: r.type for r in cfg.rooms}
    for i, cam in enumerate(cfg.cameras):
        room_type = types.get(cam.room)
        if room_type is None:
            continue
        allowed = ROOM_ZONES[room_type]
        for zone in cam.zones:
            if zone not in allowed:
                names = ", ".join(sorted(allowed)) or "none"
                yield ConfigIssue(
                    ("cameras", i, "zones", zone.value),
                    f"zone {zone.value!r} is not valid in a {room_type.value} room (valid: {names})",
                )


def check_room_zones_present(cfg: Config) -> Iterator[ConfigIssue]:
    for i, room in enumerate(cfg.rooms):
        cams = cfg.cameras_in(room.id)
        if not cams:
            yield ConfigIssue(("rooms", i, "id"), f"room {room.id!r} has no camera")
            continue
        zones = {z for c in cams for z in c.zones}
        for zone in ROLE_ZONES[room.type].values():
            if zone not in zones:
                yield ConfigIssue(
                    ("rooms", i, "id"),
                    f"{room.type.value} room {room.id!r} needs zone {zone.value!r} on one of its cameras",
                )


def check_rule_overrides(cfg: Config) -> Iterator[ConfigIssue]:
    for i, room in enumerate(cfg.rooms):
        for rule, override in room.rules.items():
            loc: Loc = ("rooms", i, "rules", rule.value)
            if rule not in ROOM_RULES[room.type]:
                valid = ", ".join(ROOM_RULES[room.type])
                yield ConfigIssue(loc, f"rule {rule.value!r} does not apply to a {room.type.value} room "
                                       f"(rules: {valid})")
                continue
            two_level = rule in TWO_LEVEL_RULES
            if two_level and override.after_s is not None:
                yield ConfigIssue(loc + ("after_s",),
                                  f"{rule.value} has two levels: use warn_after_s and alarm_after_s")
            if not two_level:
                for key in ("warn_after_s", "alarm_after_s"):
                    if getattr(override, key) is not None:
                        yield ConfigIssue(loc + (key,), f"{rule.value} has one level: use after_s")
            warn, alarm = override.warn_after_s, override.alarm_after_s
            if warn is not None and alarm is not None and warn >= alarm:
                yield ConfigIssue(loc + ("warn_after_s",),
                                  f"warn_after_s ({warn:g}) must be less than alarm_after_s ({alarm:g})")


def check_recorder_ids(cfg: Config) -> Iterator[ConfigIssue]:
    known = {"retention_days_by_room": {r.id for r in cfg.rooms},
             "retention_days_by_camera": {c.id for c in cfg.cameras}}
    for key, ids in known.items():
        for name in getattr(cfg.recorder, key):
            if name not in ids:
                kind = "room" if key.endswith("room") else "camera"
                yield ConfigIssue(("recorder", key, name), f"{kind} {name!r} is not defined")


CROSS_CHECKS = (
    check_unique_ids,
    check_camera_rooms,
    check_zone_names,
    check_room_zones_present,
    check_rule_overrides,
    check_recorder_ids,
)


# ---- loading with line numbers -----------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class ConfigError(Exception):
    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


class _LineMap:
    """Maps a key path to the YAML line that defines it (1-based)."""

    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}
        self.duplicates: list[tuple[Loc, int]] = []

    def walk(self, node: yaml.Node, loc: Loc = ()) -> None:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = loc + (key,)
                if key in seen:
                    self.duplicates.append((child, key_node.start_mark.line + 1))
                seen.add(key)
                self.lines[child] = key_node.start_mark.line + 1
                self.walk(value_node, child)
                self.lines[child] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, loc + (i,))

    def line(self, loc: Loc) -> int:
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.lines:
                return self.lines[loc[:n]]
        return 1


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    # pydantic adds validator tags ("function-after[...]") and tuple indexes to locations.
    return tuple(p for p in loc if not (isinstance(p, str) and "[" in p))


def _pydantic_message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def parse_config(text: str, filename: str = "<config>") -> Config:
    """Validate YAML text; raise ConfigError listing every problem with its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(filename, line, "(yaml)", f"not valid YAML: {problem}")]) from None
    lines = _LineMap()
    if node is not None:
        lines.walk(node)
    if lines.duplicates:
        raise ConfigError([ConfigProblem(filename, ln, _format_loc(loc), "duplicate key")
                           for loc, ln in lines.duplicates])
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(filename, 1, "(top)", "the config must be a mapping of sections")])
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _clean_loc(err["loc"])
            problems.append(
                ConfigProblem(filename, lines.line(loc), _format_loc(loc), _pydantic_message(err))
            )
        raise ConfigError(problems) from None
    issues = [issue for check in CROSS_CHECKS for issue in check(cfg)]
    if issues:
        raise ConfigError([ConfigProblem(filename, lines.line(i.loc), _format_loc(i.loc), i.message)
                           for i in issues])
    return cfg


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), 0, "(file)", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(str(path), 0, "(file)", f"cannot read: {exc}")]) from None
    return parse_config(text, str(path))


def redact_url(url: str) -> str:
    """Hide credentials in a camera URL before it reaches a log, an error or the UI."""
    if "://" not in url or "@" not in url.split("://", 1)[1].split("/", 1)[0]:
        return url
    scheme, rest = url.split("://", 1)
    host = rest.split("@", 1)[1] if "@" in rest.split("/", 1)[0] else rest
    return f"{scheme}://***@{host}"


def _input_text(size: int | tuple[int, int]) -> str:
    if isinstance(size, int):
        return f"{size} wide (height to each camera's aspect)"
    return f"{size[0]}x{size[1]}"


def summary(cfg: Config) -> str:
    n_zones = sum(len(c.zones) for c in cfg.cameras)
    return (f"site {cfg.site.id}/{cfg.site.box_id}: {len(cfg.rooms)} rooms, {len(cfg.cameras)} cameras, "
            f"{n_zones} zones, detector {cfg.detector.model} "
            f"at {_input_text(cfg.detector.input)}")

