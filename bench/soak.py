"""Soak: the whole service with 8 cameras for 30 minutes; its resources must stay flat and its
recording whole.

Run: `.venv/bin/python bench/soak.py [--minutes 30] [--cameras 8] [--json OUT]`. To end a long run
early, send the soak's own process SIGINT or SIGTERM (or Ctrl-C): it still stops the service and
reports.

Material: the same realistic sub-stream as bench/capacity.py (real footage, 640x360, 15 fps,
512 kbit/s), served once per camera by the real RTSP test server; `custodywatch run` on a fresh
data directory (SQLite), recording each stream (remux) and analysing it at 2 fps.

Every `--interval` seconds (60) it samples the service's process tree: resident memory of every
process, open file descriptors and threads, and the service's shared-memory segments in /dev/shm.
At the end (SIGTERM, as an operator would) it prints each figure's slope per hour (least squares
over the samples after the first, which is taken while cameras still connect), and checks the
archive: every camera's segments must cover the run without holes, and every segment file must be
there with the size its index record names. The last line is
`soak: M min, C cameras, rss +X MiB/h, fds +Y/h, shm +Z/h, lost segments N`.

The footage walks people through each room's seat every few seconds, so by default every room
alerts hundreds of times an hour, each alert a clip and a snapshot for the recorder to cut: a worst
case. `--cooldown SECONDS` makes each rule wait that long after an alert before alerting again in
the room, for a rate nearer a real box's. The run reports how many alerts it raised.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
import yaml
from capacity import ZONES, make_stream

from custodywatch.paths import shared_dir
from custodywatch.pipeline.shm import PREFIX as SHM_PREFIX
from custodywatch.recorder.index import INDEX_NAME, GapRecord, SegmentRecord, parse_record
from custodywatch.rtsp_server import RtspLoopServer

SEGMENT_S = 10
READY_TIMEOUT_S = 180
STOP_TIMEOUT_S = 30
HOLE_TOLERANCE_S = 0.5  # holes shorter than this are timestamp rounding between segments


@dataclass(frozen=True)
class Sample:
    at_s: float  # since the first sample
    processes: int
    rss_mib: float
    fds: int
    threads: int
    shm_segments: int
    shm_mib: float
    rss_by_process: dict[str, float]
    # RssAnon / RssFile / RssShmem of each process: heap growth shows in anon, a growing mapped
    # file (the SQLite database) in file, touched frame rings in shmem.
    rss_kinds_by_process: dict[str, dict[str, float]]


@dataclass(frozen=True)
class CameraRecording:
    camera: str
    segments: int
    covered_s: float
    holes: int  # between consecutive segments, not accounted for by a gap record
    hole_s: float
    gaps: int  # gap records the recorder wrote (camera offline, stream error, ...)
    missing_files: int  # segments whose file is absent or not the size recorded


def service_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_kinds(pid: int) -> dict[str, float]:
    kinds: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile", "RssShmem"):
                kinds[key[3:].lower()] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return kinds


def sample(pid: int, started: float) -> Sample:
    rss: dict[str, float] = {}
    kinds: dict[str, dict[str, float]] = {}
    fds = threads = 0
    procs = service_tree(pid)
    for p in procs:
        try:
            with p.oneshot():
                name = p.name()
                rss[f"{name}[{p.pid}]"] = p.memory_info().rss / 2**20
                kinds[f"{name}[{p.pid}]"] = rss_kinds(p.pid)
                fds += p.num_fds()
                threads += p.num_threads()
        except psutil.NoSuchProcess:
            continue
    # The service names its segments cw-<main pid>-...: only this run's are counted.
    shm = [e for e in Path("/dev/shm").iterdir() if e.name.startswith(f"{SHM_PREFIX}-{pid}-")]
    return Sample(round(time.monotonic() - started, 1), len(procs), round(sum(rss.values()), 1), fds, threads,
                  len(shm), round(sum(e.stat().st_size for e in shm if e.exists()) / 2**20, 1),
                  {k: round(v, 1) for k, v in rss.items()}, kinds)


def slope_per_hour(xs_s: list[float], ys: list[float]) -> float:
    """Least-squares slope, per hour."""
    n = len(xs_s)
    if n < 2:
        return 0.0
    mx, my = sum(xs_s) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs_s)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs_s, ys, strict=True)) / sxx * 3600.0


def check_recording(archive: Path, cameras: list[str]) -> list[CameraRecording]:
    segments: dict[str, list[SegmentRecord]] = {c: [] for c in cameras}
    gaps: dict[str, list[GapRecord]] = {c: [] for c in cameras}
    for line in (archive / INDEX_NAME).read_text().splitlines():
        record = parse_record(line)
        if isinstance(record, SegmentRecord):
            segments[record.camera].append(record)
        elif isinstance(record, GapRecord):
            gaps[record.camera].append(record)
    out = []
    for camera in cameras:
        segs = sorted(segments[camera], key=lambda s: s.start)
        holes, hole_s = 0, 0.0
        for before, after in zip(segs, segs[1:], strict=False):
            hole = after.start - before.end
            explained = any(g.start <= before.end + HOLE_TOLERANCE_S
                            and g.end >= after.start - HOLE_TOLERANCE_S for g in gaps[camera])
            if hole > HOLE_TOLERANCE_S and not explained:
                holes += 1
                hole_s += hole
        missing = 0
        for s in segs:
            path = archive / s.path
            if not path.exists() or path.stat().st_size != s.size:
                missing += 1
        covered = sum(s.end - s.start for s in segs)
        out.append(CameraRecording(camera, len(segs), round(covered, 1), holes, round(hole_s, 1),
                                   len(gaps[camera]), missing))
    return out


def count_alerts(data: Path, minutes: float) -> dict[str, float]:
    """How many alerts the run raised: the recorder cuts a clip and a snapshot for each, so the
    rate says how hard the run worked it."""
    with sqlite3.connect(data / "custodywatch.db") as db:
        total = int(db.execute("SELECT count(*) FROM alerts").fetchone()[0])
    return {"total": total, "per_hour": round(total / (minutes / 60.0), 1)}


def write_config(path: Path, urls: dict[str, str], cooldown_s: float | None = None) -> None:
    # The footage walks people through the seat every few seconds, so each room alerts hundreds of
    # times an hour; a cooldown after each alert brings that down to what a real room sees.
    rules = {} if cooldown_s is None else {
        rule: {"cooldown_s": cooldown_s} for rule in ("single_officer", "unattended_detainee")}
    path.write_text(yaml.safe_dump({
        "site": {"id": "soak", "box_id": "box1"},
        "recorder": {"segment_s": SEGMENT_S},
        "rooms": [{"id": f"room-{i}", "type": "interrogation", "rules": rules} for i in range(len(urls))],
        "cameras": [{"id": camera, "room": f"room-{i}", "detect_url": url, "fps": 2, "zones": ZONES}
                    for i, (camera, url) in enumerate(urls.items())],
    }))


def process_slopes(samples: list[Sample]) -> dict[str, dict[str, float]]:
    """Each process's slope per hour, of its whole RSS and of each kind, over the samples given."""
    xs = [s.at_s for s in samples]
    out: dict[str, dict[str, float]] = {}
    for name in samples[-1].rss_by_process:
        if not all(name in s.rss_by_process for s in samples):
            continue  # restarted during the run: its own figures would start from zero
        figures = {"rss": round(slope_per_hour(xs, [s.rss_by_process[name] for s in samples]), 1)}
        for kind in samples[-1].rss_kinds_by_process.get(name, {}):
            figures[kind] = round(slope_per_hour(
                xs, [s.rss_kinds_by_process[name].get(kind, 0.0) for s in samples]), 1)
        out[name] = figures
    return out


def run(minutes: float, cameras: int, interval_s: float, work: Path,
        extra_env: dict[str, str], cooldown_s: float | None = None) -> dict[str, Any]:
    stream = make_stream(work / "camera.mp4")
    names = [f"cam-{i}" for i in range(cameras)]
    data = work / "data"
    env = dict(os.environ, CUSTODYWATCH_DATA=str(data), **extra_env)
    env.setdefault("CUSTODYWATCH_MODEL_DIR", str(shared_dir() / "models"))
    samples: list[Sample] = []
    with RtspLoopServer({name: stream for name in names}) as rtsp:
        config = work / "cameras.yaml"
        write_config(config, {name: rtsp.url(name) for name in names}, cooldown_s)
        log_path = work / "service.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "custodywatch.cli", "run", "--config", str(config),
                                     "--port", "0"], stdout=subprocess.PIPE, stderr=log, text=True, env=env,
                                    start_new_session=True)  # a SIGINT for the soak leaves it to us
            try:
                assert proc.stdout is not None
                deadline = time.monotonic() + READY_TIMEOUT_S
                line = ""
                while not line.startswith("custodywatch ready: "):
                    line = proc.stdout.readline()
                    if (not line and proc.poll() is not None) or time.monotonic() > deadline:
                        raise SystemExit(f"service did not start:\n{log_path.read_text()[-3000:]}")
                started = time.monotonic()
                end = started + minutes * 60.0
                while True:
                    samples.append(sample(proc.pid, started))
                    s = samples[-1]
                    print(f"t={s.at_s / 60:5.1f} min  processes {s.processes}  rss {s.rss_mib:7.1f} MiB  "
                          f"fds {s.fds:4d}  threads {s.threads:4d}  shm {s.shm_segments} ({s.shm_mib} MiB)",
                          flush=True)
                    if proc.poll() is not None:
                        raise SystemExit(f"service exited {proc.returncode}:\n{log_path.read_text()[-3000:]}")
                    if time.monotonic() >= end:
                        break
                    try:
                        time.sleep(min(interval_s, max(0.0, end - time.monotonic())))
                    except KeyboardInterrupt:  # stopped early: still stop the service and measure
                        print(f"stopped early at t={(time.monotonic() - started) / 60:.1f} min", flush=True)
                        break
                stop_at = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(STOP_TIMEOUT_S)
                stop_s = time.monotonic() - stop_at
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    recordings = check_recording(data / "archive", names)
    minutes = samples[-1].at_s / 60.0 if samples else minutes  # less when stopped early
    alerts = count_alerts(data, minutes)
    steady = samples[1:] if len(samples) > 2 else samples
    xs = [s.at_s for s in steady]
    left = [e.name for e in Path("/dev/shm").iterdir() if e.name.startswith(f"{SHM_PREFIX}-{proc.pid}-")]
    return {
        "minutes": minutes, "cameras": cameras, "interval_s": interval_s,
        "exit_code": code, "stop_s": round(stop_s, 1), "shm_left_after_stop": left,
        "slope_per_hour": {
            "rss_mib": round(slope_per_hour(xs, [s.rss_mib for s in steady]), 1),
            "fds": round(slope_per_hour(xs, [float(s.fds) for s in steady]), 1),
            "threads": round(slope_per_hour(xs, [float(s.threads) for s in steady]), 1),
            "shm_segments": round(slope_per_hour(xs, [float(s.shm_segments) for s in steady]), 1),
        },
        "slope_per_hour_by_process": process_slopes(steady),
        "slope_per_hour_by_process_second_half": process_slopes(steady[len(steady) // 2:]),
        "recordings": [asdict(r) for r in recordings],
        "alerts": alerts,
        "lost_segments": sum(r.holes + r.missing_files for r in recordings),
        "samples": [asdict(s) for s in samples],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--json", type=Path, help="write every sample and figure here")
    parser.add_argument("--keep", action="store_true", help="keep the data directory (printed)")
    parser.add_argument("--cooldown", type=float, metavar="SECONDS",
                        help="after an alert ends, its rule waits this long before alerting again in "
                             "the room (default: the service's; the footage alerts every few seconds)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="set in the service's environment, e.g. MALLOC_ARENA_MAX=2 (repeatable)")
    args = parser.parse_args()
    extra_env: dict[str, str] = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"--env {item!r}: expected NAME=VALUE")
        extra_env[name] = value
    # Started in the background SIGINT may come ignored; either signal ends the run early, reported.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    work = Path(tempfile.mkdtemp(prefix="custodywatch-soak-"))
    try:
        result = run(args.minutes, args.cameras, args.interval, work, extra_env, args.cooldown)
    finally:
        if args.keep:
            print(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    first, last = result["samples"][0], result["samples"][-1]
    print(f"first sample: {json.dumps({k: v for k, v in first.items() if k != 'rss_by_process'})}")
    print(f"last sample:  {json.dumps({k: v for k, v in last.items() if k != 'rss_by_process'})}")
    for r in result["recordings"]:
        print(f"recording {r['camera']}: {r['segments']} segments, {r['covered_s']} s, holes {r['holes']} "
              f"({r['hole_s']} s), gap records {r['gaps']}, missing files {r['missing_files']}")
    for label, key in (("whole run", "slope_per_hour_by_process"),
                       ("second half", "slope_per_hour_by_process_second_half")):
        for name, figures in result[key].items():
            shown = ", ".join(f"{k} {v:+} MiB" for k, v in figures.items())
            print(f"slope per hour, {label}, {name}: {shown}")
    print(f"alerts: {result['alerts']['total']} ({result['alerts']['per_hour']:g} an hour)")
    slope = result["slope_per_hour"]
    print(f"stopped in {result['stop_s']} s (exit {result['exit_code']}), "
          f"shm segments left: {len(result['shm_left_after_stop'])}")
    print(f"soak: {result['minutes']:.1f} min, {args.cameras} cameras, rss {slope['rss_mib']:+} MiB/h, "
          f"fds {slope['fds']:+}/h, shm {slope['shm_segments']:+}/h, "
          f"lost segments {result['lost_segments']}")
    return 0 if result["lost_segments"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
