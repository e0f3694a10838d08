"""Two boxes forward to one central PostgreSQL through links a test cuts for a minute.

One link is a black hole (the realistic cut: packets vanish, only timeouts notice), the other
refuses. Alerts fired and acknowledged during the cut must reach the centre once, in each box's
order, soon after the link returns.
"""
from __future__ import annotations

import time
from pathlib import Path

from central_boxes import PASSWORD, Box, ended, wait_for
from pg_scratch import ScratchDatabases, server_url
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy

from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.outbox import Outbox

CUT_S = 60.0
CATCH_UP_S = 20.0  # connect timeout 2 s + back-off capped at 2 s, with room for a loaded machine


def test_alerts_fired_while_the_link_is_cut_arrive_once_and_in_order(pg_databases: ScratchDatabases,
                                                                   tmp_path: Path) -> None:
    name = pg_databases.create()
    central = make_engine(server_url(name))
    migrate(central)
    target = make_url(server_url(name))
    host, port = target.host or "127.0.0.1", target.port or 5432
    with TcpProxy(host, port, "blackhole") as hole, TcpProxy(host, port, "refuse") as refusing:
        boxes = [Box("site-a", "box1", tmp_path, server_url(name, host, hole.port)),
                 Box("site-b", "box7", tmp_path, server_url(name, host, refusing.port))]
        try:
            for box in boxes:
                box.forwarder.start()
                for _ in range(3):
                    box.fire()
            for box in boxes:
                wait_for(lambda b=box: b.forwarder.status().pending == 0, 15, f"{box.box_id} forwarded")
            assert central_count(central) == 6

            hole.cut()
            refusing.cut()
            cut_at = time.monotonic()
            during: dict[str, list[str]] = {}
            for box in boxes:
                box.alerts.acknowledge(box.fired[0], "desk")
                during[box.box_id] = [box.fire().alert_id for _ in range(2)]
            for box in boxes:
                wait_for(lambda b=box: not b.forwarder.status().connected, 15, f"{box.box_id} sees the cut")
            time.sleep(CUT_S / 2 - (time.monotonic() - cut_at))
            for box in boxes:
                box.alerts.acknowledge(during[box.box_id][0], "desk")
                last = box.fire()
                box.alerts.apply(ended(last, last.at + 30))
            time.sleep(CUT_S - (time.monotonic() - cut_at))
            for box in boxes:
                status = box.forwarder.status()
                assert not status.connected and status.failures >= 3 and status.last_error
                assert PASSWORD not in status.last_error
                assert status.pending == 6  # 2 acknowledgements, 3 fired, 1 ended, by this box
                assert status.oldest_age_s is not None and status.oldest_age_s >= CUT_S - 5
            assert central_count(central) == 6  # nothing got through the cut
            # The black hole is noticed by a timeout, the refusing link by the closed connection.
            assert "timeout" in (boxes[0].forwarder.status().last_error or "").lower()

            hole.restore()
            refusing.restore()
            for box in boxes:
                box.fire()
            caught_up = max(wait_for(lambda b=box: b.forwarder.status().pending == 0, CATCH_UP_S,
                                     f"{box.box_id} caught up") for box in boxes)
            print(f"caught up {caught_up:.1f} s after the link returned")

            for box in boxes:
                assert_mirrored(central, box)
                assert box.forwarder.status().connected
        finally:
            for box in boxes:
                box.close()
            central.dispose()


def central_count(central: Engine) -> int:
    with central.connect() as db:
        return int(db.scalar(text("SELECT count(*) FROM alerts")) or 0)


def assert_mirrored(central: Engine, box: Box) -> None:
    """The centre holds exactly the box's alerts as the box holds them, taken once each in order."""
    held = AlertStore(central, "central", "central")
    page = held.list(limit=1000)
    mine = {a.id: a for a in page.items if (a.site_id, a.box_id) == (box.site_id, box.box_id)}
    assert sorted(mine) == sorted(box.fired)
    for alert_id in box.fired:
        local, central_view = box.alerts.get(alert_id), mine[alert_id]
        assert central_view.model_dump() == local.model_dump()
    assert mine[box.fired[0]].state == "acknowledged" and mine[box.fired[0]].acknowledged_by == "desk"
    assert sum(1 for a in mine.values() if not a.active) == 1

    outbox = Outbox(box.engine).after(0, 1000)
    with central.connect() as db:
        receipts = db.execute(text(
            "SELECT seq, id, received_at FROM central_receipts WHERE site_id = :s AND box_id = :b "
            "ORDER BY seq"),
            {"s": box.site_id, "b": box.box_id}).all()
        last_seq = db.scalar(text("SELECT last_seq FROM central_boxes WHERE site_id = :s AND box_id = :b"),
                             {"s": box.site_id, "b": box.box_id})
    assert [(r.seq, r.id) for r in receipts] == [(e.seq, e.id) for e in outbox]
    assert [r.seq for r in receipts] == list(range(1, len(outbox) + 1))
    received = [r.received_at for r in receipts]
    assert received == sorted(received)
    assert last_seq == outbox[-1].seq
