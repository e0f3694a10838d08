"""Subcommands for installing and keeping a box: keys, bundle, backup, restore.

Exit codes: 0 done, 2 bad input or refused (the message names the path, key or database).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from custodywatch import paths

EXIT_OK, EXIT_USAGE = 0, 2


def _fail(message: str) -> int:
    print(f"custodywatch: {message}", file=sys.stderr)
    return EXIT_USAGE


def cmd_keys(args: argparse.Namespace) -> int:
    from custodywatch.recorder.signing import (
        PUBLIC_NAME,
        KeyFileError,
        fingerprint,
        keys_dir,
        load_or_create_key,
    )

    existed = (keys_dir()).is_dir() and any(keys_dir().iterdir())
    if args.action == "show" and not existed:
        return _fail(f"{keys_dir()}: no signing key yet (make one with `custodywatch keys init`)")
    try:
        key = load_or_create_key()
    except KeyFileError as exc:
        return _fail(str(exc))
    made = "" if existed else "made "
    print(f"{made}signing key {fingerprint(key.public_key())} (public key: {keys_dir() / PUBLIC_NAME})")
    return EXIT_OK


def _config_database(config: str | None, flag: str | None) -> tuple[str, Path | None] | None:
    from custodywatch.config import ConfigError, load_config

    configured = None
    config_file = None
    if config is not None:
        try:
            configured = load_config(config).store.database_url
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return None
        config_file = Path(config)
    return paths.database_url(configured, flag), config_file


def cmd_bundle(args: argparse.Namespace) -> int:
    from custodywatch.bundle import BOX_PACKAGES, BundleError, build_bundle
    from custodywatch.config import DetectorConfig

    model_dir = paths.model_dir(None, args.model_dir)
    defaults = DetectorConfig()
    names = args.model or [m for m in (defaults.model, defaults.pose_model) if m]
    debs = None if args.no_debs else tuple(args.deb or BOX_PACKAGES)
    try:
        manifest = build_bundle(Path(args.output), [model_dir / n for n in names], debs)
    except BundleError as exc:
        return _fail(str(exc))
    print(f"{args.output}: custodywatch {manifest.version} for Python {manifest.python} on "
          f"{manifest.machine}, {len(manifest.files)} files; "
          f"install on the box with: sudo {args.output}/install.sh")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    from custodywatch.backup import BackupError, backup

    found = _config_database(args.config, args.database_url)
    if found is None:
        return EXIT_USAGE
    url, config_file = found
    try:
        report = backup(Path(args.output), url, config_file)
    except BackupError as exc:
        return _fail(str(exc))
    print(f"{report.path}: {report.database} and {len(report.members)} files "
          f"({', '.join(sorted({m.split('/')[0] for m in report.members}))})")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from custodywatch.backup import BackupError, restore

    url = paths.database_url(None, args.database_url)
    try:
        report = restore(Path(args.file), url, Path(args.config_to) if args.config_to else None, args.force)
    except BackupError as exc:
        return _fail(str(exc))
    print(f"restored {', '.join(report.restored)} into {report.database}")
    for path in report.kept_aside:
        print(f"kept the replaced copy at {path}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = sub.add_parser("keys", help="the box's archive signing key: make it (at install) or show it")
    s.add_argument("action", choices=("init", "show"))
    s.set_defaults(func=cmd_keys)

    s = sub.add_parser("bundle", help="write an offline install bundle: wheels, Debian packages, models")
    s.add_argument("-o", "--output", required=True, help="bundle directory (new or empty)")
    s.add_argument("--model", action="append", help="model file name to include (repeatable; default: the "
                                                    "default detector and pose models)")
    s.add_argument("--model-dir", help="where the models are (default: $CUSTODYWATCH_MODEL_DIR)")
    s.add_argument("--deb", action="append", help="Debian package to include with its dependencies "
                                                  "(repeatable; default: python3-venv chrony sqlite3)")
    s.add_argument("--no-debs", action="store_true", help="leave the Debian packages out")
    s.set_defaults(func=cmd_bundle)

    s = sub.add_parser("backup", help="back up the database, keys, signatures and config into one file")
    s.add_argument("-o", "--output", required=True, help="backup file (.tar.gz), must not exist")
    s.add_argument("--config", help="cameras.yaml to include (and to read the database URL from)")
    s.add_argument("--database-url")
    s.set_defaults(func=cmd_backup)

    s = sub.add_parser("restore", help="restore a backup made by `custodywatch backup`")
    s.add_argument("file")
    s.add_argument("--database-url", help="where to restore the database (default: the box's)")
    s.add_argument("--config-to", help="write the backed-up config here")
    s.add_argument("--force", action="store_true",
                   help="replace a database holding data, or different keys (the replaced copies are kept)")
    s.set_defaults(func=cmd_restore)
