"""Where in `index.jsonl` to start reading for a time range: `index.offsets.jsonl`, a sidecar the
index's writer keeps so that an export or clip of last week need not parse every record since the
archive began.

Each line is a checkpoint `{"offset", "max_end", "prev_hash"}`: every record in the index's first
`offset` bytes ends at or before `max_end`, and the record just before `offset` has hash
`prev_hash`. A reader wanting records that end after `since` starts at the last checkpoint whose
`max_end` is before `since`. This holds whatever order records were appended in (a recovered
segment indexed at restart, a deletion months later) and whatever the box's clock did, since it is
a statement about the records, not about when they were written.

The sidecar is an accelerator, not evidence: `verify` reads the whole index and ignores it. A
checkpoint that does not match the index (a restored or cut index: the offset is past the end, not
at a line start, or the record before it has another hash) is not used: the reader tries the one
before it, and at worst starts at 0.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

OFFSETS_NAME = "index.offsets.jsonl"
CHECKPOINT_BYTES = 1 << 20  # about 2500 records: at most this much is read before the range
TRIES = 8  # checkpoints tried, latest first, before reading from the top


@dataclass(frozen=True)
class Checkpoint:
    offset: int
    max_end: float
    prev_hash: str


def read_checkpoints(archive: Path) -> list[Checkpoint]:
    path = archive / OFFSETS_NAME
    if not path.is_file():
        return []
    out: list[Checkpoint] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            d = json.loads(line)
            out.append(Checkpoint(int(d["offset"]), float(d["max_end"]), str(d["prev_hash"])))
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line from a crash: the checkpoints before it still hold
    return out


def append_checkpoint(archive: Path, checkpoint: Checkpoint) -> None:
    line = json.dumps({"offset": checkpoint.offset, "max_end": checkpoint.max_end,
                       "prev_hash": checkpoint.prev_hash}, separators=(",", ":"))
    with (archive / OFFSETS_NAME).open("a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def _line_before(index: Path, offset: int) -> bytes | None:
    """The index line that ends at `offset` (None when `offset` is not just after a newline)."""
    with index.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        if offset > size:
            return None
        start = max(0, offset - (1 << 16))
        f.seek(start)
        chunk = f.read(offset - start)
    if not chunk.endswith(b"\n"):
        return None
    body = chunk[:-1]
    cut = body.rfind(b"\n")
    if cut == -1 and start > 0:
        return None  # a line longer than any record: not this index's
    return body[cut + 1:]


def start_offset(archive: Path, index: Path, since: float) -> int:
    """Where reading may start to meet every record that ends after `since` (0: from the top)."""
    usable = sorted((c for c in read_checkpoints(archive) if c.max_end < since), key=lambda c: -c.offset)
    for checkpoint in usable[:TRIES]:
        if _matches(index, checkpoint):
            return checkpoint.offset
    return 0


def _matches(index: Path, checkpoint: Checkpoint) -> bool:
    line = _line_before(index, checkpoint.offset)
    if line is None:
        return False
    try:
        return bool(json.loads(line).get("hash") == checkpoint.prev_hash)
    except ValueError:
        return False
