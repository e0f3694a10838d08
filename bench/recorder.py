"""Recorder cost and completeness: CPU per recorded stream, and no gap, no lost packet.

Run with no arguments: `.venv/bin/python bench/recorder.py` records 4 live RTSP streams of about
2 Mbit/s (H.264 + AAC, from the project's A/V loop server) for 60 s, all in one process, one
thread per camera (what RecorderService does), and prints:
- CPU per stream in % of one core (process CPU time, all threads, over the recording time);
- packets received vs packets written, and a recount of the packets in the segment files;
- gaps in the index (there must be none).
`--mode processes` records each stream in its own process instead, to compare the grouping.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import av

from custodywatch.paths import project_root
from custodywatch.recorder.camera import CameraRecorder, CameraStats
from custodywatch.recorder.index import ArchiveIndex, GapRecord, SegmentRecord
from custodywatch.recorder.testmedia import MediaSpec, write_media
from custodywatch.rtsp_server import RtspLoopServer

TOOL = project_root() / "scripts" / "rtsp_av_loop_server.py"


@dataclass(frozen=True)
class Outcome:
    cpu_s: float
    stats: list[CameraStats]


def record(cameras: list[tuple[str, str]], archive: Path, seconds: float, segment_s: float) -> Outcome:
    """Record the cameras in this process, one thread each; CPU time of the recording only."""
    import threading

    index = ArchiveIndex(archive)
    recorders = [CameraRecorder(cam, url, index, segment_s=segment_s) for cam, url in cameras]
    until = time.time() + seconds
    cpu = time.process_time()
    threads = [threading.Thread(target=r.run, kwargs={"until": until}) for r in recorders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Outcome(time.process_time() - cpu, [r.stats for r in recorders])


def _record_one(args: tuple[str, str, str, float, float]) -> Outcome:
    cam, url, archive, seconds, segment_s = args
    return record([(cam, url)], Path(archive), seconds, segment_s)


def packets_in_files(archive: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for rec in ArchiveIndex(archive).records():
        if isinstance(rec, SegmentRecord):
            with av.open(str(archive / rec.path)) as c:
                n = sum(1 for p in c.demux() if p.size)
            counts[rec.camera] = counts.get(rec.camera, 0) + n
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--segment-s", type=float, default=10.0)
    ap.add_argument("--bitrate", type=int, default=2_000_000)
    ap.add_argument("--mode", choices=("threads", "processes"), default="threads")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-recorder-") as tmp:
        work = Path(tmp)
        spec = MediaSpec(seconds=20, fps=25, width=1280, height=720, keyframe_s=2, bitrate=args.bitrate)
        media = write_media(work / "stream.mp4", spec, noise=True)
        with av.open(str(media)) as c:
            mbps = (media.stat().st_size * 8 / (c.duration / 1e6)) / 1e6 if c.duration else 0.0
        mounts = {f"cam{i}": media for i in range(args.streams)}
        with RtspLoopServer(mounts, tool=TOOL) as server:
            cameras = [(f"cam-{i}", server.url(f"cam{i}")) for i in range(args.streams)]
            archive = work / "archive"
            if args.mode == "threads":
                outcome = record(cameras, archive, args.seconds, args.segment_s)
                cpu_s, stats = outcome.cpu_s, outcome.stats
            else:
                with mp.get_context("spawn").Pool(args.streams) as pool:
                    outcomes = pool.map(_record_one, [(cam, url, str(archive), args.seconds, args.segment_s)
                                                      for cam, url in cameras])
                cpu_s, stats = sum(o.cpu_s for o in outcomes), [s for o in outcomes for s in o.stats]
        in_files = packets_in_files(archive)
        gaps = [r for r in ArchiveIndex(archive).records() if isinstance(r, GapRecord)]
    per_stream = 100 * cpu_s / args.seconds / args.streams
    print(f"recorder bench: {args.streams} streams of {mbps:.2f} Mbit/s (1280x720 H.264 25 fps + AAC), "
          f"{args.seconds:g} s, mode {args.mode}")
    print(f"CPU per stream: {per_stream:.2f} % of one core (process CPU {cpu_s:.2f} s)")
    lost = 0
    for s in stats:
        lost += s.packets_in - s.accounted + abs(in_files.get(s.camera, 0) - s.packets_written)
        print(f"  {s.camera}: in {s.packets_in}, written {s.packets_written}, "
              f"in files {in_files.get(s.camera, 0)}, "
              f"before first keyframe {s.skipped_before_keyframe}, untimed {s.dropped_untimed}, "
              f"out of order {s.dropped_out_of_order}, refused {s.dropped_rejected + s.dropped_storage}, "
              f"segments {s.segments}, reconnects {s.connections - 1}")
    print(f"gaps: {len(gaps)}, lost packets: {lost}")
    return 0 if not gaps and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
