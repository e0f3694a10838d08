"""Takes the box's health figures: disk and write rate of the archive, CPU, memory, clock offset.

Every figure is measured, never invented: the clock offset comes from chrony when `chronyc` is
installed, else only whether systemd-timesyncd says the clock is synchronised (`timedatectl`), else
it is unknown. The write rate is the archive's growth read from its own index (segment records as
the recorder closes them), so it costs a read of the index's new lines, not a walk of the archive.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import psutil

from custodywatch.box_health import BoxSample, ClockStatus
from custodywatch.recorder.index import INDEX_NAME

RATE_WINDOW_S = 3600.0
BUCKETS_PER_WINDOW = 60
TAIL_BYTES = 8 << 20  # at start, the index's last 8 MB: far more than an hour of any box's segments
COMMAND_TIMEOUT_S = 3.0

_CHRONY_OFFSET = re.compile(r"^System time\s*:\s*([0-9.eE+-]+) seconds (fast|slow) of NTP time", re.M)
_CHRONY_LEAP = re.compile(r"^Leap status\s*:\s*(.+)$", re.M)

Runner = Callable[[list[str]], str | None]


def parse_chrony_tracking(text: str) -> ClockStatus:
    """`chronyc tracking`'s report: "System time : 0.000012 seconds fast of NTP time" (fast: the box
    is ahead) and "Leap status : Normal" ("Not synchronised" when it has no source)."""
    offset = _CHRONY_OFFSET.search(text)
    leap = _CHRONY_LEAP.search(text)
    if offset is None and leap is None:
        return ClockStatus()
    value = None
    if offset is not None:
        value = float(offset.group(1)) * (1 if offset.group(2) == "fast" else -1)
    synchronized = None if leap is None else leap.group(1).strip() != "Not synchronised"
    return ClockStatus("chrony", value, synchronized)


def parse_timedatectl_show(text: str) -> ClockStatus:
    """`timedatectl show`'s `NTPSynchronized=yes|no`: synchronised or not, with no offset figure."""
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "NTPSynchronized":
            return ClockStatus("timedatectl", None, value.strip() == "yes")
    return ClockStatus()


def run_command(argv: list[str]) -> str | None:
    """Its stdout, or None when it is not installed, fails or hangs."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def read_clock(run: Runner = run_command) -> ClockStatus:
    chrony = run(["chronyc", "tracking"])
    if chrony is not None:
        status = parse_chrony_tracking(chrony)
        if status.source is not None:
            return status
    timedatectl = run(["timedatectl", "show"])
    if timedatectl is not None:
        return parse_timedatectl_show(timedatectl)
    return ClockStatus()


class ArchiveGrowth:
    """The archive's write rate over the last `window_s`, from the segments its index records."""

    def __init__(self, archive: Path, window_s: float = RATE_WINDOW_S):
        self.index = archive / INDEX_NAME
        self.window_s = window_s
        self._offset: int | None = None
        # Bytes by when their segment ended, in buckets of a 60th of the window: a box's memory for
        # the rate stays the same whatever its camera count (one entry per segment grew by 2640
        # entries an hour at 8 cameras, 0.5 MiB, before the window filled).
        self._bucket_s = window_s / BUCKETS_PER_WINDOW
        self._buckets: dict[int, list[float]] = {}  # bucket -> [bytes, earliest start]

    def _read_new(self) -> bool:
        try:
            size = self.index.stat().st_size
        except FileNotFoundError:
            return False
        if self._offset is None or size < self._offset:  # first read, or a new index in its place
            self._buckets.clear()
            self._offset = max(0, size - TAIL_BYTES)
            skip_partial = self._offset > 0
        else:
            skip_partial = False
        with self.index.open("rb") as f:
            f.seek(self._offset)
            data = f.read(size - self._offset)
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        lines = data[:end].split(b"\n")
        if skip_partial and lines:
            lines = lines[1:]
        self._offset += end
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # verify reports a damaged index; the rate skips the line
            if isinstance(record, dict) and record.get("type") == "segment":
                self._add(float(record["start"]), float(record["end"]), int(record["size"]))
        return True

    def _add(self, start: float, end: float, size: int) -> None:
        # Bucket k holds the segments ending in ((k - 1) * width, k * width].
        bucket = self._buckets.setdefault(math.ceil(end / self._bucket_s), [0.0, start])
        bucket[0] += size
        bucket[1] = min(bucket[1], start)

    def bytes_per_s(self, now: float) -> float | None:
        """None while the archive has no index; 0 when nothing was recorded in the window."""
        if not self._read_new():
            return None
        since = now - self.window_s
        for key in [k for k in self._buckets if k * self._bucket_s <= since]:
            del self._buckets[key]
        if not self._buckets:
            return 0.0
        first = max(since, min(start for _, start in self._buckets.values()))
        span = max(now - first, 1.0)
        return sum(size for size, _ in self._buckets.values()) / span


def _existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


class BoxSampler:
    def __init__(self, archive: Path, clock: Callable[[], ClockStatus] = read_clock,
                 camera_drift: Callable[[], Mapping[str, float | None]] | None = None):
        self.archive = archive
        self._growth = ArchiveGrowth(archive)
        self._clock = clock
        self._camera_drift = camera_drift
        psutil.cpu_percent(None)  # the first call only starts the measurement

    def sample(self, now: float) -> BoxSample:
        disk = shutil.disk_usage(_existing(self.archive))
        return BoxSample(
            at=now, disk_free_bytes=disk.free, disk_total_bytes=disk.total,
            write_bytes_per_s=self._growth.bytes_per_s(now),
            cpu_percent=float(psutil.cpu_percent(None)),
            memory_percent=float(psutil.virtual_memory().percent),
            clock=self._clock(), camera_drift_s=dict(self._camera_drift()) if self._camera_drift else {})
