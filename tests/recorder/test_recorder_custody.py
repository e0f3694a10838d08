"""Custody records protect their room's footage from retention (open ones always; released ones for
the retention period after the release), and export and holds by custody record take the record's
room's cameras from check-in to release (or now)."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from recorder_helpers import segments
from sqlalchemy import Engine

from custodywatch.cli import main
from custodywatch.config import RecorderConfig
from custodywatch.recorder.catalog import CatalogSegments, RecorderCatalog
from custodywatch.recorder.index import ArchiveIndex, SegmentRecord
from custodywatch.recorder.retention import DAY_S, RetentionPolicy, RetentionResult, RetentionRules
from custodywatch.recorder.service import footage_protection
from custodywatch.rules.custody import CustodyRecord
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.rules_state import RulesStateStore

ROOMS = {"cam-f": "holding-1", "cam-g": "holding-1", "cam-o": "interrogation-1"}
CONFIG = """
rooms:
  - {id: holding-1, type: holding}
  - {id: interrogation-1, type: interrogation}
cameras:
  - id: cam-f
    room: holding-1
    detect_url: rtsp://10.0.0.1/sub
    zones:
      detainee_area: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
      guard_post: [[0.6, 0], [1, 0], [1, 1], [0.6, 1]]
  - {id: cam-g, room: holding-1, detect_url: rtsp://10.0.0.2/sub}
  - id: cam-o
    room: interrogation-1
    detect_url: rtsp://10.0.0.3/sub
    zones:
      detainee_seat: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
      officer_area: [[0.6, 0], [1, 0], [1, 1], [0.6, 1]]
"""


def record(media: dict[str, Path], archive: Path, camera: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", str(media["aac"]), "--out", str(archive), "--seconds", "30", "--segment-s", "2",
                 "--camera", camera]) == 0
    capsys.readouterr()


@pytest.fixture
def archive(media: dict[str, Path], data_dir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = data_dir / "archive"  # the default archive: export finds it without --archive
    for camera in ("cam-f", "cam-o", "cam-g"):
        record(media, out, camera, capsys)
    # A file is stamped from when its import began: the three start within a second of each other, so
    # times in the middle of cam-f's 2 s segments fall in the same segments of the others.
    starts = [of(out, c)[0].start for c in ("cam-f", "cam-o", "cam-g")]
    assert 0 < starts[1] - starts[0] < starts[2] - starts[0] < 1.0
    return out


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "cameras.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{data_dir / 'custodywatch.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def of(archive: Path, camera: str) -> list[SegmentRecord]:
    return [s for s in segments(archive) if s.camera == camera]


def retention(archive: Path, engine: Engine, rules: RetentionRules, now: float,
              source: str) -> RetentionResult:
    """Retention as the service runs it: the service's protection, over the index or the mirror."""
    index = ArchiveIndex(archive)
    catalog = RecorderCatalog(engine, clock=lambda: now)
    seg_source = None
    if source == "catalog":
        catalog.catch_up(index)
        seg_source = CatalogSegments(engine, index.id)
    protected = footage_protection(engine, RecorderConfig(pre_roll_s=0.2, post_roll_s=0.2), rules)
    result = RetentionPolicy(index, rules, protected, clock=lambda: now, segments=seg_source).run()
    catalog.mirror(index.id, result.records)
    return result


@pytest.mark.parametrize("source", ["index", "catalog"])
def test_an_open_custody_keeps_its_rooms_footage_and_the_rest_ages_out(
        archive: Path, engine: Engine, source: str) -> None:
    f1, f2, f3, f4 = of(archive, "cam-f")
    store = RulesStateStore(engine)
    store.put_custody(CustodyRecord("p-0412", "holding-1", "summons", False, f2.start + 1.0))
    # A record of another room released long ago protects nothing of holding-1.
    store.put_custody(CustodyRecord("p-0001", "interrogation-1", "questioning", False, f1.start, f1.end))
    now = segments(archive)[-1].end + 3 * DAY_S
    result = retention(archive, engine, RetentionRules(max_age_days=1, camera_rooms=ROOMS), now, source)
    # Open: check-in to now, on every camera of the room; cam-o is in another room and goes, as does
    # the room's footage from before the check-in.
    g1, g2, g3, g4 = of(archive, "cam-g")
    deleted = {d.path for d in result.deleted}
    assert deleted == {f1.path, g1.path, *(s.path for s in of(archive, "cam-o"))}
    assert result.kept_protected == 6
    assert all((archive / s.path).exists() for s in [f2, f3, f4, g2, g3, g4])
    assert not (archive / f1.path).exists()
    assert main(["verify", str(archive)]) == 0


def test_a_released_custody_is_kept_whole_for_the_retention_period_after_the_release(
        archive: Path, engine: Engine) -> None:
    f1, f2, f3, f4 = of(archive, "cam-f")
    g1, g2, g3, g4 = of(archive, "cam-g")
    o1, o2, o3, o4 = of(archive, "cam-o")
    release = f3.start + 1.0
    RulesStateStore(engine).put_custody(CustodyRecord("p-0412", "holding-1", "summons", False, f2.start + 1.0,
                                                      release))
    two_s = RetentionRules(max_age_days=2.0 / DAY_S, camera_rooms=ROOMS)
    # f2 is older than 2 s, but it is custody footage and the release was less than 2 s ago.
    result = retention(archive, engine, two_s, release + 1.5, "catalog")
    aged = {d.path for d in result.deleted}
    assert {f1.path, g1.path, o1.path} <= aged and f2.path not in aged and result.kept_protected >= 1
    # The quota takes unprotected footage first, then raises the alarm rather than delete custody.
    result = retention(archive, engine, RetentionRules(quota_bytes=1, camera_rooms=ROOMS), release + 0.5,
                       "catalog")
    assert aged | {d.path for d in result.deleted} == {f1.path, g1.path, o1.path, o2.path, o3.path, o4.path,
                                                       f4.path, g4.path}
    assert result.alarm is not None and "4 protected segments" in result.alarm
    # Once the retention period since the release has passed, the custody's footage ages out too.
    result = retention(archive, engine, two_s, release + 4.0, "catalog")
    assert {d.path for d in result.deleted} == {f2.path, f3.path, g2.path, g3.path}


def test_export_by_custody_covers_its_rooms_cameras_from_check_in_to_release(
        archive: Path, engine: Engine, config: Path, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    f1, f2, f3, f4 = of(archive, "cam-f")
    g1, g2, g3, g4 = of(archive, "cam-g")
    check_in, release = f2.start + 1.0, f3.start + 1.0
    store = RulesStateStore(engine)
    store.put_custody(CustodyRecord("p-0412", "holding-1", "summons", True, check_in, release))
    store.put_custody(CustodyRecord("p-0413", "holding-1", "questioning", False, f1.start - 5.0))
    pkg = tmp_path / "custody-pkg"
    assert main(["export", "--custody", "1", "--config", str(config), "-o", str(pkg)]) == 0
    capsys.readouterr()
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert manifest["range"] == {"start": check_in, "end": release}
    assert manifest["cameras"] == ["cam-f", "cam-g"], "the room's cameras, not cam-o's room"
    assert [s["path"] for s in manifest["segments"]] == [
        f"segments/{s.path}" for s in (f2, f3, g2, g3)]
    assert manifest["subject"] == {"custody": 1, "person": "p-0412", "room": "holding-1",
                                   "legal_basis": "summons", "check_in": check_in, "release": release}
    pubkey = str(data_dir / "keys" / "box_ed25519.pub.pem")
    assert main(["verify", str(pkg), "--pubkey", pubkey]) == 0
    # An open record, named by its person's id (they have one record): up to now. A file's import is
    # stamped from when it began, so its later segments lie after now and are not in the range.
    before = time.time()
    code = main(["export", "--custody", "p-0413", "--config", str(config), "-o", str(tmp_path / "open")])
    after = time.time()
    assert code == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / "open" / "manifest.json").read_text())
    assert manifest["range"]["start"] == f1.start - 5.0 and before <= manifest["range"]["end"] <= after
    paths = [s["path"] for s in manifest["segments"]]
    assert paths[0] == f"segments/{f1.path}" and f"segments/{g1.path}" in paths
    assert all(s["start"] < after for s in manifest["segments"])


def test_hold_by_custody_holds_the_rooms_cameras_and_protects_the_footage(
        archive: Path, engine: Engine, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f1, f2, f3, f4 = of(archive, "cam-f")
    check_in, release = f2.start + 1.0, f3.start + 1.0
    RulesStateStore(engine).put_custody(CustodyRecord("p-0412", "holding-1", "summons", False, check_in,
                                                      release))
    assert main(["hold", "create", "--custody", "1", "--config", str(config), "--reason", "complaint 17",
                 "--by", "inspector-li"]) == 0
    assert "custody 1" in capsys.readouterr().out
    (hold,) = RecorderCatalog(engine).holds()
    assert (hold.cameras, hold.start, hold.end) == (["cam-f", "cam-g"], check_in, release)
    assert hold.custody_id == "1" and hold.reason == "complaint 17"
    assert main(["hold", "list", "--config", str(config)]) == 0
    assert f"{hold.id}  cam-f,cam-g" in (listed := capsys.readouterr().out) and "custody 1" in listed
    # Long after the custody's own protection has lapsed, the hold keeps f2 and f3.
    now = segments(archive)[-1].end + 30 * DAY_S
    result = retention(archive, engine, RetentionRules(max_age_days=1, camera_rooms=ROOMS), now, "catalog")
    assert f2.path not in {d.path for d in result.deleted} and f3.path not in {d.path for d in result.deleted}
    assert {f1.path, f4.path} <= {d.path for d in result.deleted}


@pytest.mark.parametrize(("args", "message"), [
    (["--custody", "9"], "--custody: no custody record '9'"),
    (["--custody", "p-nobody"], "--custody: no custody record 'p-nobody'"),
    (["--custody", "p-0412"], "'p-0412' has 2 custody records: 1 (p-0412 in holding-1"),
    (["--custody", "3"], "room 'corridor-9' has no cameras"),
])
def test_unknown_or_ambiguous_custody_ids_are_named_with_exit_2(
        archive: Path, engine: Engine, config: Path, tmp_path: Path, args: list[str], message: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    store = RulesStateStore(engine)
    store.put_custody(CustodyRecord("p-0412", "holding-1", "summons", False, 100.0, 200.0))
    store.put_custody(CustodyRecord("p-0412", "holding-1", "summons", False, 300.0))
    store.put_custody(CustodyRecord("p-0500", "corridor-9", "summons", False, 300.0))
    assert main(["export", *args, "--config", str(config), "-o", str(tmp_path / "p")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
    assert main(["hold", "create", *args, "--config", str(config), "--reason", "x"]) == 2
    assert message in capsys.readouterr().err
    assert RecorderCatalog(engine).holds() == []


def test_custody_needs_the_config_and_its_own_range(archive: Path, engine: Engine, config: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--custody", "1", "-o", "p"]) == 2
    assert "give --config too" in capsys.readouterr().err
    assert main(["hold", "create", "--custody", "1", "--config", str(config), "--camera", "cam-f",
                 "--reason", "x"]) == 2
    assert "--custody takes its cameras and range from the record" in capsys.readouterr().err
