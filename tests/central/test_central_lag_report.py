"""The box reports its link to the centre: lag in /healthz and /metrics, no credentials anywhere."""
from __future__ import annotations

import time
from pathlib import Path

import httpx
from central_boxes import PASSWORD, Box, wait_for
from central_servers import serving
from pg_scratch import ScratchDatabases, server_url
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy

from custodywatch.api.app import api_only_health, create_app
from custodywatch.api.events import EventHub
from custodywatch.api.forwarding_metrics import ForwardingCollector
from custodywatch.config import parse_config
from custodywatch.forwarder import start_forwarding, with_forwarding
from custodywatch.store.accounts import AccountStore, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.outbox import Outbox, OutboxKind


def metric(client: httpx.Client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_healthz_and_metrics_show_the_lag_while_the_link_is_down(pg_databases: ScratchDatabases,
                                                                 tmp_path: Path) -> None:
    name = pg_databases.create()
    central = make_engine(server_url(name))
    migrate(central)
    central.dispose()
    target = make_url(server_url(name))
    with TcpProxy(target.host or "127.0.0.1", target.port or 5432, "refuse") as link:
        link.cut()
        box = Box("site-l", "box1", tmp_path, server_url(name, "127.0.0.1", link.port))
        try:
            box.fire()
            box.fire()
            box.forwarder.start()
            wait_for(lambda: box.forwarder.status().failures >= 2, 10, "the forwarder tried twice")
            hub = EventHub()
            app = create_app(box.alerts, hub, engine=box.engine,
                             health=lambda: with_forwarding(api_only_health(), box.forwarder))
            app.state.services.metrics.register(ForwardingCollector(box.forwarder.status))
            with serving(app, hub) as url, httpx.Client(base_url=url, timeout=5) as client:
                response = client.get("/healthz")
                # A box cut off from the centre still works: healthy, with the lag shown.
                assert response.status_code == httpx.codes.OK
                body = response.json()
                assert body["processes"]["forwarder"] is True
                forwarding = body["forwarding"]
                assert forwarding["connected"] is False and forwarding["pending"] == 2
                assert forwarding["oldest_pending_age_s"] >= 0 and forwarding["failures"] >= 2
                assert f"port {link.port} failed" in forwarding["last_error"]
                assert PASSWORD not in response.text and PASSWORD not in client.get("/metrics").text
                assert metric(client, "custodywatch_forward_pending_rows") == 2
                assert metric(client, "custodywatch_forward_connected") == 0

                link.restore()
                wait_for(lambda: box.forwarder.status().pending == 0, 15, "caught up")
                assert metric(client, "custodywatch_forward_pending_rows") == 0
                assert metric(client, "custodywatch_forward_connected") == 1
                assert metric(client, "custodywatch_forward_acked_seq") == 2
                assert client.get("/healthz").json()["forwarding"]["last_error"] is None
        finally:
            box.close()


def test_the_service_forwards_only_with_a_central_section(tmp_path: Path) -> None:
    base = "rooms: [{id: r1, type: corridor}]\ncameras: [{id: c1, room: r1, detect_url: x.mp4}]\n"
    engine = make_engine(f"sqlite:///{tmp_path / 'box.db'}")
    migrate(engine)
    try:
        outbox = Outbox(engine, clock=lambda: time.time() - 8 * 86400)
        outbox.add(OutboxKind.HEALTH, "c1", {"old": True})
        Outbox(engine).add(OutboxKind.HEALTH, "c1", {"old": False})
        # No centre: no forwarder, and the outbox keeps only a week.
        assert start_forwarding(parse_config(base), engine, None, tmp_path) is None
        assert [r.payload for r in Outbox(engine).after(0, 10)] == [{"old": False}]

        cfg = parse_config(base + "central: {database_url: 'postgresql://fw:pw@127.0.0.1:9/c', "
                                  "retry_max_s: 0.5, connect_timeout_s: 1}\n")
        forwarder = start_forwarding(cfg, engine, None, tmp_path)
        assert forwarder is not None
        try:
            wait_for(lambda: forwarder.status().failures >= 1, 10, "a first attempt")
            report = with_forwarding(api_only_health(), forwarder)
            assert report.healthy and report.processes["forwarder"]
            assert report.forwarding is not None and report.forwarding.pending == 1
        finally:
            forwarder.stop()
        assert not with_forwarding(api_only_health(), forwarder).processes["forwarder"]
    finally:
        engine.dispose()


def test_the_admin_config_view_hides_the_forwarder_password(tmp_path: Path) -> None:
    cfg = parse_config("rooms: [{id: r1, type: corridor}]\ncameras: [{id: c1, room: r1, detect_url: x.mp4}]\n"
                       f"central: {{database_url: 'postgresql://fw:{PASSWORD}@db.district/c'}}\n")
    engine = make_engine(f"sqlite:///{tmp_path / 'box.db'}")
    migrate(engine)
    try:
        AccountStore(engine).add_user("boss", Role.ADMIN, "boss password")
        hub = EventHub()
        app = create_app(AlertStore(engine, "s", "b"), hub, engine=engine, config=cfg)
        with serving(app, hub) as url, httpx.Client(base_url=url, timeout=5) as client:
            login = client.post("/api/auth/login", json={"username": "boss", "password": "boss password"})
            bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
            shown = client.get("/api/config", headers=bearer)
        assert shown.status_code == 200
        assert shown.json()["central"]["database_url"] == "postgresql://***@db.district/c"
        assert PASSWORD not in shown.text
    finally:
        engine.dispose()
