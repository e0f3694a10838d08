"""Clip memory: the resident memory of a process cutting alert clips, with and without handing its
free heap back to the system (custodywatch/heap_release.py).

Run: `.venv/bin/python bench/clip_memory.py [--clips 1000] [--cameras 4] [--record-s 120]`.

Material: the realistic sub-stream of bench/capacity.py (real footage, 640x360, 15 fps, 512 kbit/s),
served once per camera by the real RTSP test server and recorded live by the recorder in 10 s
segments. Then two fresh processes each cut `--clips` clips from that archive as the recorder's
clipper does for an alert (15-19 s, first.mp4, then the snapshot decoded from it and written as
JPEG), walking the cameras and the recording; one never releases its free heap, the other releases
it every 20 clips (the service does once a minute; the soak's alert flood cuts about 16 a minute).
Each samples its resident anonymous memory every 100 clips. The growth counts from clip 100 (the
codecs and the archive's index loaded) to the last, in the same run for both.
Last line: `clip memory: N clips, anon +X MiB without release, +Y MiB with release`.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from capacity import make_stream

from custodywatch.heap_release import release_free_heap
from custodywatch.memory_report import rss_anon_kib
from custodywatch.recorder.camera import CameraRecorder
from custodywatch.recorder.clips import cut_clip, snapshot
from custodywatch.recorder.index import ArchiveIndex, SegmentRecord
from custodywatch.rtsp_server import RtspLoopServer

SEGMENT_S = 10
SAMPLE_EVERY = 100
RELEASE_EVERY = 20


def record(archive: Path, cameras: int, seconds: float, work: Path) -> None:
    stream = make_stream(work / "camera.mp4")
    names = [f"cam-{i}" for i in range(cameras)]
    index = ArchiveIndex(archive)
    with RtspLoopServer({name: stream for name in names}) as rtsp:
        until = time.time() + seconds
        recorders = [CameraRecorder(name, rtsp.url(name), index, segment_s=SEGMENT_S) for name in names]
        threads = [threading.Thread(target=r.run, kwargs={"until": until}) for r in recorders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def cut(archive: Path, clips: int, release_every: int, out: Path) -> None:
    """The child: cuts the clips and prints one JSON line per sample."""
    index = ArchiveIndex(archive)
    by_camera: dict[str, list[SegmentRecord]] = {}
    for r in index.records():
        if isinstance(r, SegmentRecord):
            by_camera.setdefault(r.camera, []).append(r)
    cameras = sorted(by_camera)
    start = max(min(s.start for s in segs) for segs in by_camera.values()) + 5
    end = min(max(s.end for s in segs) for segs in by_camera.values()) - 25
    if end - start < 30:
        raise SystemExit(f"{archive}: too little recorded to cut clips from")
    for i in range(clips):
        at = start + (i * 7.3) % (end - start)
        folder = out / str(i % 20)
        clip = cut_clip(index, cameras[i % len(cameras)], at, at + 15 + i % 5, folder / "first.mp4")
        snapshot(clip.path, 10.0, folder / "snapshot.jpg")
        if release_every and (i + 1) % release_every == 0:
            release_free_heap()
        if (i + 1) % SAMPLE_EVERY == 0:
            anon_mib = round((rss_anon_kib() or 0) / 1024, 1)
            print(json.dumps({"clips": i + 1, "anon_mib": anon_mib}), flush=True)


def trial(archive: Path, clips: int, release_every: int, work: Path) -> list[dict[str, float]]:
    out = work / f"clips-{release_every}"
    done = subprocess.run([sys.executable, __file__, "--cut", str(archive), "--clips", str(clips),
                           "--release-every", str(release_every), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"cutting failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--record-s", type=float, default=120.0)
    parser.add_argument("--json", type=Path, help="write every sample here")
    parser.add_argument("--cut", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--release-every", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cut is not None:
        cut(args.cut, args.clips, args.release_every, args.out)
        return 0
    if args.clips < 2 * SAMPLE_EVERY:
        parser.error(f"--clips: at least {2 * SAMPLE_EVERY}")
    if args.record_s < 90:
        parser.error("--record-s: at least 90 (clips start 5 s in and need 25 s after them)")
    work = Path(tempfile.mkdtemp(prefix="custodywatch-clip-memory-"))
    try:
        archive = work / "archive"
        record(archive, args.cameras, args.record_s, work)
        runs = {"without release": trial(archive, args.clips, 0, work),
                "with release": trial(archive, args.clips, RELEASE_EVERY, work)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    growth = {}
    for label, samples in runs.items():
        shown = " ".join(str(s["anon_mib"]) for s in samples)
        print(f"{label}: anon MiB every {SAMPLE_EVERY} clips: {shown}")
        growth[label] = round(samples[-1]["anon_mib"] - samples[0]["anon_mib"], 1)
    if args.json:
        figures = {"clips": args.clips, "runs": runs, "growth_mib": growth}
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    print(f"clip memory: {args.clips} clips, anon {growth['without release']:+} MiB without release, "
          f"{growth['with release']:+} MiB with release")
    return 0


if __name__ == "__main__":
    sys.exit(main())
