"""Retention deletes only what it may; holds and alerts protect footage; the quota alarm is raised
instead of deleting evidence; every deletion is chained, logged and audited. Holds by CLI."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from recorder_helpers import records, segments
from sqlalchemy import Engine

from custodywatch.cli import main
from custodywatch.recorder.catalog import CatalogSegments, RecorderCatalog
from custodywatch.recorder.index import ArchiveIndex, DeletionRecord, SegmentRecord
from custodywatch.recorder.retention import DAY_S, Deleted, RetentionPolicy, RetentionResult, RetentionRules
from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.vocabulary import RuleId, Severity


@pytest.fixture
def archive(media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "archive"
    assert main(["record", str(media["aac"]), "--out", str(out), "--seconds", "30", "--segment-s", "2",
                 "--camera", "cam-f"]) == 0
    capsys.readouterr()
    return out


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{data_dir / 'custodywatch.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store_engine(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The store on SQLite and on PostgreSQL in turn, where the CLI finds it too."""
    monkeypatch.setenv("CUSTODYWATCH_DATABASE_URL", store_url)
    engine = make_engine(store_url)
    migrate(engine)
    yield engine
    engine.dispose()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def hold_by_cli(capsys: pytest.CaptureFixture[str], seg: SegmentRecord, reason: str = "case 2026-117") -> str:
    assert main(["hold", "create", "--camera", seg.camera, "--from", iso(seg.start + 0.5),
                 "--to", iso(seg.end - 0.5), "--reason", reason, "--by", "inspector-li"]) == 0
    return capsys.readouterr().out.split()[0]


def fire_alert(engine: Engine, seg: SegmentRecord) -> None:
    # An alert whose condition began in this segment and ended at once: protected with its rolls.
    at = seg.start + 1.0
    for kind in ("fired", "ended"):
        AlertStore(engine, "site", "box1").apply(AlertEvent(
            kind=kind, alert_id="a-1", rule=RuleId.SINGLE_OFFICER, room="interrogation-1", camera=seg.camera,
            severity=Severity.ALARM, condition_started_at=at - 0.5, at=at))


class Policy:
    """Retention as the service runs it: over the index file alone, or over the database mirror."""

    def __init__(self, archive: Path, engine: Engine, source: str):
        self.index = ArchiveIndex(archive)
        self.engine = engine
        self.source = source

    def run(self, rules: RetentionRules, now: float) -> RetentionResult:
        catalog = RecorderCatalog(self.engine, clock=lambda: now)
        segments = None
        if self.source == "catalog":
            catalog.catch_up(self.index)
            segments = CatalogSegments(self.engine, self.index.id)

        def audit(d: Deleted) -> None:
            catalog.audit("segment_deleted", d.reason, camera=d.camera, subject=d.path)

        result = RetentionPolicy(
            self.index, rules, lambda s, e: catalog.protected(s, e, 0.2, 0.2, {"cam-f": "interrogation-1"}),
            audit, clock=lambda: now, segments=segments).run()
        catalog.mirror(self.index.id, result.records)
        return result


@pytest.fixture(params=["index", "catalog"])
def policy(request: pytest.FixtureRequest, archive: Path, engine: Engine) -> Policy:
    return Policy(archive, engine, request.param)


def test_aged_footage_is_deleted_except_what_a_hold_or_an_alert_covers(
        archive: Path, engine: Engine, policy: Policy, capsys: pytest.CaptureFixture[str]) -> None:
    s1, s2, s3, s4 = segments(archive)
    hold_by_cli(capsys, s2)
    fire_alert(engine, s4)
    now = s4.end + 3 * DAY_S
    result = policy.run(RetentionRules(max_age_days=1), now)
    assert [d.path for d in result.deleted] == [s1.path, s3.path]
    assert result.kept_protected == 2 and result.alarm is None
    assert not (archive / s1.path).exists() and not (archive / s3.path).exists()
    assert (archive / s2.path).exists() and (archive / s4.path).exists()
    deletions = [r for r in records(archive) if isinstance(r, DeletionRecord)]
    assert [(d.path, d.sha256) for d in deletions] == [(s1.path, s1.sha256), (s3.path, s3.sha256)]
    # The deletions are in the chain: the archive still verifies, and says what retention removed.
    assert main(["verify", str(archive)]) == 0
    assert capsys.readouterr().out.startswith("OK: 2 segments, 0 gaps, 2 deleted by retention")
    audit = RecorderCatalog(engine).audit_log()
    assert [(a[2], a[4]) for a in audit] == [("hold_created", audit[0][4]), ("segment_deleted", s1.path),
                                             ("segment_deleted", s3.path)]


def test_age_limits_per_room_and_camera(archive: Path, policy: Policy) -> None:
    last = segments(archive)[-1]
    now = last.end + 5 * DAY_S
    rooms = RetentionRules(max_age_days=1, by_room_days={"interrogation-1": 30},
                           camera_rooms={"cam-f": "interrogation-1"})
    assert policy.run(rooms, now).deleted == []
    camera = RetentionRules(max_age_days=30, by_camera_days={"cam-f": 2})
    assert len(policy.run(camera, now).deleted) == 4


def test_a_quota_that_needs_protected_footage_raises_the_alarm_and_keeps_it(
        archive: Path, engine: Engine, policy: Policy, capsys: pytest.CaptureFixture[str]) -> None:
    s1, s2, s3, s4 = segments(archive)
    hold_by_cli(capsys, s2)
    hold_by_cli(capsys, s4)
    now = s4.end + 60
    result = policy.run(RetentionRules(max_age_days=180, quota_bytes=s1.size), now)
    assert [d.path for d in result.deleted] == [s1.path, s3.path], "unprotected footage goes first"
    assert result.alarm is not None
    assert "cannot be met" in result.alarm and "2 protected segments" in result.alarm
    assert (archive / s2.path).exists() and (archive / s4.path).exists()
    # Once the hold is released, the quota is met by deleting the oldest.
    hold_id = RecorderCatalog(engine).holds()[0].id
    assert main(["hold", "release", hold_id, "--reason", "case closed", "--by", "inspector-li"]) == 0
    result = policy.run(RetentionRules(max_age_days=180, quota_bytes=s4.size), now)
    assert [d.path for d in result.deleted] == [s2.path] and result.alarm is None


def test_holds_by_cli_are_listed_released_and_audited(store_engine: Engine,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    t = 1_790_000_000.0
    assert main(["hold", "create", "--camera", "cam-a", "--camera", "cam-b", "--from", iso(t),
                 "--to", iso(t + 60),
                 "--reason", "complaint 17", "--by", "inspector-li"]) == 0
    hold_id = capsys.readouterr().out.split()[0]
    assert main(["hold", "list"]) == 0
    listed = capsys.readouterr().out
    assert hold_id in listed and "cam-a,cam-b" in listed and "active" in listed and "complaint 17" in listed
    assert main(["hold", "release", hold_id, "--reason", "complaint withdrawn", "--by", "chief-wang"]) == 0
    capsys.readouterr()
    assert main(["hold", "list"]) == 0 and hold_id not in capsys.readouterr().out
    assert main(["hold", "list", "--all"]) == 0 and "released" in capsys.readouterr().out
    audit = RecorderCatalog(store_engine).audit_log()
    assert [(a[1], a[2], a[4]) for a in audit] == [("inspector-li", "hold_created", hold_id),
                                                   ("chief-wang", "hold_released", hold_id)]


@pytest.mark.parametrize(("args", "message"), [
    (["create", "--camera", "cam-a", "--from", "2026-01-02T00:00:00", "--to", "2026-01-01T00:00:00",
      "--reason", "x"], "must be after its start"),
    (["create", "--camera", "cam-a", "--from", "yesterday", "--to", "2026-01-01T00:00:00", "--reason", "x"],
     "--from: 'yesterday' is neither seconds nor an ISO-8601 time"),
    (["create", "--from", "2026-01-01T00:00:00", "--to", "2026-01-02T00:00:00", "--reason", "x"],
     "--camera: name the cameras"),
    (["create", "--custody", "c-9", "--reason", "x"], "--custody c-9: give --config too"),
    (["create", "--camera", "cam-a", "--from", "2026-01-01T00:00:00", "--to", "2026-01-02T00:00:00",
      "--reason", "  "], "a hold needs a reason"),
    (["release", "nope", "--reason", "x"], "no hold 'nope'"),
])
def test_bad_hold_input_is_named_with_exit_2(args: list[str], message: str, engine: Engine,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hold", *args]) == 2
    assert message in capsys.readouterr().err


def test_the_database_mirror_catches_up_from_the_end_of_the_index(archive: Path, engine: Engine) -> None:
    index = ArchiveIndex(archive)
    everything = list(index.records())
    assert list(index.records_reversed(block=97)) == everything[::-1], "block boundaries split lines"
    catalog = RecorderCatalog(engine)
    assert catalog.mirror(index.id, everything[:2]) == 2
    assert catalog.catch_up(index) == len(everything) - 2
    assert catalog.catch_up(index) == 0
    assert CatalogSegments(engine, index.id).used_bytes() == sum(s.size for s in segments(archive))
