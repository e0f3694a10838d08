"""The sampler measures this machine: disk of the archive, its write rate from the index, CPU,
memory, and the clock status only as far as a time source answers."""
from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import psutil

from custodywatch.box_sampler import (
    ArchiveGrowth,
    BoxSampler,
    parse_chrony_tracking,
    parse_timedatectl_show,
    read_clock,
    run_command,
)
from custodywatch.recorder.index import ArchiveIndex, SegmentRecord

# `chronyc tracking` on a synchronised box and on one without a source (chrony's own wording).
CHRONY_SYNCED = """Reference ID    : C0A80001 (ntp.local)
Stratum         : 3
Ref time (UTC)  : Thu Nov 26 10:20:01 2026
System time     : 0.000231450 seconds slow of NTP time
Last offset     : -0.000120318 seconds
RMS offset      : 0.000305881 seconds
Frequency       : 11.482 ppm fast
Leap status     : Normal
"""
CHRONY_NO_SOURCE = """Reference ID    : 00000000 ()
Stratum         : 0
System time     : 0.000000000 seconds fast of NTP time
Leap status     : Not synchronised
"""


def write_segments(archive: Path, camera: str, start: float, count: int, seconds: float, size: int) -> None:
    index = ArchiveIndex(archive)
    for i in range(count):
        path = archive / camera / f"{i:05d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = bytes(size)
        path.write_bytes(data)
        index.append(SegmentRecord(camera=camera, start=start + i * seconds, end=start + (i + 1) * seconds,
                                   path=str(path.relative_to(archive)), size=size,
                                   sha256=hashlib.sha256(data).hexdigest(), streams=["h264"], packets=1))


def test_the_write_rate_follows_the_segments_the_index_records(tmp_path: Path) -> None:
    growth = ArchiveGrowth(tmp_path, window_s=600)
    assert growth.bytes_per_s(1000.0) is None  # no archive index yet: unknown, not zero
    write_segments(tmp_path, "cam-1", start=0.0, count=10, seconds=60.0, size=6000)  # 100 B/s, 0..600 s
    assert growth.bytes_per_s(600.0) == 100.0
    write_segments(tmp_path, "cam-2", start=600.0, count=5, seconds=60.0, size=12_000)  # +200 B/s, 600..900 s
    # window 300..900 s: cam-1's last 5 segments (300..600) and cam-2's five
    assert growth.bytes_per_s(900.0) == (5 * 6000 + 5 * 12_000) / 600
    assert growth.bytes_per_s(5000.0) == 0.0  # recording stopped: nothing in the window


def test_the_sampler_returns_this_machines_real_figures(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    write_segments(archive, "cam-1", start=time.time() - 120, count=2, seconds=60.0, size=60_000)
    sampler = BoxSampler(archive, camera_drift=lambda: {"cam-1": 0.25})
    psutil.cpu_percent(None)
    sample = sampler.sample(time.time())
    disk = shutil.disk_usage(archive)
    assert abs(sample.disk_free_bytes - disk.free) < 64 * 2**20 and sample.disk_total_bytes == disk.total
    assert sample.write_bytes_per_s is not None and 900 <= sample.write_bytes_per_s <= 1000
    assert 0 <= sample.cpu_percent <= 100
    assert abs(sample.memory_percent - psutil.virtual_memory().percent) < 5
    assert sample.camera_drift_s == {"cam-1": 0.25}
    assert sample.days_left is not None and sample.days_left > 0
    # What this machine's time source says, if it has one that answers; unknown otherwise.
    if run_command(["chronyc", "tracking"]) is None and run_command(["timedatectl", "show"]) is None:
        assert sample.clock.source is None and sample.clock.offset_s is None
    else:
        assert sample.clock.source in ("chrony", "timedatectl")


def test_the_clock_status_is_read_from_what_answers_and_never_invented() -> None:
    synced = parse_chrony_tracking(CHRONY_SYNCED)
    assert (synced.source, synced.offset_s, synced.synchronized) == ("chrony", -0.00023145, True)
    assert parse_chrony_tracking(CHRONY_NO_SOURCE).synchronized is False
    assert parse_timedatectl_show("Timezone=UTC\nNTP=yes\nNTPSynchronized=no\n").synchronized is False
    answers = {"chronyc": None, "timedatectl": "NTPSynchronized=yes\n"}
    status = read_clock(lambda argv: answers[argv[0]])
    assert (status.source, status.offset_s, status.synchronized) == ("timedatectl", None, True)
    nothing = read_clock(lambda argv: None)
    assert (nothing.source, nothing.offset_s, nothing.synchronized) == (None, None, None)


def test_the_write_rate_stays_right_over_hours_of_interleaved_cameras(tmp_path: Path) -> None:
    """Eight cameras' 11 s segments for three hours, read as they land: the last hour's rate each time,
    within the window's bucket width."""
    growth = ArchiveGrowth(tmp_path, window_s=3600)
    index = ArchiveIndex(tmp_path)
    ends: list[tuple[float, int]] = []
    for i in range(3 * 3600 // 11):
        for cam in range(8):
            start, size = i * 11.0 + cam * 0.7, 100_000 + 1000 * cam + (i % 7) * 500
            index.append(SegmentRecord(camera=f"cam-{cam}", start=start, end=start + 11.0,
                                       path=f"cam-{cam}/{i}.mp4",
                                       size=size, sha256="0" * 64, streams=["h264"], packets=1))
            ends.append((start + 11.0, size))
        now = i * 11.0 + 11.0 + 5.6
        rate = growth.bytes_per_s(now)
        if now > 3600 + 60:
            expected = sum(size for end, size in ends if end > now - 3600) / 3600
            assert rate is not None and abs(rate - expected) <= 0.02 * expected, (now, rate, expected)
