"""Recording from the real RTSP server: sound and picture kept, segments whole and contiguous,
outages accounted for as gaps, a SIGKILL costing at most the last fragment."""
from __future__ import annotations

import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from recorder_helpers import (
    AV_TOOL,
    CHROMIUM,
    chromium_frames,
    codecs,
    dominant_hz,
    env_with_data,
    frame_codes,
    gaps,
    needs_rtsp,
    record_in_background,
    records,
    segments,
)

from custodywatch.cli import main
from custodywatch.recorder.camera import CameraRecorder
from custodywatch.recorder.clips import cut_clip
from custodywatch.recorder.h26x import parameter_sets
from custodywatch.recorder.index import ArchiveIndex, GapCause, SegmentRecord
from custodywatch.recorder.segment import SegmentWriter, sha256_file
from custodywatch.rtsp_server import RtspLoopServer

pytestmark = needs_rtsp
FPS = 25


def test_segments_keep_sound_and_picture_as_received(rtsp_archive: Path) -> None:
    segs = segments(rtsp_archive)
    for seg in segs:
        path = rtsp_archive / seg.path
        assert path.suffix == ".mp4" and path.stat().st_size == seg.size
        assert codecs(path) == ["h264", "aac"] == seg.streams
        # Each segment starts at a keyframe: it plays on its own from its first frame.
        with av.open(str(path)) as c:
            first = next(c.demux(video=0))
            assert first.is_keyframe
        assert abs(dominant_hz(path) - 440) < 15, "the camera's sound is in the recording"
    codes = [code for seg in segs for _, code in frame_codes(rtsp_archive / seg.path)]
    steps = {(b - a) % 200 for a, b in zip(codes, codes[1:], strict=False)}
    assert steps <= {1}, f"every frame recorded once, in order (steps seen: {sorted(steps)})"


def test_segments_follow_one_another_on_the_wall_clock(rtsp_archive: Path) -> None:
    segs = segments(rtsp_archive)
    assert not gaps(rtsp_archive)
    for a, b in zip(segs, segs[1:], strict=False):
        assert b.start == a.end, "no hole and no overlap between segments of one connection"
    for seg in segs[:-1]:
        assert 2.0 <= seg.end - seg.start <= 3.1, "cut at the first keyframe after segment_s"
        with av.open(str(rtsp_archive / seg.path)) as c:
            frames = c.streams.video[0].frames or sum(1 for _ in c.demux(video=0)) - 1
        assert abs(frames / (seg.end - seg.start) - FPS) < 3


def test_g711_audio_is_kept_as_it_came_and_h265_video_too(av_server: RtspLoopServer, tmp_path: Path) -> None:
    alaw = CameraRecorder("cam-g", av_server.url("alaw"), ArchiveIndex(tmp_path / "g711"), segment_s=60)
    hevc = CameraRecorder("cam-h", av_server.url("hevc"), ArchiveIndex(tmp_path / "h265"), segment_s=60)
    running = [record_in_background(r) for r in (alaw, hevc)]
    time.sleep(4)
    for thread, stop in running:
        stop.set()
        thread.join(10)
    (g711,) = segments(tmp_path / "g711")
    assert g711.path.endswith(".mov"), "MP4 cannot hold G.711: kept in QuickTime"
    assert codecs(tmp_path / "g711" / g711.path) == ["h264", "pcm_alaw"]
    assert abs(dominant_hz(tmp_path / "g711" / g711.path) - 440) < 15
    (h265,) = segments(tmp_path / "h265")
    assert codecs(tmp_path / "h265" / h265.path) == ["hevc", "aac"]
    assert len(frame_codes(tmp_path / "h265" / h265.path)) >= 2 * FPS
    # Clips are what a browser plays: converted copies, the archive keeping the originals.
    for name, seg, converted in (("g711", g711, ["pcm_alaw->aac"]), ("h265", h265, ["hevc->h264"])):
        archive = tmp_path / name
        start = seg.start + 1.3
        clip = cut_clip(ArchiveIndex(archive), seg.camera, start, start + 1.0, tmp_path / f"{name}.mp4")
        assert clip.converted == converted and codecs(clip.path) == ["h264", "aac"]
        shown = [code for t, code in frame_codes(archive / seg.path) if seg.start + t <= start + 1e-6][-1]
        first_time, first_code = frame_codes(clip.path)[0]
        assert abs(first_time) < 1e-3 and abs(first_code - shown) <= 1
        assert abs(dominant_hz(clip.path) - 440) < 15
        assert sha256_file(archive / seg.path) == seg.sha256, "the original is untouched"
        if CHROMIUM is not None and name == "h265":
            shown_in_browser = chromium_frames(clip.path, tmp_path / "web")
            assert abs(shown_in_browser["first"]["code"] - shown) <= 1, "the browser plays the converted copy"


def test_a_camera_outage_mid_segment_is_a_gap_with_its_cause_and_recording_resumes(
        media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "archive"
    losses: list[tuple[str, str, float]] = []

    class Listener:
        def record_appended(self, record: object) -> None:
            pass

        def loss_started(self, camera: str, since: float) -> None:
            losses.append(("started", camera, since))

        def loss_ended(self, camera: str, since: float, until: float) -> None:
            losses.append(("ended", camera, until))

    with RtspLoopServer({"cam": media["aac"]}, tool=AV_TOOL) as server:
        rec = CameraRecorder("cam-k", server.url("cam"), ArchiveIndex(archive), segment_s=60,
                             loss_after_s=1.0, listener=Listener())
        thread, stop = record_in_background(rec)
        time.sleep(2.5)
        killed_at = time.time()
        server.kill()
        time.sleep(1.2)
        server.start()
        restored_at = time.time()
        deadline = restored_at + 15  # the recorder retries with back-off (0.5 s doubling)
        while rec.stats.connections < 2 and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(2.5)
        stop.set()
        thread.join(10)
    first, gap, second = records(archive)
    assert isinstance(first, SegmentRecord) and isinstance(second, SegmentRecord)
    assert gap.type == "gap" and gap.cause is GapCause.CAMERA_OFFLINE
    assert gap.start == first.end and gap.end == second.start, "the gap accounts for every second"
    assert killed_at - 0.5 < gap.start < killed_at + 0.5
    assert killed_at + 1.2 < gap.end < restored_at + 6
    assert second.end - second.start > 1.2, "recording resumed"
    assert [kind for kind, *_ in losses] == ["started", "ended"], \
        "a long loss raises video_loss, then ends it"
    assert rec.stats.accounted == rec.stats.packets_in, "every packet received is written or accounted for"
    assert rec.stats.dropped_rejected == rec.stats.dropped_out_of_order == 0
    # A clip asked across the outage ends at the gap, and says so.
    out = tmp_path / "clip.mp4"
    assert main(["clip", str(archive), "--start", "1", "--end", str(second.end - first.start),
                 "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "gap" in err and "camera_offline" in err
    assert abs(frame_codes(out)[-1][0] - (first.end - first.start - 1)) < 0.2


def test_sigkill_loses_at_most_the_last_fragment_and_restart_indexes_the_rest(
        av_server: RtspLoopServer, tmp_path: Path, data_dir: Path) -> None:
    archive = tmp_path / "archive"
    cli = [sys.executable, "-m", "custodywatch.cli", "record"]
    url = av_server.url("aac")
    proc = subprocess.Popen([*cli, url, "--out", str(archive), "--seconds", "60", "--camera", "cam-s"],
                            env=env_with_data(data_dir), stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "recording" in line, line
        connected = time.time()
        time.sleep(3.5)
        (part,) = list(archive.glob("cam-s/*/*.part"))
        proc.send_signal(signal.SIGKILL)
        killed = time.time()
    finally:
        proc.kill()
        proc.wait()
    restart = subprocess.run([*cli, url, "--out", str(archive), "--seconds", "2", "--camera", "cam-s"],
                             env=env_with_data(data_dir), capture_output=True, text=True, timeout=60)
    assert restart.returncode == 0, restart.stderr
    recovered, gap, *after = records(archive)
    assert isinstance(recovered, SegmentRecord) and recovered.recovered
    assert not part.exists() and (archive / recovered.path).is_file()
    # At most the last fragment (one keyframe interval, 1 s) and the first GOP's wait are missing.
    assert recovered.end - recovered.start >= (killed - connected) - 1.6
    codes = frame_codes(archive / recovered.path)
    assert len(codes) >= FPS * ((killed - connected) - 1.6), "every recovered frame decodes"
    assert gap.type == "gap" and gap.cause is GapCause.RECORDER_RESTART
    assert gap.start == recovered.end and after and gap.end == after[0].start
    verify = subprocess.run([sys.executable, "-m", "custodywatch.cli", "verify", str(archive), "--pubkey",
                             str(data_dir / "keys" / "box_ed25519.pub.pem")],
                            env=env_with_data(data_dir), capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith(f"OK: {len(segments(archive))} segments, 1 gaps")


def test_parameter_sets_only_in_band_still_make_a_playable_segment(av_server: RtspLoopServer,
                                                                    tmp_path: Path) -> None:
    with av.open(av_server.url("aac"), options={"rtsp_transport": "tcp"}, timeout=(5, 5)) as c:
        video = c.streams.video[0]
        video.codec_context.extradata = None  # as from a camera whose SDP has no sprop-parameter-sets
        writer = None
        for p in c.demux(video):
            if p.dts is None or not p.size or (writer is None and not p.is_keyframe):
                continue
            t = float(p.dts * p.time_base)
            if writer is None:
                sets = parameter_sets("h264", bytes(p))
                assert sets.count(b"\x00\x00\x00\x01") == 2, "SPS and PPS found in the keyframe"
                writer = SegmentWriter(tmp_path / "seg.mp4", [video], t, sets)
            writer.write(p, t, 0.04)
            if writer.packets == 30:
                break
    assert writer is not None
    done = writer.close()
    assert len(frame_codes(done.path)) == 30


def test_parameter_sets_are_found_in_annex_b_data() -> None:
    sps, pps, idr = b"\x67\x64\x00\x1f", b"\x68\xee\x3c\x80", b"\x65\x88\x84"
    data = b"\x00\x00\x00\x01" + sps + b"\x00\x00\x01" + pps + b"\x00\x00\x00\x01" + idr
    assert parameter_sets("h264", data) == b"\x00\x00\x00\x01" + sps + b"\x00\x00\x00\x01" + pps
    vps, hsps = b"\x40\x01\x0c", b"\x42\x01\x01"
    assert parameter_sets("hevc", b"\x00\x00\x01" + vps + b"\x00\x00\x01" + hsps) == \
        b"\x00\x00\x00\x01" + vps + b"\x00\x00\x00\x01" + hsps
    assert parameter_sets("h264", b"\x00\x00\x00\x1f" + sps) == b"", "length-prefixed data: none"


def _small_disk() -> None:
    # Every file the recorder writes may grow to 20 kB, as if the disk filled up under each segment.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_disk_that_refuses_writes_is_a_storage_error_and_the_written_part_is_kept(
        av_server: RtspLoopServer, tmp_path: Path, data_dir: Path) -> None:
    archive = tmp_path / "archive"
    run = subprocess.run([sys.executable, "-m", "custodywatch.cli", "record", av_server.url("aac"),
                          "--out", str(archive), "--seconds", "5", "--camera", "cam-d"],
                         env=env_with_data(data_dir), preexec_fn=_small_disk, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert "File too large" in run.stderr, "the failure is reported, not swallowed"
    recs = records(archive)
    kinds = [(r.type, getattr(r, "cause", None), getattr(r, "recovered", None)) for r in recs]
    assert kinds[:2] == [("segment", None, True), ("gap", GapCause.STORAGE_ERROR, None)], kinds
    for a, b in zip(recs, recs[1:], strict=False):
        assert b.start == a.end, "segments and storage gaps account for every second"
    for seg in segments(archive):
        assert seg.size <= 20_000 and len(frame_codes(archive / seg.path)) > 10, "whole fragments kept"
    assert not list(archive.rglob("*.part"))
    assert main(["verify", str(archive)]) == 0
