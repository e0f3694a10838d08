"""`custodywatch report`: the per-period report or the shift summary, as CSV or PDF, from the store."""
from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from custodywatch import paths
from custodywatch.config import Config
from custodywatch.report import Report, build_report
from custodywatch.report_csv import report_csv
from custodywatch.report_data import read_period
from custodywatch.report_pdf import report_pdf
from custodywatch.time_args import TimeArgError, parse_time

EXIT_USAGE = 2
SHIFT_HOURS = 8.0


def site_zone(cfg: Config | None) -> tzinfo:
    """The site's time zone (config `site.timezone`), UTC without a config or for an unknown name."""
    if cfg is None:
        return UTC
    try:
        return ZoneInfo(cfg.site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def render(report: Report, fmt: str) -> bytes:
    return report_pdf(report) if fmt == "pdf" else report_csv(report).encode("utf-8")


def _fail(message: str) -> int:
    print(f"custodywatch: report: {message}", file=sys.stderr)
    return EXIT_USAGE


def cmd_report(args: argparse.Namespace) -> int:
    cfg = None
    if args.config is not None:
        from custodywatch.config import ConfigError, load_config

        try:
            cfg = load_config(args.config)
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_USAGE
    zone = site_zone(cfg)
    now = time.time()
    if not args.shift and (args.start is None or args.end is None):
        return _fail("--from and --to are needed (or --shift for the last shift)")
    try:
        end = now if args.end is None else parse_time("--to", args.end, now, zone)
        start = (end - args.shift_hours * 3600 if args.start is None
                 else parse_time("--from", args.start, now, zone))
    except TimeArgError as exc:
        return _fail(str(exc))
    if end <= start:
        return _fail("--to: the period must end after it begins (--from)")
    out = Path(args.output)
    if not out.parent.is_dir():
        return _fail(f"-o: directory {out.parent} does not exist")

    from custodywatch.store.revisions import DatabaseError, open_store

    configured = None if cfg is None else cfg.store.database_url
    try:
        engine = open_store(paths.database_url(configured, args.database_url))
    except DatabaseError as exc:
        return _fail(str(exc))
    try:
        data = read_period(engine, start, end)
    finally:
        engine.dispose()
    report = build_report(data, shift=args.shift, custody=None if cfg is None else cfg.custody, zone=zone,
                          site="" if cfg is None else f"{cfg.site.id}/{cfg.site.box_id}", generated_at=now)
    out.write_bytes(render(report, args.format))
    print(f"{out}: {report.title}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = sub.add_parser("report", help="alerts per room and rule, time to acknowledge, video loss minutes "
                                      "and custody times of a period, as CSV or PDF")
    s.add_argument("--from", dest="start", help="period start: ISO-8601 (in the site's time zone unless one "
                                               "is given), or relative to now as --from=-8h")
    s.add_argument("--to", dest="end", help="period end (default with --shift: now)")
    s.add_argument("--shift", action="store_true",
                   help="a shift summary: also what is unresolved at the end; default period the last "
                        "--shift-hours")
    s.add_argument("--shift-hours", type=float, default=SHIFT_HOURS, help="length of a shift (default 8)")
    s.add_argument("--format", choices=["csv", "pdf"], default="csv")
    s.add_argument("-o", "--output", required=True, help="file to write")
    s.add_argument("--config", help="cameras.yaml: the site's time zone and custody limits")
    s.add_argument("--database-url", help="SQLAlchemy URL of the store (default: $CUSTODYWATCH_DATABASE_URL "
                                          "or the data dir's SQLite)")
    s.set_defaults(func=cmd_report)
