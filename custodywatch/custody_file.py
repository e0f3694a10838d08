"""Custody records from a YAML or CSV file, for `analyze --custody`.

Columns (CSV header) or keys (YAML, a list of mappings or `records:` holding one):
`person, room, legal_basis, extended, check_in, release`. `extended` and `release` may be left
out. Times are seconds from the video's first frame (negative: before it) or ISO-8601 date-times,
which need `--start-time` (the wall-clock time of the first frame); a time without a zone is in
the site's time zone. Every problem is reported as `FILE:LINE: key: message`.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from custodywatch.config import Config, ConfigError, ConfigProblem
from custodywatch.rules.custody import CustodyRecord, legal_bases

FIELDS = ("person", "room", "legal_basis", "extended", "check_in", "release")
REQUIRED = ("person", "room", "legal_basis", "check_in")
TRUE_WORDS = {"true", "yes", "1", "y"}
FALSE_WORDS = {"false", "no", "0", "n", ""}
TEXT_FIELDS = ("person", "room", "legal_basis")
# Custody lasts a day at most: a time further than this from the video is a typo, not a record.
MAX_OFFSET_S = 366 * 86400.0


# A custody file's problems read like a config's: FILE:LINE: key: message.
CustodyFileProblem = ConfigProblem


class CustodyFileError(ConfigError):
    """A custody file that cannot be used; one ConfigProblem per thing wrong."""


def parse_time(text: str, zone: tzinfo) -> datetime:
    """An ISO-8601 date-time; one without a zone is in `zone`."""
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=zone)


@dataclass
class _Row:
    line: int
    values: dict[str, Any]
    lines: dict[str, int]


class _Reader:
    def __init__(self, path: Path, cfg: Config, start: datetime | None):
        self.path = path
        self.cfg = cfg
        self.zone = ZoneInfo(cfg.site.timezone)
        self.start = None if start is None else (start if start.tzinfo else start.replace(tzinfo=self.zone))
        self.problems: list[CustodyFileProblem] = []

    def fail(self, line: int, key: str, message: str) -> None:
        self.problems.append(CustodyFileProblem(str(self.path), line, key, message))

    def seconds(self, row: _Row, key: str) -> float | None:
        """The time of `key` in seconds from the video's first frame; None (and a problem noted
        unless the key is empty) when it is not one."""
        value = self._seconds(row, key)
        if value is None or (math.isfinite(value) and abs(value) <= MAX_OFFSET_S):
            return value
        what = ("not a finite number" if not math.isfinite(value)
                else "more than a year from the video's start")
        self.fail(row.lines.get(key, row.line), key, f"{row.values.get(key)!r} is {what}")
        return None

    def _seconds(self, row: _Row, key: str) -> float | None:
        value = row.values.get(key)
        line = row.lines.get(key, row.line)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool):
            self.fail(line, key, f"{value!r} is not a time")
            return None
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, datetime):
            value = value.isoformat()
        text = str(value).strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            when = parse_time(text, self.zone)
        except ValueError:
            self.fail(line, key, f"{text!r} is neither seconds nor an ISO-8601 date-time")
            return None
        if self.start is None:
            self.fail(line, key,
                      f"{text!r} is a date-time: give --start-time, the time of the video's first frame")
            return None
        return (when - self.start).total_seconds()

    def flag(self, row: _Row, key: str) -> bool:
        value = row.values.get(key)
        if value is None or isinstance(value, bool):
            return bool(value)
        word = str(value).strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        self.fail(row.lines.get(key, row.line), key, f"{value!r} is not true or false")
        return False

    def record(self, row: _Row) -> CustodyRecord | None:
        before = len(self.problems)
        for key in row.values:
            if key not in FIELDS:
                self.fail(row.lines.get(key, row.line), key, f"unknown key (keys: {', '.join(FIELDS)})")
        for key in REQUIRED:
            value = row.values.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                self.fail(row.line, key, "required key is missing")
        for key in TEXT_FIELDS:
            if isinstance(row.values.get(key), list | dict):
                self.fail(row.lines.get(key, row.line), key, "must be a single value, not a list or mapping")
                row.values[key] = None
        person = str(row.values.get("person") or "").strip()
        room = str(row.values.get("room") or "").strip()
        basis = str(row.values.get("legal_basis") or "").strip()
        rooms = [r.id for r in self.cfg.rooms]
        if room and room not in rooms:
            self.fail(row.lines.get("room", row.line), "room", f"room {room!r} is not in the config "
                                                               f"(rooms: {', '.join(rooms)})")
        bases = legal_bases(self.cfg.custody)
        if basis and basis not in bases:
            self.fail(row.lines.get("legal_basis", row.line), "legal_basis",
                      f"unknown legal basis {basis!r} (custody.limits_s has: {', '.join(bases)})")
        extended = self.flag(row, "extended")
        check_in = self.seconds(row, "check_in")
        release = self.seconds(row, "release")
        if check_in is not None and release is not None and release < check_in:
            self.fail(row.lines.get("release", row.line), "release", "release is before check_in")
        if len(self.problems) > before or check_in is None:
            return None
        return CustodyRecord(person, room, basis, extended, check_in, release)

    def rows_from_yaml(self, text: str) -> list[_Row]:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            # One line per problem: the loader's own text spans several, with a caret drawing.
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.fail(mark.line + 1 if mark is not None else 1, "(yaml)", f"not valid YAML: {problem}")
            return []
        if isinstance(data, dict) and set(data) == {"records"} and isinstance(node, yaml.MappingNode):
            data = data["records"]
            node = node.value[0][1]
        if data is None:
            return []
        if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
            self.fail(1, "(top)", "expected a list of custody records (or `records:` holding one)")
            return []
        rows = []
        for item, item_node in zip(data, node.value, strict=True):
            line = item_node.start_mark.line + 1
            if not isinstance(item, dict) or not isinstance(item_node, yaml.MappingNode):
                self.fail(line, "(record)", "a custody record must be a mapping of keys")
                continue
            lines: dict[str, int] = {}
            for key_node, _ in item_node.value:
                key = str(key_node.value)
                if key in lines:  # YAML keeps the last silently: which time was meant?
                    self.fail(key_node.start_mark.line + 1, key, f"duplicate key (also line {lines[key]})")
                lines[key] = key_node.start_mark.line + 1
            rows.append(_Row(line, {str(k): v for k, v in item.items()}, lines))
        return rows

    def rows_from_csv(self, text: str) -> list[_Row]:
        reader = csv.DictReader(text.splitlines())
        if reader.fieldnames is None:
            return []
        header = [h.strip() for h in reader.fieldnames]
        for key in header:
            if key not in FIELDS:
                self.fail(1, key, f"unknown column (columns: {', '.join(FIELDS)})")
        rows = []
        for i, raw in enumerate(reader, start=2):
            values = {k.strip(): v for k, v in raw.items() if k is not None and k.strip() in FIELDS}
            if None in raw:
                self.fail(i, "(row)", "more values than columns")
            if all(v is None or not str(v).strip() for v in values.values()):
                continue
            rows.append(_Row(i, values, {}))
        return rows


def load_custody(path: str | Path, cfg: Config, start_time: datetime | None = None) -> list[CustodyRecord]:
    """The file's records, times in seconds from the video's first frame; CustodyFileError if bad."""
    path = Path(path)
    try:
        # utf-8-sig: spreadsheet programs start a CSV export with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CustodyFileError([CustodyFileProblem(str(path), 0, "(file)", "file not found")]) from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        message = (f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} cannot be decoded "
                   "(save the file as UTF-8)")
        raise CustodyFileError([CustodyFileProblem(str(path), line, "(file)", message)]) from None
    except OSError as exc:
        raise CustodyFileError([CustodyFileProblem(str(path), 0, "(file)", f"cannot read: {exc}")]) from None
    reader = _Reader(path, cfg, start_time)
    rows = reader.rows_from_csv(text) if path.suffix.lower() == ".csv" else reader.rows_from_yaml(text)
    records = [r for r in (reader.record(row) for row in rows) if r is not None]
    seen: dict[str, int] = {}
    for row in rows:
        person = str(row.values.get("person") or "").strip()
        if person and person in seen:
            reader.fail(row.lines.get("person", row.line), "person",
                        f"{person!r} has two records (also line {seen[person]})")
        seen.setdefault(person, row.line)
    if reader.problems:
        raise CustodyFileError(reader.problems)
    return records
