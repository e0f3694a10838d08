"""`custodywatch db upgrade|current`: the store's schema on the configured database.

The database is the one `run` would use: --database-url > CUSTODYWATCH_DATABASE_URL > the config
file's store.database_url > SQLite in the data directory.
"""
from __future__ import annotations

import argparse
import sys

from custodywatch import paths

EXIT_USAGE = 2
EXIT_NOT_UP_TO_DATE = 1


def _database_url(args: argparse.Namespace) -> str | None:
    """The URL to use, or None after reporting a bad config file."""
    configured = None
    if args.config:
        from custodywatch.config import ConfigError, load_config

        try:
            configured = load_config(args.config).store.database_url
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return None
    return paths.database_url(configured, args.database_url)


def _fail(message: str) -> int:
    print(f"custodywatch: db: {message}", file=sys.stderr)
    return EXIT_USAGE


def cmd_upgrade(args: argparse.Namespace) -> int:
    from custodywatch.store.revisions import DatabaseError, parse_database_url, upgrade

    url = _database_url(args)
    if url is None:
        return EXIT_USAGE
    try:
        database = parse_database_url(url)
        before, after = upgrade(database)
    except DatabaseError as exc:
        return _fail(str(exc))
    print(f"database: {database.shown}")
    if before.up_to_date:
        print(f"already up to date at {', '.join(after.current)}")
    else:
        was = ", ".join(before.current) or "an empty database"
        print(f"upgraded from {was} to {', '.join(after.current)} "
              f"({len(before.pending)} revision(s) applied)")
    return 0


def cmd_current(args: argparse.Namespace) -> int:
    from custodywatch.store.revisions import DatabaseError, parse_database_url, status

    url = _database_url(args)
    if url is None:
        return EXIT_USAGE
    try:
        database = parse_database_url(url)
        now = status(database)
    except DatabaseError as exc:
        return _fail(str(exc))
    print(f"database: {database.shown}")
    print(f"current: {', '.join(now.current) or 'none (no schema yet)'}")
    print(f"status: {now.describe()}")
    return 0 if now.up_to_date else EXIT_NOT_UP_TO_DATE


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser("db", help="the store's schema: apply migrations, show the revision")
    commands = db.add_subparsers(dest="db_command", required=True)

    s = commands.add_parser("upgrade", help="apply every pending migration to the configured database; "
                                            "prints the revisions reached")
    s.set_defaults(func=cmd_upgrade)

    s = commands.add_parser("current", help="print the database's revisions and whether they are up to "
                                            f"date (exit {EXIT_NOT_UP_TO_DATE} when not)")
    s.set_defaults(func=cmd_current)

    for parser in commands.choices.values():
        parser.add_argument("--config", help="cameras.yaml whose store.database_url names the database")
        parser.add_argument("--database-url", help="SQLAlchemy URL of the store (default: "
                                                   "$CUSTODYWATCH_DATABASE_URL, the config's "
                                                   "store.database_url, or the data dir's SQLite)")
