"""Changing one camera's zones in the config file, as the zone editor saves them.

The edit is a text edit of that camera's `zones:` value, so every other line of the file (comments,
order, layout) stays as the installer wrote it; only the zones block is rewritten (`name: [[x, y],
...]`, one zone a line), and comments inside that block are lost. The edited text is validated by
the same `parse_config` as the file at start, and checked to differ from the old file in those
zones only, so a text edit that went wrong can never reach the disk.

Saving replaces the file atomically and keeps the previous one beside it as
`<name>.<UTC time>.bak`.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from custodywatch.config import Config, ConfigError, ConfigProblem, parse_config

PLAIN_KEY = re.compile(r"[a-z][a-z0-9_]*")
ZonePolygons = Mapping[str, Sequence[Sequence[float]]]


class ZoneEditError(Exception):
    """The zones cannot be put into this file; `problems` say where and why."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigFileInvalid(ZoneEditError):
    """The file is not valid as it is (edited by hand since): it must be fixed before zones go in."""


@dataclass(frozen=True)
class ZoneEdit:
    text: str  # the whole new file
    config: Config  # what it validates to


def _number(value: float) -> str:
    text = f"{float(value):.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _key(name: str) -> str:
    # A name from a request goes into YAML text: anything but a plain word is quoted (a JSON string
    # is a YAML double-quoted scalar), so it can only ever be a key, which validation then judges.
    return name if PLAIN_KEY.fullmatch(name) else json.dumps(name)


def zones_flow(zones: ZonePolygons) -> str:
    """`{zone: [[x, y], ...], ...}`: one line, valid in any block or flow context."""
    parts = []
    for name, points in zones.items():
        coords = ", ".join(f"[{', '.join(_number(v) for v in point)}]" for point in points)
        parts.append(f"{_key(name)}: [{coords}]")
    return "{" + ", ".join(parts) + "}"


def _content_end(node: yaml.Node) -> int:
    """Where a node's own text ends: a block collection's end mark lies at the next key, past the
    line break and indentation that belong to what follows."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return int(node.end_mark.index)


def _camera_node(root: yaml.Node | None, camera: str, filename: str) -> yaml.MappingNode:
    cameras = None
    if isinstance(root, yaml.MappingNode):
        cameras = next((v for k, v in root.value if k.value == "cameras"), None)
    if isinstance(cameras, yaml.SequenceNode):
        for item in cameras.value:
            if isinstance(item, yaml.MappingNode) and any(
                    k.value == "id" and isinstance(v, yaml.ScalarNode) and v.value == camera
                    for k, v in item.value):
                return item
    raise ZoneEditError([ConfigProblem(filename, 1, "cameras", f"no camera {camera!r} in the file")])


def replace_zones_text(text: str, camera: str, zones: ZonePolygons, filename: str = "<config>") -> str:
    """The file's text with `camera`'s zones set to `zones`; nothing else changed."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    node = _camera_node(root, camera, filename)
    flow = zones_flow(zones)
    current = next((v for k, v in node.value if k.value == "zones"), None)
    if current is not None:
        start, end = int(current.start_mark.index), _content_end(current)
        if start == end:  # `zones:` with no value (null)
            flow = " " + flow
        elif isinstance(current, yaml.MappingNode) and not current.flow_style and zones:
            # A block stays a block: one zone a line, at the zones' own indentation.
            indent = "\n" + " " * int(current.start_mark.column)
            flow = indent.join(zones_flow({name: points})[1:-1] for name, points in zones.items())
        return text[:start] + flow + text[end:]
    last_value = node.value[-1][1]
    end = _content_end(last_value)
    if node.flow_style:
        return text[:end] + ", zones: " + flow + text[end:]
    # A new key after the camera's last line (after its trailing comment), at the keys' indentation.
    line_end = text.find("\n", end - 1 if end > 0 else 0)
    line_end = len(text) if line_end < 0 else line_end
    indent = " " * int(node.value[0][0].start_mark.column)
    return text[:line_end] + f"\n{indent}zones: {flow}" + text[line_end:]


def _expected(old: Config, camera: str, new: Config) -> Config:
    cameras = [c.model_copy(update={"zones": new.camera(camera).zones}) if c.id == camera else c
               for c in old.cameras]
    return old.model_copy(update={"cameras": cameras})


def edit_zones(text: str, camera: str, zones: ZonePolygons, filename: str = "<config>") -> ZoneEdit:
    """Validate `zones` for `camera` the way the config is validated, in the file they would go to.

    Raises ZoneEditError when the current file is not valid itself, the camera is unknown, or the
    new zones break a rule of the config (each problem with its key path, naming the zone)."""
    try:
        old = parse_config(text, filename)
    except ConfigError as exc:
        raise ConfigFileInvalid(exc.problems) from None
    if camera not in {c.id for c in old.cameras}:
        raise ZoneEditError([ConfigProblem(filename, 1, "cameras", f"no camera {camera!r} in the config")])
    new_text = replace_zones_text(text, camera, zones, filename)
    try:
        new = parse_config(new_text, filename)
    except ConfigError as exc:
        raise ZoneEditError(exc.problems) from None
    if new != _expected(old, camera, new):
        # The text edit touched more than the zones: refuse rather than write a surprise.
        raise ZoneEditError([ConfigProblem(filename, 1, f"cameras.{camera}.zones",
                                           "the file's layout could not be edited safely; edit it by hand")])
    return ZoneEdit(new_text, new)


def backup_name(path: Path, now: float) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    candidate = path.with_name(f"{path.name}.{stamp}.bak")
    n = 1
    while candidate.exists():  # two saves within a second keep both old versions
        n += 1
        candidate = path.with_name(f"{path.name}.{stamp}-{n}.bak")
    return candidate


def write_config_file(path: Path, text: str, now: float | None = None) -> Path:
    """Replace the file with `text` atomically, the old one kept as a backup; returns the backup."""
    backup = backup_name(path, time.time() if now is None else now)
    shutil.copy2(path, backup)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return backup
