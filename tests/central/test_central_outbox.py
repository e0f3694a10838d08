"""The box's outbox and the centre taking it: same-transaction writes, idempotence, coalescing."""
from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from central_boxes import T0, fired
from pg_scratch import ScratchDatabases
from sqlalchemy import Engine, select, text

from custodywatch.config import CentralLinkConfig, ConfigError, parse_config
from custodywatch.forwarder import Forwarder
from custodywatch.pipeline.messages import CameraHealth
from custodywatch.recorder.signing import SignedHeads
from custodywatch.rules.custody import CustodyRecord
from custodywatch.store.alerts import AlertNotFound, AlertStore
from custodywatch.store.central import CentralStore, ForwardRejected
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.models import Alert
from custodywatch.store.outbox import Outbox, OutboxKind
from custodywatch.store.rules_state import RulesStateStore


class Clock:
    def __init__(self) -> None:
        self.now = T0 + 10_000

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'box.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def central_url(pg_databases: ScratchDatabases) -> str:
    url = pg_databases.url()
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture
def central(central_url: str) -> Iterator[Engine]:
    engine = make_engine(central_url)
    yield engine
    engine.dispose()


def central_tables(engine: Engine, site: str) -> dict[str, list[Any]]:
    """Everything the centre holds of one site, in a stable order."""
    queries = {
        "alerts": "SELECT * FROM alerts WHERE site_id = :s ORDER BY id",
        "history": "SELECT h.alert_id, h.at, h.kind, h.actor FROM alert_history h JOIN alerts a "
                   "ON a.id = h.alert_id WHERE a.site_id = :s ORDER BY h.alert_id, h.at, h.kind",
        "custody": "SELECT * FROM central_custody WHERE site_id = :s ORDER BY person, check_in",
        "receipts": "SELECT seq, id, kind, key FROM central_receipts WHERE site_id = :s ORDER BY seq",
        "cursor": "SELECT last_seq FROM central_boxes WHERE site_id = :s",
    }
    with engine.connect() as db:
        return {name: [tuple(r) for r in db.execute(text(q), {"s": site})] for name, q in queries.items()}


def test_every_alert_and_custody_change_is_in_the_outbox_with_the_change(box: Engine) -> None:
    alerts, custody, outbox = AlertStore(box, "zh", "box1"), RulesStateStore(box), Outbox(box)
    event = fired("a1", T0)
    alerts.apply(event)
    alerts.apply(event)  # a replay changes nothing, so is not forwarded again
    alerts.acknowledge("a1", "desk")
    with pytest.raises(AlertNotFound):
        alerts.acknowledge("missing", "desk")
    record = CustodyRecord("p1", "interrogation-1", "questioning", False, T0)
    custody.put_custody(record)
    custody.put_custody(dataclasses.replace(record, release=T0 + 3600))

    rows = outbox.after(0, 100)
    assert [(r.seq, r.kind, r.key) for r in rows] == [
        (1, OutboxKind.ALERT, "a1"), (2, OutboxKind.ALERT, "a1"),
        (3, OutboxKind.CUSTODY, f"p1@{T0!r}"), (4, OutboxKind.CUSTODY, f"p1@{T0!r}")]
    assert rows[0].payload["state"] == "new" and rows[1].payload["state"] == "acknowledged"
    assert [h["kind"] for h in rows[1].payload["history"]] == ["fired", "acknowledged"]
    assert rows[2].payload["release"] is None and rows[3].payload["release"] == T0 + 3600
    assert len({r.id for r in rows}) == 4


def test_a_write_that_fails_at_commit_leaves_no_outbox_row(box: Engine) -> None:
    alerts = AlertStore(box, "zh", "box1")
    alerts.apply(fired("a1", T0))
    # The disk refusing the history row stands for any failure at commit.
    with box.begin() as db:
        db.execute(text("CREATE TRIGGER refuse AFTER INSERT ON alert_history WHEN NEW.kind = 'acknowledged' "
                        "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    with pytest.raises(Exception, match="refused"):
        alerts.acknowledge("a1", "desk")
    assert Outbox(box).last_seq() == 1
    assert alerts.get("a1").state == "new"


def test_taking_the_same_rows_again_changes_nothing(box: Engine, central: Engine) -> None:
    alerts, custody, outbox = AlertStore(box, "idem", "box1"), RulesStateStore(box), Outbox(box)
    for i in range(3):
        alerts.apply(fired(f"idem-{i}", T0 + i))
    alerts.acknowledge("idem-1", "desk")
    custody.put_custody(CustodyRecord("p1", "interrogation-1", "questioning", False, T0))
    rows = outbox.after(0, 100)
    store = CentralStore(central)

    assert store.take("idem", "box1", rows[:3]) == 3
    assert store.take("idem", "box1", rows) == 5  # overlapping: only rows 4 and 5 are new
    before = central_tables(central, "idem")
    assert store.take("idem", "box1", rows) == 5
    assert store.take("idem", "box1", rows[1:2]) == 5
    assert central_tables(central, "idem") == before
    assert [r[0] for r in before["receipts"]] == [1, 2, 3, 4, 5]
    states = {a[0]: a for a in before["alerts"]}
    assert len(states) == 3
    assert alerts.get("idem-1").state == "acknowledged"
    with central.connect() as db:
        assert db.scalar(select(Alert.state).where(Alert.id == "idem-1")) == "acknowledged"
    assert before["custody"][0][2:4] == ("p1", T0)


def test_a_box_cannot_overwrite_another_box_alert(box: Engine, central: Engine) -> None:
    AlertStore(box, "own", "box1").apply(fired("shared-id", T0))
    rows = Outbox(box).after(0, 10)
    store = CentralStore(central)
    store.take("own", "box1", rows)
    with pytest.raises(ForwardRejected, match="belongs to own/box1"):
        store.take("other", "box2", rows)
    assert store.last_seq("other", "box2") == 0


def test_health_is_noted_per_camera_at_most_once_an_interval_or_on_a_change(box: Engine) -> None:
    clock = Clock()
    cameras = {"cam-1": CameraHealth("cam-1", connected=True, fps_in=2.0),
               "cam-2": CameraHealth("cam-2", connected=True, fps_in=2.0)}
    link = CentralLinkConfig(database_url="postgresql://fw:secret@127.0.0.1:9/central", health_interval_s=30)
    forwarder = Forwarder(box, link, "zh", "box1", health=lambda: cameras, clock=clock)
    try:
        assert forwarder.note_health() == 2
        for _ in range(10):  # a pass a second: nothing new to note
            clock.now += 1
            assert forwarder.note_health() == 0
        cameras["cam-2"] = CameraHealth("cam-2", connected=False)
        assert forwarder.note_health() == 1
        # Not forwarded yet (the link is down): the pending row takes the news, no row is added.
        assert [(r.key, r.payload["connected"]) for r in Outbox(box).after(0, 100)] == [
            ("cam-1", True), ("cam-2", False)]
        for _ in range(100):  # an outage of 50 min leaves one row per camera
            clock.now += 30
            assert forwarder.note_health() == 2
        assert len(Outbox(box).after(0, 100)) == 2
        Outbox(box).ack(2)
        clock.now += 30
        cameras["cam-1"] = CameraHealth("cam-1", connected=True, fps_in=1.5)
        assert forwarder.note_health() == 2
    finally:
        forwarder.stop()
    rows = Outbox(box).after(0, 100)
    assert [(r.seq, r.key, r.payload["connected"], r.payload["fps_in"]) for r in rows] == [
        (1, "cam-1", True, 2.0), (2, "cam-2", False, 0.0), (3, "cam-1", True, 1.5), (4, "cam-2", False, 0.0)]


def test_signed_chain_heads_are_noted_once_and_held_centrally(box: Engine, central: Engine,
                                                             tmp_path: Path) -> None:
    heads_dir = tmp_path / "signatures"
    heads_dir.mkdir()
    heads = [SignedHeads("arch1", T0 + i, 1000 * (i + 1), f"{i:064x}", "SHA256:k", f"sig{i}")
             for i in range(3)]
    path = heads_dir / "arch1.jsonl"
    path.write_text(heads[0].to_json() + "\n" + heads[1].to_json() + "\n" + heads[2].to_json()[:20])
    link = CentralLinkConfig(database_url="postgresql://fw@127.0.0.1:9/central")

    first = Forwarder(box, link, "heads", "box1", heads_dir=heads_dir)
    assert first.note_chain_heads() == 2  # the half-written third line waits
    with path.open("w") as f:
        f.write("".join(h.to_json() + "\n" for h in heads))
    first._heads_read.clear()  # as after a restart: the whole file is read again
    assert first.note_chain_heads() == 1
    first.stop()
    again = Forwarder(box, link, "heads", "box1", heads_dir=heads_dir)
    assert again.note_chain_heads() == 0
    again.stop()

    CentralStore(central).take("heads", "box1", Outbox(box).after(0, 10))
    with central.connect() as db:
        held = db.execute(text("SELECT index_bytes, signature FROM central_chain_heads "
                               "WHERE site_id = 'heads' ORDER BY index_bytes")).all()
    assert [tuple(r) for r in held] == [(1000, "sig0"), (2000, "sig1"), (3000, "sig2")]


def test_the_central_database_must_be_postgresql_and_its_password_stays_hidden() -> None:
    base = ("rooms: [{id: r1, type: corridor}]\ncameras: [{id: c1, room: r1, detect_url: x.mp4}]\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(base + "central:\n  database_url: mysql://fw:hunter2@db/central\n", "box.yaml")
    message = str(caught.value)
    assert "box.yaml:4: central.database_url" in message and "PostgreSQL" in message
    assert "hunter2" not in message
    cfg = parse_config(base + "central: {database_url: 'postgresql://fw:hunter2@db/central'}\n", "box.yaml")
    assert cfg.central is not None and cfg.central.retry_max_s == 5.0


def test_only_old_rows_the_centre_holds_are_pruned(box: Engine) -> None:
    clock = Clock()
    outbox = Outbox(box, clock=clock)
    for i in range(4):
        outbox.add(OutboxKind.HEALTH, f"cam-{i}", {"n": i})
    outbox.ack(2)
    clock.now += 8 * 86400
    outbox.add(OutboxKind.HEALTH, "cam-new", {"n": 4})
    assert outbox.prune(7 * 86400) == 2  # rows 1 and 2: old and held centrally
    assert [r.seq for r in outbox.after(0, 10)] == [3, 4, 5]
    assert outbox.lag().pending == 3 and outbox.lag().acked_seq == 2
    assert outbox.prune(7 * 86400, target=None) == 2  # no centre: every old row goes
    assert [r.seq for r in outbox.after(0, 10)] == [5]
    clock.now += 8 * 86400
    assert outbox.prune(7 * 86400, target=None) == 1
    outbox.add(OutboxKind.HEALTH, "cam-next", {"n": 5})
    assert outbox.last_seq() == 6  # a sequence number is never used twice, even with the outbox empty


def test_a_postgresql_box_forwards_concurrent_writes_in_commit_order(pg_databases: ScratchDatabases,
                                                                     central: Engine) -> None:
    box = make_engine(pg_databases.url())
    try:
        migrate(box)
        alerts = AlertStore(box, "pgbox", "box1")

        def write(prefix: str) -> None:
            for i in range(15):
                alerts.apply(fired(f"{prefix}-{i}", T0 + i))
                alerts.acknowledge(f"{prefix}-{i}", prefix)

        writers = [threading.Thread(target=write, args=(p,)) for p in ("w1", "w2")]
        for w in writers:
            w.start()
        for w in writers:
            w.join(30)
        rows = Outbox(box).after(0, 1000)
        assert [r.seq for r in rows] == sorted(r.seq for r in rows) and len(rows) == 60
        # Each alert's acknowledgement comes after its firing in the order the centre is sent.
        position = {(r.key, r.payload["state"]): n for n, r in enumerate(rows)}
        assert all(position[(k, "new")] < position[(k, "acknowledged")] for k, _ in position)
        assert CentralStore(central).take("pgbox", "box1", rows) == rows[-1].seq
        with central.connect() as db:
            states = db.execute(text("SELECT state, count(*) FROM alerts WHERE site_id = 'pgbox' "
                                     "GROUP BY state")).all()
        assert [tuple(s) for s in states] == [("acknowledged", 30)]
    finally:
        box.dispose()


def test_a_box_whose_database_was_replaced_is_stopped_not_skipped(box: Engine, central: Engine,
                                                                  tmp_path: Path) -> None:
    for i in range(3):
        AlertStore(box, "reborn", "box1").apply(fired(f"reborn-{i}", T0 + i))
    CentralStore(central).take("reborn", "box1", Outbox(box).after(0, 10))
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate(fresh)
    AlertStore(fresh, "reborn", "box1").apply(fired("reborn-new", T0 + 10))
    link = CentralLinkConfig(database_url=central.url.render_as_string(hide_password=False))
    forwarder = Forwarder(fresh, link, "reborn", "box1")
    try:
        with pytest.raises(ForwardRejected, match="holds rows up to 3 .* outbox ends at 1: its database was"):
            forwarder.forward_once()
        assert Outbox(fresh).acked_seq() == 0  # the new row stays pending, to be sent once resolved
        with central.begin() as db:
            db.execute(text("DELETE FROM central_receipts WHERE site_id = 'reborn'"))
            db.execute(text("DELETE FROM central_boxes WHERE site_id = 'reborn'"))
        assert forwarder.forward_once() == 1
    finally:
        forwarder.stop()
        fresh.dispose()
    with central.connect() as db:
        assert db.scalar(text("SELECT count(*) FROM alerts WHERE site_id = 'reborn'")) == 4
