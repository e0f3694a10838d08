"""The alert backlog's spool: alert events the store could not take survive the process that held
them, and the next run writes them with their own times. The store is real PostgreSQL behind a TCP
proxy that refuses connections, as a dead database host does."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from pg_scratch import ScratchDatabases, server_url
from tcp_proxy import TcpProxy

from custodywatch.pipeline.alert_backlog import AlertBacklog
from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.vocabulary import RuleId, Severity

T0 = 1_790_000_000.0
FIRED = AlertEvent("fired", "hold-1:guard_absent:1790000000", RuleId.GUARD_ABSENT, "hold-1", "cam-h",
                   Severity.WARNING, T0, T0 + 60.0, "guard post empty")
ESCALATED = AlertEvent("escalated", FIRED.alert_id, RuleId.GUARD_ABSENT, "hold-1", "cam-h",
                       Severity.ALARM, T0, T0 + 180.0, "guard post empty")


@pytest.fixture
def refusing_store(pg_databases: ScratchDatabases):
    """A migrated scratch database, and a proxy in front of it that the test cuts and restores."""
    name = pg_databases.create()
    direct = make_engine(server_url(name))
    migrate(direct)
    with TcpProxy("127.0.0.1", 5432, mode="refuse") as proxy:
        through = make_engine(server_url(name, "127.0.0.1", proxy.port))
        yield proxy, AlertStore(direct, "site", "box1"), AlertStore(through, "site", "box1")
        through.dispose()
    direct.dispose()


def spooled(path: Path) -> list[tuple[str, float]]:
    return [(d["kind"], d["at"]) for d in map(json.loads, path.read_text().splitlines())]


def test_events_kept_in_an_outage_are_written_by_the_next_run(refusing_store, tmp_path: Path) -> None:
    proxy, direct, through = refusing_store
    spool = tmp_path / "spool" / "analytics-alerts.jsonl"
    proxy.cut()
    dying = AlertBacklog(through.apply, spool=spool)
    dying.add([FIRED])
    assert dying.flush(T0 + 60.0) == []
    dying.add([ESCALATED])
    # On disk before the store is tried again: the process may die at any moment now.
    assert spooled(spool) == [("fired", T0 + 60.0), ("escalated", T0 + 180.0)]
    del dying  # killed in the outage: nothing of it but the spool is left

    proxy.restore()
    next_run = AlertBacklog(through.apply, spool=spool)
    assert next_run.from_last_run == 2
    written = next_run.flush(T0 + 600.0)
    assert [e.kind for e in written] == ["fired", "escalated"]
    assert not spool.exists(), "the spool outlived the events it kept"
    alert = direct.get(FIRED.alert_id)
    assert alert.severity == Severity.ALARM
    assert [(h.kind.value, h.at.timestamp()) for h in alert.history] == [
        ("fired", T0 + 60.0), ("escalated", T0 + 180.0)]


def test_a_spooled_event_already_stored_changes_nothing(refusing_store, tmp_path: Path) -> None:
    _proxy, direct, through = refusing_store
    spool = tmp_path / "alerts.jsonl"
    direct.apply(FIRED)
    # Died after the store took the event and before the spool was emptied.
    spool.write_text(json.dumps(FIRED.to_dict()) + "\n")
    next_run = AlertBacklog(through.apply, spool=spool)
    next_run.flush(T0 + 100.0)
    assert len(direct.get(FIRED.alert_id).history) == 1
    assert direct.list().total == 1
    assert not spool.exists()


def test_a_line_cut_short_by_a_crash_loses_only_itself(refusing_store, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    _proxy, direct, through = refusing_store
    spool = tmp_path / "alerts.jsonl"
    whole = json.dumps(FIRED.to_dict()) + "\n"
    spool.write_text(whole + json.dumps(ESCALATED.to_dict())[:40])
    next_run = AlertBacklog(through.apply, spool=spool)
    assert next_run.from_last_run == 1
    assert f"{spool} line 2 unreadable" in caplog.text
    next_run.flush(T0 + 100.0)
    assert direct.get(FIRED.alert_id).severity == Severity.WARNING


def test_without_an_outage_no_spool_is_left(refusing_store, tmp_path: Path) -> None:
    _proxy, direct, through = refusing_store
    spool = tmp_path / "alerts.jsonl"
    backlog = AlertBacklog(through.apply, spool=spool)
    backlog.add([FIRED])
    backlog.flush(T0 + 60.0)
    assert not spool.exists()
    assert direct.get(FIRED.alert_id).active
