"""How many cameras this box analyses at 2 fps with at most 1 % of frames dropped, against a naive
baseline measured in the same run.

Run with no arguments: `.venv/bin/python bench/capacity.py` (about 10 minutes).

Material: a realistic sub-stream made from the real footage in ../shared/media (640x360, 15 fps,
keyframe every 2 s, 512 kbit/s: an NVR's default sub-stream), served N times by the real RTSP
server on this machine.

Pipeline trial: the service's own reader processes and detector workers (pipeline/), and
tracking + roles + rules (rules/) in this process in place of the analytics process, so that
every analysed frame is accounted for. The readers number the frames they sample per
connection; a frame counts as analysed only when its detections come out within the staleness
budget of its capture. Dropped = frames sampled (or due by the clock) but not analysed in time.

Naive trial: what a plain script does: a thread per camera, cv2.VideoCapture reading every frame,
one shared onnxruntime session with default options, the model at its square size (416x416),
batch 1 per analysed frame; counted the same way (capture time = first frame's arrival + the
stream's own timestamps).

Both search N over a range and keep the largest N held for the whole window. The last line is
`capacity: N cameras at F fps, dropped D%, naive baseline M cameras (ratio R)`.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import onnxruntime as ort
import zmq

from custodywatch import paths
from custodywatch.config import CameraConfig, Config, DetectorConfig, RoomConfig
from custodywatch.models.backends import YoloxBackend
from custodywatch.models.detector import Detector, resolve_model
from custodywatch.pipeline.detector_service import DetectorService
from custodywatch.pipeline.messages import CameraHealth, DetectorStats, FrameDetections
from custodywatch.pipeline.reader import CameraSource, ReaderGroup
from custodywatch.pipeline.shm import sweep_stale
from custodywatch.pipeline.supervisor import Supervisor
from custodywatch.rtsp_server import RtspLoopServer
from custodywatch.rules.camera import CameraAnalyzer
from custodywatch.rules.engine import RuleEngine

FPS = 2.0
STREAM_FPS = 15
GOP = 30
BITRATE = 512_000
SIZE = (640, 360)
DROP_LIMIT_PCT = 1.0
STALE_S = 0.5  # the staleness budget both trials are held to
CONNECT_WAIT_S = 120.0  # for every camera to deliver its first frame
TICKS = os.sysconf("SC_CLK_TCK")
SOURCE = "real/intel_one-by-one-person-detection.mp4"
ZONES = {  # where the clip's people walk: both roles get counted, so the rules have work to do
    "detainee_seat": [[0.5, 0.5], [1.0, 0.5], [1.0, 1.0], [0.5, 1.0]],
    "officer_area": [[0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]],
}


# --- material ------------------------------------------------------------------------------------

def make_stream(out: Path, seconds: int = 60) -> Path:
    """The clip resampled to 15 fps at 640x360 and encoded as a camera's sub-stream would be."""
    with av.open(str(paths.shared_dir() / "media" / SOURCE)) as src:
        stream = src.streams.video[0]
        rate = float(stream.average_rate or 10)
        frames = [cv2.resize(f.to_ndarray(format="bgr24"), SIZE, interpolation=cv2.INTER_AREA)
                  for f in src.decode(stream)]
    with av.open(str(out), mode="w", format="mp4") as dst:
        video = dst.add_stream("libx264", rate=STREAM_FPS)
        video.width, video.height = SIZE
        video.pix_fmt = "yuv420p"
        video.bit_rate = BITRATE
        video.options = {"bf": "0", "g": str(GOP), "preset": "veryfast",
                         "maxrate": str(BITRATE), "bufsize": str(2 * BITRATE)}
        for i in range(seconds * STREAM_FPS):
            image = frames[int(i * rate / STREAM_FPS) % len(frames)]
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, STREAM_FPS)
            dst.mux(video.encode(frame))
        dst.mux(video.encode(None))
    return out


# --- CPU accounting ------------------------------------------------------------------------------

def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU of these processes so far (threads included)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def rss_mib(pids: Sequence[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


class CpuWindow:
    """CPU used over a window by named groups of processes."""

    def __init__(self, groups: Callable[[], dict[str, Sequence[int]]]):
        self._groups = groups
        self._start: dict[str, dict[int, float]] = {}

    def start(self) -> None:
        groups = self._groups()
        self._start = {name: {pid: cpu_seconds([pid]) for pid in pids} for name, pids in groups.items()}

    def stop(self) -> dict[str, float]:
        """CPU seconds since start per group, for the processes alive at start."""
        return {name: sum(cpu_seconds([pid]) - t0 for pid, t0 in pids.items())
                for name, pids in self._start.items()}


# --- the tally of one trial ----------------------------------------------------------------------

@dataclass
class CameraTally:
    """Frames of one camera whose capture time falls inside the window."""

    on_time: int = 0
    late: int = 0
    # Sampled indices per connection; a connection is told by its anchor, the capture time of its
    # index 0 (a new connection restarts the numbering).
    indices: dict[float, set[int]] = field(default_factory=dict)

    def add(self, captured: float, index: int, on_time: bool) -> None:
        anchor = captured - index / FPS
        # Sampled frames sit within a stream frame (1/15 s) of the ideal grid.
        key = next((a for a in self.indices if abs(a - anchor) < 0.3), anchor)
        self.indices.setdefault(key, set()).add(index)
        if on_time:
            self.on_time += 1
        else:
            self.late += 1


@dataclass
class Trial:
    cameras: int
    window_s: float
    expected: int  # frames that should have been analysed in the window (see tally)
    sampled: int  # frames the readers numbered inside the window (gaps in numbering included)
    on_time: int
    cpu: dict[str, float]  # CPU seconds in the window by part of the pipeline
    server_cpu_s: float
    memory_mib: dict[str, float] = field(default_factory=dict)  # resident memory by part, at the end
    lost: dict[str, int] = field(default_factory=dict)  # frames lost in the window, by where
    note: str = ""

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())

    @property
    def dropped_pct(self) -> float:
        return 100.0 * max(0, self.expected - self.on_time) / max(1, self.expected)

    @property
    def held(self) -> bool:
        return self.dropped_pct <= DROP_LIMIT_PCT

    @property
    def cpu_per_frame_ms(self) -> float:
        return 1000 * self.cpu_s / max(1, self.on_time)

    def line(self, label: str) -> str:
        cores, server = self.cpu_s / self.window_s, self.server_cpu_s / self.window_s
        return (f"{label:8} N={self.cameras:3}  expected {self.expected:6}  sampled {self.sampled:6}  "
                f"on time {self.on_time:6}  dropped {self.dropped_pct:5.1f}%  CPU {cores:4.2f} cores "
                f"({self.cpu_per_frame_ms:5.1f} ms/frame)  server {server:4.2f} cores  "
                f"{'held' if self.held else 'NOT held'} {self.note}\n{'':10}CPU by part: "
                + ", ".join(f"{k} {v / self.window_s:.2f}" for k, v in self.cpu.items())
                + ("; memory MiB: " + ", ".join(f"{k} {v:.0f}" for k, v in self.memory_mib.items())
                   if self.memory_mib else "")
                + ("; lost: " + ", ".join(f"{k} {v}" for k, v in self.lost.items()) if self.lost else ""))


def tally(cameras: dict[str, CameraTally], window: tuple[float, float], n: int,
          cpu: dict[str, float], server_cpu: float) -> Trial:
    """Frames expected per camera: those its reader numbered within the window (a gap in the
    numbering is a frame lost), and never fewer than the clock says were due, less one for where
    the window's edges fall between frames."""
    span = window[1] - window[0]
    due = FPS * span
    numbered = [sum(max(idx) - min(idx) + 1 for idx in t.indices.values() if idx) for t in cameras.values()]
    expected = sum(max(k, int(due) - 1) for k in numbered) + (n - len(cameras)) * (int(due) - 1)
    on_time = sum(t.on_time for t in cameras.values())
    return Trial(n, span, expected, sum(numbered), on_time, cpu, server_cpu)


# --- pipeline trial ------------------------------------------------------------------------------

class LossTally:
    """Drop counters from the readers' and detector workers' health reports, over a window."""

    def __init__(self) -> None:
        self._cameras: dict[str, CameraHealth] = {}
        self._workers: dict[str, DetectorStats] = {}
        self._mark: dict[str, int] = {}

    def drain(self, sock: zmq.Socket[bytes]) -> None:
        while True:
            try:
                msg = sock.recv_pyobj(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            if isinstance(msg, CameraHealth):
                self._cameras[msg.camera] = msg
            elif isinstance(msg, DetectorStats):
                self._workers[msg.worker] = msg

    def totals(self) -> dict[str, int]:
        return {
            "at hand-off": sum(h.dropped for h in self._cameras.values()),
            "stale at the detector": sum(sum(w.dropped_stale.values()) for w in self._workers.values()),
            "overwritten": sum(sum(w.dropped_overwritten.values()) for w in self._workers.values()),
        }

    def mark(self) -> None:
        self._mark = self.totals()

    def since_mark(self) -> dict[str, int]:
        return {k: v - self._mark.get(k, 0) for k, v in self.totals().items()}


def bench_config(urls: list[str], detector: DetectorConfig) -> Config:
    rooms = [RoomConfig(id=f"room-{i}", type="interrogation") for i in range(len(urls))]
    cameras = [CameraConfig(id=f"cam-{i}", room=f"room-{i}", detect_url=url, fps=FPS, zones=ZONES)
               for i, url in enumerate(urls)]
    return Config(detector=detector, rooms=rooms, cameras=cameras)


def run_pipeline(n: int, server: RtspLoopServer, detector: DetectorConfig, model_dir: Path,
                 per_reader: int, warmup_s: float, window_s: float, record: bool = False) -> Trial:
    cfg = bench_config([server.url(f"cam{i}") for i in range(n)], detector)
    run_dir = Path(tempfile.mkdtemp(prefix="capacity-"))
    detections = f"ipc://{run_dir / 'detections'}"
    health = f"ipc://{run_dir / 'health'}"
    frames = [f"ipc://{run_dir / f'frames-{i}'}" for i in range(detector.workers)]
    service_id = f"bench{os.getpid()}"
    sources = [CameraSource(c.id, c.detect_url, c.fps, worker=i % len(frames))
               for i, c in enumerate(cfg.cameras)]
    zctx = zmq.Context()
    pull = zctx.socket(zmq.PULL)
    pull.bind(detections)
    reports = zctx.socket(zmq.PULL)  # the children's health reports: where frames were lost
    reports.bind(health)
    losses = LossTally()
    components = [
        *(DetectorService(detector, str(model_dir), ep, detections, health, name=f"detector-{i}")
          for i, ep in enumerate(frames)),
        *(ReaderGroup(f"reader-{i // per_reader}", sources[i:i + per_reader], frames, health, service_id)
          for i in range(0, n, per_reader)),
    ]
    if record:
        # Every camera's stream recorded as the service does it: remuxed into the archive.
        from custodywatch.recorder.service import RecordedCamera, RecorderService

        recorded = [RecordedCamera(c.id, c.detect_url, c.room) for c in cfg.cameras]
        components.insert(0, RecorderService(recorded, str(run_dir / "archive"), data_dir=str(run_dir)))
    supervisor = Supervisor(components)
    analyzers = {c.id: CameraAnalyzer(c, cfg.room(c.room).type, cfg.roles) for c in cfg.cameras}
    engine = RuleEngine(cfg)
    tallies = {c.id: CameraTally() for c in cfg.cameras}
    def parts() -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {"rules": [os.getpid()], "detector": [], "readers": [], "recorder": []}
        for c in supervisor.children:
            if c.process is not None:
                part = next(p for p in ("detector", "recorder", "reader") if c.name.startswith(p))
                groups["readers" if part == "reader" else part].append(c.process.pid)
        return groups

    cpu = CpuWindow(parts)
    server_cpu = CpuWindow(lambda: {"server": [server.pid] if server.pid else []})
    supervisor.start()
    try:
        # The window opens `warmup_s` after every camera has delivered (or the wait runs out).
        start = end = float("inf")
        give_up = time.time() + CONNECT_WAIT_S
        delivered: set[str] = set()
        measured: tuple[dict[str, float], float] | None = None
        memory: dict[str, float] = {}
        lost: dict[str, int] = {}
        started = False
        # Go on after the window until its last frames have had their staleness budget.
        while time.time() < end + detector.stale_s + 0.5:
            if start == float("inf") and (len(delivered) == n or time.time() > give_up):
                start = time.time() + warmup_s
                end = start + window_s
            losses.drain(reports)
            if not started and time.time() >= start:
                losses.mark()
                cpu.start()
                server_cpu.start()
                started = True
            if started and measured is None and time.time() >= end:
                measured = cpu.stop(), server_cpu.stop()["server"]
                lost = losses.since_mark()
                memory = {part: rss_mib(pids) for part, pids in parts().items()}
            if pull.poll(100):
                while True:
                    try:
                        msg: FrameDetections = pull.recv_pyobj(flags=zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    arrived = time.time()
                    delivered.add(msg.camera)
                    engine.observe(analyzers[msg.camera].observe(msg.wall, msg.detections, msg.size))
                    if start <= msg.wall < end:
                        tallies[msg.camera].add(msg.wall, msg.index, arrived - msg.wall <= detector.stale_s)
            engine.advance(time.time())
    finally:
        supervisor.stop()
        zctx.destroy(linger=0)
        sweep_stale()
        shutil.rmtree(run_dir, ignore_errors=True)
    assert measured is not None
    trial = tally(tallies, (start, end), n, *measured)
    trial.memory_mib = memory
    trial.lost = {**lost, "late": sum(t.late for t in tallies.values())}
    return trial


# --- naive trial ---------------------------------------------------------------------------------

class NaiveCamera(threading.Thread):
    """A thread per camera as a plain script writes it."""

    def __init__(self, url: str, session: ort.InferenceSession, stop: threading.Event,
                 results: queue.SimpleQueue[tuple[float, float, int]]):
        super().__init__(daemon=True)
        self.url, self.session, self.stop_event, self.results = url, session, stop, results
        self.backend = YoloxBackend((416, 416), (0,))
        self.input = session.get_inputs()[0].name
        self.first_frame_at: float | None = None

    def run(self) -> None:
        cap = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG)
        anchor: float | None = None
        first_ms = 0.0
        next_s = 0.0
        index = 0
        while not self.stop_event.is_set():
            ok, image = cap.read()
            if not ok:
                break
            pos_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
            if anchor is None:
                anchor, first_ms = time.time(), pos_ms
                self.first_frame_at = anchor
            rel = (pos_ms - first_ms) / 1000
            # The same mapping as the pipeline's reader: the server's connect backlog comes in a
            # burst, so the least-delayed frame bounds the capture clock.
            anchor = min(anchor, time.time() - rel)
            if rel + 1e-6 < next_s:
                continue
            next_s += 1 / FPS
            blob, _ = self.backend.preprocess([image])
            output = self.session.run(None, {self.input: blob})[0]
            self.backend.decode(output, 0.3)
            self.results.put((anchor + rel, time.time(), index))
            index += 1
        cap.release()


def run_naive(n: int, server: RtspLoopServer, model: Path, warmup_s: float, window_s: float) -> Trial:
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "rtsp_transport;tcp"
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    stop = threading.Event()
    sinks: list[queue.SimpleQueue[tuple[float, float, int]]] = [queue.SimpleQueue() for _ in range(n)]
    cams = [NaiveCamera(server.url(f"cam{i}"), session, stop, sink) for i, sink in enumerate(sinks)]
    per_camera = [CameraTally() for _ in range(n)]
    for cam in cams:
        cam.start()
    cpu = CpuWindow(lambda: {"script": [os.getpid()]})
    server_cpu = CpuWindow(lambda: {"server": [server.pid] if server.pid else []})
    # cv2.VideoCapture opens one stream at a time (it holds the GIL while it connects): wait for
    # all of them, as for the pipeline, so the window measures the steady state.
    give_up = time.time() + CONNECT_WAIT_S
    while any(cam.first_frame_at is None for cam in cams) and time.time() < give_up:
        time.sleep(0.2)
    start = time.time() + warmup_s
    end = start + window_s
    time.sleep(max(0.0, start - time.time()))
    cpu.start()
    server_cpu.start()
    time.sleep(max(0.0, end - time.time()))
    used = cpu.stop()
    server_used = server_cpu.stop()["server"]
    time.sleep(1.0 + 0.5)  # frames captured before the end may still be in inference
    stop.set()
    for cam in cams:
        cam.join(5)
    for t, sink in zip(per_camera, sinks, strict=True):
        while not sink.empty():
            captured, done, index = sink.get()
            if not start <= captured < end:
                continue
            t.add(captured, index, done - captured <= STALE_S)
    return tally({str(i): t for i, t in enumerate(per_camera)}, (start, end), n, used, server_used)


# --- isolated cost -------------------------------------------------------------------------------

@dataclass(frozen=True)
class IsolatedCost:
    """CPU seconds, one core, nothing else running in the process."""

    decode_file: float  # per camera-second: decode every frame of the file, convert the sampled ones
    decode_stream: float  # per camera-second: the same from the RTSP server (network demux included)
    model: float  # per analysed frame: Detector.detect at the service's batch size

    @property
    def per_frame(self) -> float:
        """Getting one analysed frame off the camera and through the model: the floor."""
        return self.decode_stream / FPS + self.model


def _decode_cpu(url: str, seconds: float | None) -> float:
    """CPU seconds per second of stream to decode it all and convert the frames analysis samples."""
    options = {"rtsp_transport": "tcp"} if url.startswith("rtsp") else {}
    with av.open(url, options=options, timeout=(10, 10)) as container:
        video = container.streams.video[0]
        video.thread_type = "SLICE"
        video.codec_context.thread_count = 1
        step = STREAM_FPS / FPS
        decoded = 0
        started: float | None = None
        for frame in container.decode(video):
            if started is None:  # skip the connect: the server's backlog comes in a burst
                started = time.process_time()
                wall = time.monotonic()
            if decoded % step < 1:
                frame.to_ndarray(format="bgr24")
            decoded += 1
            if seconds is not None and time.monotonic() - wall >= seconds:
                break
    assert started is not None
    return (time.process_time() - started) / (decoded / STREAM_FPS)


def isolated_cost(stream: Path, detector: DetectorConfig, model_dir: Path, batch: int) -> IsolatedCost:
    decode_file = _decode_cpu(str(stream), None)
    with serving(stream, 1) as server:
        time.sleep(2.5)  # past the first keyframe backlog
        decode_stream = _decode_cpu(server.url("cam0"), 20)
    det = Detector.from_config(detector, model_dir)
    with av.open(str(stream)) as container:
        images = [f.to_ndarray(format="bgr24") for _, f in zip(range(batch), container.decode(video=0),
                                                                strict=False)]
    det.detect(images)
    runs = max(4, 200 // batch)
    t0 = time.process_time()
    for _ in range(runs):
        det.detect(images)
    model = (time.process_time() - t0) / (runs * len(images))
    return IsolatedCost(decode_file, decode_stream, model)


# --- search --------------------------------------------------------------------------------------

def search(candidates: Sequence[int], trial: Callable[[int], Trial], label: str) -> Trial | None:
    """Largest candidate held, by bisection over the sorted candidates."""
    lo, hi = 0, len(candidates) - 1
    best: Trial | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        result = trial(candidates[mid])
        print(result.line(label), flush=True)
        if result.held:
            best = result
            lo = mid + 1
        else:
            hi = mid - 1
    return best


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=60, help="measured seconds per trial (default 60)")
    parser.add_argument("--warmup", type=float, default=5,
                        help="seconds after every camera delivers before measuring (default 5)")
    parser.add_argument("--pipeline", type=int, nargs="*", default=[40, 48, 56, 64],
                        help="camera counts to search for the pipeline")
    parser.add_argument("--naive", type=int, nargs="*", default=[24, 32, 40],
                        help="camera counts to search for the naive baseline (none: skip it)")
    parser.add_argument("--record", type=int, nargs="*", default=[32, 40, 48],
                        help="camera counts to search with every camera also recorded (none: skip it)")
    parser.add_argument("--per-reader", type=int, default=8, help="cameras per reader process")
    parser.add_argument("--workers", type=int, default=DetectorConfig().workers, help="detector workers")
    args = parser.parse_args(argv)
    began = time.monotonic()
    model_dir = paths.model_dir()
    if not (model_dir / DetectorConfig().model).is_file():
        model_dir = paths.shared_dir() / "models"
    detector = DetectorConfig(providers=["cpu"], workers=args.workers, stale_s=STALE_S)
    model = resolve_model(detector.model, model_dir)
    removed = sweep_stale()
    if removed:
        print(f"removed {len(removed)} stale shared-memory segments", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="capacity-") as tmp:
        stream = make_stream(Path(tmp) / "camera.mp4")
        iso = isolated_cost(stream, detector, model_dir, batch=4)
        isolated_ms = 1000 * iso.per_frame
        print(f"machine: {os.cpu_count()} CPUs; stream: 640x360 {STREAM_FPS} fps GOP {GOP} "
              f"{BITRATE // 1000} kbit/s; analysed at {FPS:g} fps; staleness budget {STALE_S} s")
        print(f"isolated cost: decode {100 * iso.decode_stream:.2f} % of a core per camera from the RTSP "
              f"server ({100 * iso.decode_file:.2f} % from the file), model {1000 * iso.model:.1f} ms CPU "
              f"per frame at width {detector.input} -> {isolated_ms:.1f} ms CPU per analysed frame",
              flush=True)

        def pipeline(n: int) -> Trial:
            with serving(stream, n) as server:
                return run_pipeline(n, server, detector, model_dir, args.per_reader, args.warmup, args.window)

        def naive(n: int) -> Trial:
            with serving(stream, n) as server:
                return run_naive(n, server, model, args.warmup, args.window)

        def recording(n: int) -> Trial:
            with serving(stream, n) as server:
                return run_pipeline(n, server, detector, model_dir, args.per_reader, args.warmup, args.window,
                                    record=True)

        best = search(sorted(args.pipeline), pipeline, "pipeline") if args.pipeline else None
        base = search(sorted(args.naive), naive, "naive") if args.naive else None
        recorded = search(sorted(args.record), recording, "recorded") if args.record else None
    n = best.cameras if best else 0
    m = base.cameras if base else 0
    if best is not None:
        print(f"pipeline CPU: {best.cpu_per_frame_ms:.1f} ms per analysed frame = "
              f"{best.cpu_per_frame_ms / isolated_ms:.2f}x the isolated cost ({isolated_ms:.1f} ms: stream "
              "decode + model)")
    if recorded is not None:
        print(f"with recording: {recorded.cameras} cameras analysed and recorded, dropped "
              f"{recorded.dropped_pct:.1f}%")
    elif args.record:
        print(f"with recording: fewer than {min(args.record)} cameras")
    print(f"total {time.monotonic() - began:.0f} s", file=sys.stderr)
    dropped = best.dropped_pct if best else 100.0
    ratio = n / m if m else 0.0
    print(f"capacity: {n} cameras at {FPS:.1f} fps, dropped {dropped:.1f}%, naive baseline {m} cameras "
          f"(ratio {ratio:.2f})")


@contextlib.contextmanager
def serving(stream: Path, n: int) -> Iterator[RtspLoopServer]:
    with RtspLoopServer({f"cam{i}": stream for i in range(n)}) as server:
        yield server


if __name__ == "__main__":
    main()
