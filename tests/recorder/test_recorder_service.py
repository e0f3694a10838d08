"""The recorder process as the service runs it: several cameras, the index mirrored into the
database, chain heads signed, an alert's clip and snapshot cut seconds after it fires."""
from __future__ import annotations

import json
import time
from pathlib import Path

from recorder_helpers import frame_codes, needs_rtsp, records, segments
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custodywatch.cli import main
from custodywatch.config import RecorderConfig
from custodywatch.pipeline.process import ChildProcess
from custodywatch.recorder.service import RecordedCamera, RecorderService
from custodywatch.rtsp_server import RtspLoopServer
from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.recordings import RecordingRecord
from custodywatch.vocabulary import RuleId, Severity

pytestmark = needs_rtsp


def test_the_recorder_service_records_every_camera_mirrors_signs_and_clips_alerts(
        av_server: RtspLoopServer, data_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db_url = f"sqlite:///{data_dir / 'custodywatch.db'}"
    engine = make_engine(db_url)
    migrate(engine)
    archive = data_dir / "archive"
    settings = RecorderConfig(segment_s=2, pre_roll_s=1, post_roll_s=1, sign_interval_s=1,
                              retention_interval_s=3600)
    service = RecorderService(
        cameras=[RecordedCamera("cam-a", av_server.url("aac"), "interrogation-1"),
                 RecordedCamera("cam-g", av_server.url("alaw"), "interrogation-1")],
        archive_dir=str(archive), settings=settings, database_url=db_url, data_dir=str(data_dir))
    child = ChildProcess(service)
    child.start()
    try:
        started = time.time()
        while not list(archive.glob("cam-a/*/*.part")) and time.time() < started + 30:
            time.sleep(0.1)  # the child process is up and recording (slow to start on a busy box)
        t0 = time.time()
        AlertStore(engine, "site", "box1").apply(AlertEvent(
            kind="fired", alert_id="a-1", rule=RuleId.SINGLE_OFFICER, room="interrogation-1", camera="cam-a",
            severity=Severity.ALARM, condition_started_at=t0 + 2.5, at=t0 + 3.0))
        clip = data_dir / "clips" / "a-1" / "first.mp4"
        while not clip.exists() and time.time() < t0 + 30:
            time.sleep(0.2)
        ready_after = time.time() - (t0 + 3.0 + settings.post_roll_s)
        # The condition ends: the final clip covers it from pre-roll to post-roll.
        AlertStore(engine, "site", "box1").apply(AlertEvent(
            kind="ended", alert_id="a-1", rule=RuleId.SINGLE_OFFICER, room="interrogation-1", camera="cam-a",
            severity=Severity.ALARM, condition_started_at=t0 + 2.5, at=t0 + 4.0))
        final = data_dir / "clips" / "a-1" / "final.mp4"
        while not final.exists() and time.time() < t0 + 30:
            time.sleep(0.2)
    finally:
        stopping = time.time()
        child.stop(timeout=10)
        stopped_in = time.time() - stopping
    assert clip.exists(), "the alert's first clip was cut"
    assert ready_after < 5, f"the first clip is ready seconds after the alert (took {ready_after:.1f} s)"
    assert stopped_in < 10
    assert (data_dir / "clips" / "a-1" / "snapshot.jpg").stat().st_size > 1000
    first_s, final_s = frame_codes(clip)[-1][0], frame_codes(final)[-1][0]
    assert abs(first_s - 2.5) < 0.2 and abs(final_s - 3.5) < 0.2, (first_s, final_s)
    info = json.loads((data_dir / "clips" / "a-1" / "clip.json").read_text())
    assert info["continues_in_recording"] is False and info["hole"] is None
    for camera in ("cam-a", "cam-g"):
        assert [s for s in segments(archive) if s.camera == camera], f"{camera} recorded"
    assert not list(archive.rglob("*.part")), "segments closed at stop"
    # The clip starts at the condition start minus the pre-roll, on the archive's clock.
    wanted = t0 + 2.5 - settings.pre_roll_s
    seg = next(s for s in segments(archive) if s.camera == "cam-a" and s.start <= wanted < s.end)
    shown = [code for t, code in frame_codes(archive / seg.path) if seg.start + t <= wanted + 1e-6][-1]
    assert abs(frame_codes(clip)[0][1] - shown) <= 1
    with Session(engine) as session:
        mirrored = session.scalar(select(func.count()).select_from(RecordingRecord))
    assert mirrored == len(records(archive)), "every index record is in the database"
    engine.dispose()
    assert main(["verify", str(archive), "--pubkey", str(data_dir / "keys" / "box_ed25519.pub.pem")]) == 0
    assert "signatures checked" in capsys.readouterr().out


def test_the_service_component_comes_from_the_config(tmp_path: Path, data_dir: Path) -> None:
    from custodywatch.config import parse_config
    from custodywatch.recorder.service import recorder_service

    cfg = parse_config(f"""
site: {{id: zh-center, box_id: box7}}
recorder: {{segment_s: 30, archive_dir: {tmp_path / 'arch'}, retention_days_by_room: {{corridor-1: 30}}}}
rooms:
  - {{id: corridor-1, type: corridor, rules: {{video_loss: {{after_s: 45}}}}}}
cameras:
  - {{id: cam-c1, room: corridor-1, detect_url: rtsp://u:p@10.0.0.1/sub, record_url: rtsp://u:p@10.0.0.1/main}}
  - {{id: cam-c2, room: corridor-1, detect_url: rtsp://10.0.0.2/sub}}
""")
    svc = recorder_service(cfg, "sqlite:///x.db", "ipc:///tmp/events")
    assert [(c.id, c.url, c.room, c.loss_after_s) for c in svc.cameras] == [
        ("cam-c1", "rtsp://u:p@10.0.0.1/main", "corridor-1", 45),
        ("cam-c2", "rtsp://10.0.0.2/sub", "corridor-1", 45)]
    assert svc.archive_dir == str(tmp_path / "arch") and svc.settings.segment_s == 30
    assert (svc.site_id, svc.box_id, svc.data_dir) == ("zh-center", "box7", str(data_dir))


def test_recorder_config_names_unknown_rooms_and_cameras() -> None:
    import pytest

    from custodywatch.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as err:
        parse_config("""
recorder:
  retention_days_by_camera: {cam-nope: 3}
rooms: [{id: corridor-1, type: corridor}]
cameras: [{id: cam-c1, room: corridor-1, detect_url: rtsp://x/y}]
""", "cameras.yaml")
    assert str(err.value) == ("cameras.yaml:3: recorder.retention_days_by_camera.cam-nope: "
                              "camera 'cam-nope' is not defined")


def test_a_changed_camera_setting_makes_the_restart_gap_a_config_change(tmp_path: Path) -> None:
    from custodywatch.recorder.index import ArchiveIndex, GapCause
    from custodywatch.recorder.service import STATE_NAME, start_causes

    index = ArchiveIndex(tmp_path / "archive")
    cams = [RecordedCamera("cam-a", "rtsp://u:secret@10.0.0.1/main", "r"),
            RecordedCamera("cam-b", "rtsp://b", "r")]
    restart = GapCause.RECORDER_RESTART
    assert start_causes(index, cams, 60, restart) == {"cam-a": restart, "cam-b": restart}
    assert start_causes(index, cams, 60, restart) == {"cam-a": restart, "cam-b": restart}
    moved = [RecordedCamera("cam-a", "rtsp://u:secret@10.0.0.9/main", "r"), cams[1]]
    assert start_causes(index, moved, 60, restart) == {"cam-a": GapCause.CONFIG_CHANGE, "cam-b": restart}
    assert start_causes(index, moved, 30, restart) == {"cam-a": GapCause.CONFIG_CHANGE,
                                                       "cam-b": GapCause.CONFIG_CHANGE}
    assert "secret" not in (index.archive / STATE_NAME).read_text()


def test_clips_older_than_the_longest_retention_are_pruned(tmp_path: Path, data_dir: Path) -> None:
    import os

    from custodywatch.recorder.alert_clips import AlertClipper
    from custodywatch.recorder.index import ArchiveIndex

    engine = make_engine(f"sqlite:///{data_dir / 'custodywatch.db'}")
    migrate(engine)
    clips = data_dir / "clips"
    for name, age_days in (("old-alert", 40), ("new-alert", 2)):
        (clips / name).mkdir(parents=True)
        (clips / name / "first.mp4").write_bytes(b"x")
        stamp = time.time() - age_days * 86400
        os.utime(clips / name, (stamp, stamp))
    clipper = AlertClipper(engine, ArchiveIndex(tmp_path / "archive"), clips, RecorderConfig())
    assert clipper.prune(time.time(), 30 * 86400) == ["old-alert"]
    assert sorted(p.name for p in clips.iterdir()) == ["new-alert"]
    engine.dispose()
