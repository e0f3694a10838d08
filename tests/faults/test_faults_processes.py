"""Faults 1-4 against the whole service (one camera, a real RTSP server, real child processes):
the detector killed or hung, the recorder killed mid-segment, the camera stalled, the camera's
server killed and restarted ten times, a component out of its restart budget, and the shutdown
after all that. One service is shared: each case restores what it broke (the next one starts from
a recovering, running service), and the order below is the order they run in.

The recovery times measured are printed (run with -s) for docs/reliability.md."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import pytest
from faulted_service import CAMERA, FaultedService, faulted_service, run_verify
from faults_feed import FeedClient
from service_process import alive, assert_nothing_left, wait_until

from custodywatch.recorder.index import GapCause, GapRecord, SegmentRecord
from custodywatch.recorder.recovery import whole_fragments_end

pytestmark = pytest.mark.slow

READ_TIMEOUT_S = 5.0
DETECTOR_LIVENESS_S = 4.0
RESTART_BUDGET = 3
SEGMENT_S = 2
OUTAGES = 10
SETTINGS = {
    "detector": {"workers": 1},
    "reader": {"open_timeout_s": 3, "read_timeout_s": READ_TIMEOUT_S},
    "recorder": {"segment_s": SEGMENT_S},
    "supervisor": {"restart_budget": RESTART_BUDGET, "restart_window_s": 600,
                   "liveness_s": {"detector": DETECTOR_LIVENESS_S}},
}


def report(what: str, seconds: float) -> None:
    print(f"\nRECOVERY {what}: {seconds:.1f} s")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultedService]:
    with faulted_service(tmp_path_factory.mktemp("faulted"), SETTINGS) as svc:
        wait_until("the camera connected and analysed", lambda: svc.camera()["connected"] and svc.analysed(),
                   60, svc.log)
        yield svc


def _analysis_resumed(svc: FaultedService, old_pid: int) -> Callable[[], bool]:
    """True once a new detector process is analysing: its count (which starts from 0) rising."""
    last: list[float] = []

    def check() -> bool:
        pid = svc.pid_of("detector-0")
        if pid is None or pid == old_pid:
            return False
        now = svc.analysed()
        rising = bool(last) and now > last[-1]
        last.append(now)
        return rising

    return check


def _assert_recorded_throughout(svc: FaultedService, since: float, until: float) -> None:
    """The recorder's segments cover [since, until] back to back: nothing lost while analysis was."""
    wait_until("a segment recorded past the recovery", lambda: any(s.end >= until for s in svc.segments()),
               30, svc.log)
    assert not [g for g in svc.gaps() if g.end > since and g.start < until], "a recording gap"
    around = sorted((s for s in svc.segments() if s.end > since and s.start < until), key=lambda s: s.start)
    assert around and around[0].start <= since and around[-1].end >= until
    for before, after in zip(around, around[1:], strict=False):
        assert after.start - before.end < 0.5, f"hole between {before.path} and {after.path}"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_detector_killed_or_hung_is_restarted_and_analysis_resumes_while_recording_goes_on(
        service: FaultedService, fault: str) -> None:
    svc = service
    pid = svc.pid_of("detector-0")
    assert pid is not None
    restarts = svc.health()[1]["restarts"]["detector-0"]
    at = time.time()
    os.kill(pid, signal.SIGKILL if fault == "killed" else signal.SIGSTOP)
    _, took = wait_until(f"analysis resumed after the detector was {fault}", _analysis_resumed(svc, pid),
                         60, svc.log)
    report(f"detector {fault} -> analysing again", took)
    if fault == "hung":
        # Noticed by its silence (the OS still calls it alive), not before its liveness timeout.
        assert took > DETECTOR_LIVENESS_S
    assert not alive(pid), "the old detector is still there"
    code, health = svc.health()
    assert code == 200 and health["processes"]["detector-0"] and health["severity"] == "ok", health
    assert health["restarts"]["detector-0"] == restarts + 1
    _assert_recorded_throughout(svc, at, time.time())


@pytest.mark.timeout(120)
def test_recorder_killed_mid_segment_is_recovered_to_its_last_fragment_with_a_gap_and_verifies(
        service: FaultedService) -> None:
    svc = service
    pid = svc.pid_of("recorder")
    assert pid is not None

    def part_with_a_fragment() -> Path | None:
        """A segment being written that has a whole fragment on disk already (one per keyframe)."""
        for part in svc.archive.rglob("*.part"):
            try:
                if whole_fragments_end(part) > 0:
                    return part
            except OSError:
                continue  # closed (renamed) meanwhile
        return None

    part, _ = wait_until("a segment being written", part_with_a_fragment, 30, svc.log, poll_s=0.05)
    killed_at = time.time()
    os.kill(pid, signal.SIGKILL)
    final = part.with_name(part.name.removesuffix(".part"))

    def recovered() -> SegmentRecord | None:
        found = [s for s in svc.segments() if s.recovered and svc.archive / s.path == final]
        return found[0] if found else None

    segment, _ = wait_until("the killed segment recovered and indexed", recovered, 60, svc.log)
    gap, took = wait_until(
        "a recorder_restart gap after the recovered segment",
        lambda: [g for g in svc.gaps() if g.cause is GapCause.RECORDER_RESTART and g.start >= segment.start],
        60, svc.log)
    report("recorder killed -> gap recorded (includes one segment length)", took)
    report("recorder killed: recording lost (gap length)", gap[0].end - gap[0].start)
    assert gap[0].start == pytest.approx(segment.end, abs=0.01)
    assert segment.end <= killed_at + 0.5 and gap[0].end > killed_at
    assert svc.pid_of("recorder") not in (None, pid)
    # Readable up to its last whole fragment: every packet the index counts demuxes.
    with av.open(str(final)) as container:
        packets = sum(1 for p in container.demux() if p.size)
    assert packets == segment.packets > 0
    assert segment.end - segment.start >= 0.9  # at least the first fragment (a keyframe a second)
    result = run_verify(svc.archive, svc.data)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(90)
def test_reader_killed_is_restarted_with_its_frame_rings_unlinked_and_analysis_resumes(
        service: FaultedService) -> None:
    svc = service
    pid = svc.pid_of("reader-0")
    assert pid is not None
    rings = [n for n in svc.shm_segments() if n.startswith(f"cw-{svc.proc.pid}-{pid}-")]
    assert rings, svc.shm_segments()
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)  # it cannot unlink its rings itself
    new_pid, _ = wait_until("a new reader", lambda: svc.pid_of("reader-0") not in (None, pid)
                            and svc.pid_of("reader-0"), 30, svc.log)
    analysed: list[float] = []

    def analysing() -> bool:
        analysed.append(svc.analysed())
        return len(analysed) > 1 and analysed[-1] > analysed[-2] and svc.camera()["connected"]

    wait_until("analysis of the new reader's frames", analysing, 60, svc.log)
    report("reader killed -> analysing again", time.monotonic() - killed_at)
    left = svc.shm_segments()
    assert not set(rings) & set(left), f"the dead reader's rings are left: {left}"
    assert [n for n in left if n.startswith(f"cw-{svc.proc.pid}-{new_pid}-")]


@pytest.mark.timeout(90)
def test_stalled_camera_is_seen_disconnected_within_twice_the_read_timeout(service: FaultedService) -> None:
    svc = service
    assert svc.server.pid is not None and svc.camera()["connected"]
    os.kill(svc.server.pid, signal.SIGSTOP)  # the socket stays open; nothing more arrives
    try:
        _, took = wait_until("the stalled camera disconnected in /healthz",
                             lambda: not svc.camera()["connected"], 4 * READ_TIMEOUT_S, svc.log, poll_s=0.1)
    finally:
        os.kill(svc.server.pid, signal.SIGCONT)
    report(f"camera stalled -> seen disconnected (read timeout {READ_TIMEOUT_S:g} s)", took)
    assert took <= 2 * READ_TIMEOUT_S
    _, back = wait_until("the camera connected again", lambda: svc.camera()["connected"], 60, svc.log)
    report("stall ended -> camera connected again", back)


@pytest.mark.timeout(240)
def test_camera_server_killed_and_restarted_ten_times_each_outage_reconnected_and_a_gap(
        service: FaultedService) -> None:
    svc = service
    wait_until("the camera connected", lambda: svc.camera()["connected"], 60, svc.log)
    children, segments = svc.children(), svc.shm_segments()
    reader = svc.pid_of("reader-0")
    fds = len(os.listdir(f"/proc/{reader}/fd"))
    outages: list[tuple[float, float]] = []
    took: list[float] = []
    for n in range(OUTAGES):
        reconnects = svc.camera()["reconnects"]
        killed_at = time.time()
        svc.server.kill()
        svc.server.start()  # same port; returns once it serves frames again
        back_at = time.time()
        outages.append((killed_at, back_at))

        def reconnected(n: int = n, reconnects: int = reconnects) -> bool:
            camera = svc.camera()
            return bool(camera["connected"] and camera["reconnects"] > reconnects)

        _, seconds = wait_until(f"the reader reconnected after outage {n + 1}", reconnected, 60, svc.log)
        took.append(seconds)
        # The recorder indexes the outage when its first segment after it closes: waiting for that
        # keeps the next outage from merging into this one.
        def indexed(killed_at: float = killed_at) -> list[GapRecord]:
            return [g for g in svc.gaps() if g.end > killed_at]

        wait_until(f"outage {n + 1} indexed as a gap", indexed, 60, svc.log)
    report(f"camera server back -> reader reconnected (worst of {OUTAGES})", max(took))
    report(f"camera server back -> reader reconnected (median of {OUTAGES})", sorted(took)[OUTAGES // 2])

    gaps = [g for g in svc.gaps() if g.end > outages[0][0]]
    assert {g.cause for g in gaps} <= {GapCause.CAMERA_OFFLINE, GapCause.STREAM_ERROR}
    for killed_at, back_at in outages:
        covering = [g for g in gaps if g.start <= back_at + 1.5 and g.end >= killed_at - 1.5]
        assert len(covering) == 1, f"outage at {killed_at:.1f}: gaps {covering}"
    assert len(gaps) == OUTAGES
    assert svc.camera()["reconnects"] >= OUTAGES
    # Nothing leaked: the same processes, shared-memory segments, and (give or take) file descriptors.
    assert svc.children() == children
    assert svc.shm_segments() == segments
    assert len(os.listdir(f"/proc/{reader}/fd")) <= fds + 3


@pytest.mark.timeout(120)
def test_component_out_of_restart_budget_is_down_with_an_alarm_while_the_rest_runs(
        service: FaultedService) -> None:
    svc = service
    with FeedClient(svc.base, svc.headers) as feed:
        feed.wait_for("the feed open", lambda: bool(feed.events), 10)
        for _ in range(RESTART_BUDGET + 1):
            pid, _ = wait_until("a detector running", lambda: svc.pid_of("detector-0"), 60, svc.log)
            os.kill(pid, signal.SIGKILL)
            def restarted_or_down(pid: int = pid) -> bool:
                return svc.pid_of("detector-0") not in (None, pid) or bool(svc.health()[1]["down"])

            wait_until("the detector restarted or down", restarted_or_down, 60, svc.log)
            if svc.health()[1]["down"]:
                break
        code, health = svc.health()
        assert code == 503 and health["down"] == ["detector-0"] and health["severity"] == "alarm", health
        assert not health["processes"]["detector-0"] and health["processes"]["recorder"]
        metrics = svc.metrics()
        assert metrics[("custodywatch_process_down", "detector-0")] == 1
        assert metrics[("custodywatch_process_restarts_total", "detector-0")] == RESTART_BUDGET
        assert metrics[("custodywatch_process_up", "recorder")] == 1
        feed.wait_for("an alarm-level health event naming the detector",
                      lambda: any(e.event == "health" and e.data["severity"] == "alarm"
                                  and e.data["down"] == ["detector-0"] for e in feed.events), 15)
    # The rest keeps running: the camera is read and recorded, the API answers.
    down_at = time.time()
    time.sleep(2)
    assert svc.pid_of("detector-0") is None
    assert svc.camera()["connected"]
    wait_until("recording after the detector went down",
               lambda: any(s.start > down_at for s in svc.segments()), 30, svc.log)


def test_every_process_of_the_service_starts_with_the_malloc_arena_limit(service: FaultedService) -> None:
    """Memory one thread frees stays usable by the others (custodywatch/malloc_arenas.py): the limit
    the service sets is in every process it started, restarted ones included."""
    expected = os.environ.get("MALLOC_ARENA_MAX", "2")
    children = service.children()
    assert children
    for pid in children:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"MALLOC_ARENA_MAX={expected}".encode() in environ, Path(f"/proc/{pid}/cmdline").read_text()


@pytest.mark.timeout(60)
def test_service_stops_cleanly_after_the_faults(service: FaultedService) -> None:
    svc = service
    children = svc.children()
    pid = svc.proc.pid
    assert svc.stop() == 0, svc.log.read_text()[-3000:]
    assert_nothing_left(children)
    assert not [n for n in os.listdir("/dev/shm") if n.startswith(f"cw-{pid}-")]
    # The recorder closed its last segment: nothing is left half-written.
    assert not list(svc.archive.rglob("*.part"))
    result = run_verify(svc.archive, svc.data)
    assert result.returncode == 0, result.stdout + result.stderr
    assert CAMERA in {s.camera for s in svc.segments()}
