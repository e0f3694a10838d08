"""`custodywatch central --config central.yaml`: the supervision room's server.

It serves the same API and page as a box, over the central PostgreSQL that boxes forward into
(every alert carries its site and box; custody boards, camera health and chain heads are in the
`central_*` tables), plus the /api/central routes; forwarded alerts are pushed on its live feed
(api/central_feed.py). It runs no cameras: no supervisor, no recorder. Its accounts are its own
(`custodywatch user add --database-url ...` on the central database); SIGINT/SIGTERM stop it
cleanly.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys

import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from custodywatch.central_config import CentralModeConfig, load_central_config
from custodywatch.config import ConfigError, redact_url

log = logging.getLogger("custodywatch.central")
EXIT_USAGE = 2


def run_central(cfg: CentralModeConfig, host: str | None = None, port: int | None = None) -> int:
    from custodywatch.api.app import create_app
    from custodywatch.api.box_links import BoxDirectory
    from custodywatch.api.central_feed import CentralAlertFeed
    from custodywatch.api.events import EventHub
    from custodywatch.forwarder import UNFORWARDED_KEEP_S
    from custodywatch.service import _ReadyAnnouncer, _Server
    from custodywatch.store.accounts import AccountStore
    from custodywatch.store.alerts import AlertStore
    from custodywatch.store.central import CentralStore
    from custodywatch.store.db import make_engine, migrate
    from custodywatch.store.outbox import Outbox

    host = host or cfg.api.host
    port = cfg.api.port if port is None else port
    engine = make_engine(cfg.database_url)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"custodywatch: central database {redact_url(cfg.database_url)}: {reason}", file=sys.stderr)
        engine.dispose()
        return EXIT_USAGE
    # Alert actions taken here go to the centre's own outbox, which nothing forwards: keep it short.
    Outbox(engine).prune(UNFORWARDED_KEEP_S, target=None)
    if AccountStore(engine).user_count() == 0:
        log.warning("no accounts yet on the central database: add one with "
                    "`custodywatch user add NAME --role admin --database-url ...`")
    # The centre writes no alerts of its own; the store's site and box name only its reads.
    store = AlertStore(engine, "central", "central")
    hub = EventHub()
    app = create_app(store, hub, engine=engine, title="custodywatch central",
                     central_feed=CentralAlertFeed(hub, store, CentralStore(engine)))
    app.state.central_boxes = BoxDirectory(cfg.boxes)
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                                    ssl_certfile=cfg.api.tls_cert, ssl_keyfile=cfg.api.tls_key), hub)

    def request_stop(signum: int, _frame: object) -> None:
        server.handle_exit(signum, None)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    _ReadyAnnouncer(server, host, "https" if cfg.api.tls_cert else "http").start()
    try:
        server.run()
    finally:
        engine.dispose()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def cmd_central(args: argparse.Namespace) -> int:
    try:
        cfg = load_central_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    return run_central(cfg, host=args.host, port=args.port)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("central", help="serve the supervision room over the central database of many boxes")
    s.add_argument("--config", required=True, help="central.yaml: database_url, api, boxes")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.set_defaults(func=cmd_central)
