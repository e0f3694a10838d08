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
    SecretStr,
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
# A rule's threshold: "held for 0 s" would alarm on the first frame of any flicker.
Threshold = Annotated[float, Field(gt=0, le=7 * 86400)]


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


def _central_database(url: str) -> str:
    if not url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise ValueError(f"{redact_url(url)!r}: the central database must be PostgreSQL "
                         "(postgresql://user:password@host:port/database)")
    return url


class CentralLinkConfig(StrictModel):
    """Store-and-forward to a central PostgreSQL that many boxes report into (docs/deployment.md)."""

    # The forwarder's own account on the central database (insert/update on the tables it fills).
    database_url: Annotated[str, AfterValidator(_central_database)]
    interval_s: float = Field(1.0, gt=0, le=60)
    batch: int = Field(500, ge=1, le=10000)
    retry_max_s: float = Field(5.0, ge=0.1, le=300)
    connect_timeout_s: int = Field(5, ge=1, le=60)
    health_interval_s: float = Field(30.0, ge=1, le=3600)
    keep_forwarded_days: float = Field(7, gt=0, le=3650)


class ApiConfig(StrictModel):
    host: str = Field("127.0.0.1", min_length=1)
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


def _existing_file(value: str) -> str:
    # Checked when the config is, so a missing certificate fails check-config, not the first connect.
    if not Path(value).is_file():
        raise ValueError(f"file not found: {value}")
    return value


ExistingFile = Annotated[str, AfterValidator(_existing_file)]


class MqttTlsConfig(StrictModel):
    # PEM files. Without ca_file the system's trusted CAs verify the broker.
    ca_file: ExistingFile | None = None
    cert_file: ExistingFile | None = None
    key_file: ExistingFile | None = None  # may be left out when cert_file holds the key too

    @model_validator(mode="after")
    def _key_needs_cert(self) -> MqttTlsConfig:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file (the client certificate it belongs to)")
        return self


def _topic_prefix(value: str) -> str:
    if not value or value.startswith("/") or value.endswith("/") or any(c in value for c in "+#\0"):
        raise ValueError(f"{value!r} is not a usable topic prefix (no leading or trailing '/', "
                         "no wildcards '+' or '#')")
    return value


class MqttConfig(StrictModel):
    """Alerts and camera health for a centre's existing alarm systems; no section: MQTT off."""

    host: str = Field(min_length=1)
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: MqttTlsConfig | None = None  # present (even empty): connect with TLS
    topic_prefix: Annotated[str, AfterValidator(_topic_prefix)] = "custodywatch"
    client_id: str | None = Field(None, min_length=1, max_length=128)  # default custodywatch-<site>-<box>
    qos: Literal[0, 1, 2] = 1
    keepalive_s: int = Field(30, ge=5, le=3600)
    # Messages held while the broker is unreachable; beyond it new ones are dropped and counted.
    queue_max: int = Field(10000, ge=1, le=1_000_000)


class RuleOverride(StrictModel):
    enabled: bool = True
    after_s: Threshold | None = None
    clear_s: Seconds | None = None
    warn_after_s: Threshold | None = None
    alarm_after_s: Threshold | None = None
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


def _crosses(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Whether segments p1-p2 and q1-q2 cross at a point inside both (touching ends do not count)."""
    def side(a: Point, b: Point, c: Point) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = side(q1, q2, p1), side(q1, q2, p2)
    d3, d4 = side(p1, p2, q1), side(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def _polygon_is_simple(points: list[Point]) -> list[Point]:
    # A figure-eight zone has an area, but whether a person stands "in" it depends on the
    # point-in-polygon rule used: almost always two points swapped by mistake.
    edges = list(zip(points, points[1:] + points[:1], strict=True))
    n = len(edges)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # neighbours through the closing edge
            if _crosses(*edges[i], *edges[j]):
                raise ValueError(f"polygon edges {i + 1} and {j + 1} cross each other "
                                 "(points out of order?)")
    return points


Polygon = Annotated[list[Point], Field(min_length=3, max_length=64), AfterValidator(_polygon_has_area),
                    AfterValidator(_polygon_is_simple)]

# What a camera URL may start with; anything else is a typo (`rstp://`) that would only show up
# later as a camera that never connects. No scheme at all: a video file path.
URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "srt", "udp", "file")


def _check_url(value: str) -> str:
    if "://" in value:
        scheme = value.split("://", 1)[0].lower()
        if scheme not in URL_SCHEMES:
            # Only the scheme is quoted: the rest may hold credentials.
            raise ValueError(f"unknown URL scheme {scheme!r} (use {', '.join(URL_SCHEMES)}, "
                             "or a video file path)")
    return value


CameraUrl = Annotated[str, Field(min_length=1), AfterValidator(_check_url)]


class CameraConfig(StrictModel):
    id: Id
    room: Id
    name: str | None = None
    detect_url: CameraUrl
    record_url: CameraUrl | None = None
    fps: float = Field(2.0, gt=0, le=30)
    zones: dict[Zone, Polygon] = Field(default_factory=dict)


class ReaderConfig(StrictModel):
    """How the readers treat a camera's analysis stream."""

    open_timeout_s: float = Field(10.0, gt=0, le=300)
    # A stream that delivers nothing for this long (a stalled server keeps its socket open) is
    # marked disconnected and reconnected.
    read_timeout_s: float = Field(5.0, gt=0, le=300)


ComponentKind = Literal["detector", "reader", "analytics", "recorder"]


def _default_liveness() -> dict[ComponentKind, float]:
    # Detector and reader loops turn several times a second; the analytics loop waits on the store,
    # which may stall for a while without anything being wrong; the recorder stamps from a thread of
    # its own (its housekeeping may take long while its camera threads record).
    return {"detector": 10.0, "reader": 10.0, "analytics": 60.0, "recorder": 15.0}


class SupervisorConfig(StrictModel):
    """The watchdog of the service's processes."""

    # A component may be restarted `restart_budget` times within any `restart_window_s`; one more
    # failure and it is marked down (the rest keeps running) until the service restarts.
    restart_budget: int = Field(5, ge=0, le=1000)
    restart_window_s: float = Field(600.0, ge=1, le=30 * 86400)
    # A process silent (no heartbeat from its main loop) for longer than its kind's limit is hung:
    # it is killed and restarted.
    liveness_s: dict[ComponentKind, Annotated[float, Field(ge=1, le=3600)]] = Field(
        default_factory=_default_liveness)
    # Time to the first heartbeat after a start (model loading, store migration, segment recovery).
    start_grace_s: float = Field(60.0, ge=1, le=3600)

    @field_validator("liveness_s", mode="after")
    @classmethod
    def _keep_unnamed_defaults(cls, value: dict[ComponentKind, float]) -> dict[ComponentKind, float]:
        # Setting one kind's limit must not leave the other kinds unwatched.
        return {**_default_liveness(), **value}


class HealthConfig(StrictModel):
    """The box's own health (custodywatch/box_health.py): a figure past its threshold for
    `breach_after_s` raises a health warning or alarm on /healthz and the live feed."""

    min_disk_free_gb: float = Field(20.0, ge=0)  # on the archive's file system
    min_days_left: float = Field(7.0, ge=0)  # of archive at the current write rate
    max_cpu_percent: float = Field(90.0, gt=0, le=100)
    max_memory_percent: float = Field(90.0, gt=0, le=100)
    max_clock_offset_s: float = Field(1.0, gt=0)  # from the time source (chrony/NTP)
    max_camera_drift_s: float = Field(2.0, gt=0)  # a camera's stream clock against the box's
    sample_every_s: float = Field(10.0, ge=1, le=3600)
    breach_after_s: float = Field(60.0, ge=0, le=86400)  # a spike shorter than this is no breach


class Config(StrictModel):
    site: SiteConfig = Field(default_factory=SiteConfig)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    custody: CustodyConfig = Field(default_factory=CustodyConfig)
    recorder: RecorderConfig = Field(default_factory=RecorderConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    reader: ReaderConfig = Field(default_factory=ReaderConfig)
    supervisor: SupervisorConfig = Field(default_factory=SupervisorConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    mqtt: MqttConfig | None = None
    central: CentralLinkConfig | None = None
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


def check_mqtt_status_topics(cfg: Config) -> Iterator[ConfigIssue]:
    # <prefix>/<site>/<camera>/status and <prefix>/<site>/<box>/status share one level.
    if cfg.mqtt is None:
        return
    for i, cam in enumerate(cfg.cameras):
        if cam.id == cfg.site.box_id:
            yield ConfigIssue(("cameras", i, "id"), f"camera id {cam.id!r} is the box id (site.box_id): "
                                                    "their MQTT status topics would be the same")


CROSS_CHECKS = (
    check_unique_ids,
    check_camera_rooms,
    check_zone_names,
    check_room_zones_present,
    check_rule_overrides,
    check_recorder_ids,
    check_mqtt_status_topics,
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
        # A short list ([x] for a point [x, y]) shows up as a missing item, not a missing key.
        if err["loc"] and isinstance(err["loc"][-1], int):
            return f"too few values: item {err['loc'][-1] + 1} is missing"
        return "required key is missing"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def read_yaml(text: str, filename: str) -> tuple[Any, _LineMap]:
    """The YAML's data and the line of each key path in it; ConfigError when it is not YAML."""
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
    return data, lines


def validation_error(exc: ValidationError, filename: str, lines: _LineMap) -> ConfigError:
    """pydantic's errors as problems at the lines of the keys they name."""
    problems = []
    for err in exc.errors():
        loc = _clean_loc(err["loc"])
        problems.append(ConfigProblem(filename, lines.line(loc), _format_loc(loc), _pydantic_message(err)))
    return ConfigError(problems)


def parse_config(text: str, filename: str = "<config>") -> Config:
    """Validate YAML text; raise ConfigError listing every problem with its line."""
    data, lines = read_yaml(text, filename)
    if lines.duplicates:
        raise ConfigError([ConfigProblem(filename, ln, _format_loc(loc), "duplicate key")
                           for loc, ln in lines.duplicates])
    if data is None:
        raise ConfigError([ConfigProblem(filename, 1, "(top)", "the file is empty (no sections)")])
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(filename, 1, "(top)", "the config must be a mapping of sections")])
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, filename, lines) from None
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
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ConfigError([ConfigProblem(str(path), line, "(file)",
                                         f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} cannot be "
                                         "decoded (save the file as UTF-8)")]) from None
    except OSError as exc:
        reason = "is a directory, not a file" if path.is_dir() else f"cannot read: {exc.strerror or exc}"
        raise ConfigError([ConfigProblem(str(path), 0, "(file)", reason)]) from None
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

