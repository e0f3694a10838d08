"""`custodywatch maintenance start|end|list`: cameras' maintenance windows from the box's shell.

The same store and audit log as the API (`/api/maintenance`); the running service picks a new or
ended window up within seconds.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

from custodywatch import paths
from custodywatch.rules.maintenance import MaintenanceWindow
from custodywatch.store.accounts import AuditLog
from custodywatch.store.maintenance import MaintenanceError, MaintenanceStore
from custodywatch.time_args import TimeArgError, parse_time

EXIT_USAGE = 2
ACTOR = "cli"
RECENT_S = 24 * 3600


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def describe(w: MaintenanceWindow) -> str:
    ended = "" if w.ended_at is None else f"\tended {_iso(w.ended_at)} by {w.ended_by}"
    return f"{w.id}\t{w.camera}\t{_iso(w.start)} .. {_iso(w.until)}\tby {w.started_by}\t{w.reason}{ended}"


def _with_store(args: argparse.Namespace, action: Callable[[MaintenanceStore, AuditLog], int]) -> int:
    from custodywatch.store.revisions import DatabaseError, open_store

    try:
        engine = open_store(paths.database_url(None, args.database_url))
    except DatabaseError as exc:
        print(f"custodywatch: maintenance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return action(MaintenanceStore(engine), AuditLog(engine))
    except MaintenanceError as exc:
        print(f"custodywatch: maintenance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        engine.dispose()


def _check_camera(args: argparse.Namespace) -> tuple[str | None, tzinfo]:
    """With --config: an error when it does not know the camera, and the site's time zone."""
    if args.config is None:
        return None, UTC
    from custodywatch.config import ConfigError, load_config
    from custodywatch.report_commands import site_zone

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        return str(exc), UTC
    cameras = [c.id for c in cfg.cameras]
    if args.camera not in cameras:
        return (f"--camera: unknown camera {args.camera!r} in {args.config} (cameras: {', '.join(cameras)})",
                UTC)
    return None, site_zone(cfg)


def cmd_start(args: argparse.Namespace) -> int:
    problem, zone = _check_camera(args)
    now = time.time()
    try:
        if problem is not None:
            raise TimeArgError(problem)
        until = parse_time("--until", args.until, now, zone)
        start = None if args.start is None else parse_time("--start", args.start, now, zone)
    except TimeArgError as exc:
        print(f"custodywatch: maintenance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    actor = args.by or ACTOR

    def start_window(store: MaintenanceStore, audit: AuditLog) -> int:
        w = store.start(args.camera, until, args.reason, actor, start)
        audit.append(actor, "maintenance_start", w.camera, window=w.id, reason=w.reason, start=w.start,
                     until=w.until)
        print(describe(w))
        return 0

    return _with_store(args, start_window)


def cmd_end(args: argparse.Namespace) -> int:
    actor = args.by or ACTOR

    def end_window(store: MaintenanceStore, audit: AuditLog) -> int:
        w = store.end(args.id, actor)
        audit.append(actor, "maintenance_end", w.camera, window=w.id, ended_at=w.ended_at)
        print(describe(w))
        return 0

    return _with_store(args, end_window)


def cmd_list(args: argparse.Namespace) -> int:
    def show(store: MaintenanceStore, _audit: AuditLog) -> int:
        for w in store.windows(time.time() - RECENT_S, args.camera):
            print(describe(w))
        return 0

    return _with_store(args, show)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("maintenance", help="cameras being serviced: no video_loss while a window is open")
    commands = p.add_subparsers(dest="maintenance_command", required=True)

    s = commands.add_parser("start", help="open a maintenance window for a camera")
    s.add_argument("--camera", required=True)
    s.add_argument("--until", required=True,
                   help="planned end: ISO-8601 (without a zone: the site's with --config, else UTC) "
                        "or +N[smhd] from now")
    s.add_argument("--reason", required=True)
    s.add_argument("--start", help="when it begins (default: now)")
    s.add_argument("--config", help="cameras.yaml, to check the camera exists")
    s.set_defaults(func=cmd_start)

    s = commands.add_parser("end", help="end a maintenance window now")
    s.add_argument("id", type=int)
    s.set_defaults(func=cmd_end)

    s = commands.add_parser("list", help="open windows, windows to come and those ended in the last 24 h")
    s.add_argument("--camera")
    s.set_defaults(func=cmd_list)

    for parser in (commands.choices["start"], commands.choices["end"]):
        parser.add_argument("--by", help="who is doing it, for the audit log (default: cli)")
    for parser in commands.choices.values():
        parser.add_argument("--database-url", help="SQLAlchemy URL of the store (default: "
                                                   "$CUSTODYWATCH_DATABASE_URL or the data dir's SQLite)")
