"""The recorder's subcommands: record, verify, clip, export, hold.

Exit codes: 0 done (verify: intact), 1 the work found a problem (verify: altered; record: nothing
could be recorded), 2 bad input (a path, key, time or id that is wrong; the message names it).
"""
from __future__ import annotations

import argparse
import getpass
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from custodywatch.recorder.index import ArchiveIndex
from custodywatch.recorder.signing import KeyFileError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from custodywatch.recorder.catalog import RecorderCatalog
    from custodywatch.recorder.custody import StoredCustody
    from custodywatch.recorder.signing import ChainSigner

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("custodywatch.recorder")


def _fail(message: str) -> int:
    print(f"custodywatch: {message}", file=sys.stderr)
    return EXIT_USAGE


# ---- record ------------------------------------------------------------------------------------


def cmd_record(args: argparse.Namespace) -> int:
    from custodywatch.config import redact_url
    from custodywatch.recorder.camera import CameraRecorder
    from custodywatch.recorder.index import ArchiveIndex
    from custodywatch.recorder.recovery import recover_camera
    from custodywatch.recorder.signing import ChainSigner, load_or_create_key
    from custodywatch.vocabulary import ID_PATTERN

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _fail(f"{out}: --out must be a directory")
    if args.seconds <= 0:
        return _fail(f"--seconds: must be more than 0 (got {args.seconds:g})")
    if not ID_PATTERN.match(args.camera):
        return _fail(f"--camera: {args.camera!r} is not a valid id (lowercase letters, digits, '-', '_')")
    if "://" not in args.url and not Path(args.url).is_file():
        return _fail(f"{args.url}: not a stream URL and no such file")
    try:
        key = load_or_create_key()
    except KeyFileError as exc:
        return _fail(str(exc))
    index = ArchiveIndex(out)
    recover_camera(index, args.camera)
    signer = ChainSigner(index, key)
    recorder = CameraRecorder(args.camera, args.url, index, segment_s=args.segment_s)
    stop = threading.Event()
    signing = threading.Thread(target=_sign_periodically, args=(signer, stop, args.sign_every_s),
                               name="sign", daemon=True)
    signing.start()
    try:
        # A file is recorded once, as fast as it reads; a stream for --seconds, reconnecting.
        recorder.run(stop, until=time.time() + args.seconds, once="://" not in args.url)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        signing.join()
        signer.sign_now()
    s = recorder.stats
    print(f"{out}: {s.segments} segments, {s.gaps} gaps, {s.packets_written}/{s.packets_in} packets written "
          f"({s.skipped_before_keyframe} before the first keyframe), {s.connections} connections")
    if s.segments == 0:
        print(f"custodywatch: nothing recorded from {redact_url(args.url)}: {s.error or 'no keyframe'}",
              file=sys.stderr)
        return EXIT_PROBLEM
    return EXIT_OK


def _sign_periodically(signer: ChainSigner, stop: threading.Event, every_s: float) -> None:
    while not stop.wait(every_s):
        signer.sign_now()


# ---- verify ------------------------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    from custodywatch.recorder.index import archive_id
    from custodywatch.recorder.signing import heads_path, load_public_key
    from custodywatch.recorder.verify import is_archive, verify_archive

    target = Path(args.path)
    try:
        pubkey = load_public_key(Path(args.pubkey)) if args.pubkey else None
    except KeyFileError as exc:
        return _fail(str(exc))
    if is_archive(target):
        heads = Path(args.heads) if args.heads else heads_path(archive_id(target))
        report = verify_archive(target, pubkey, heads)
    else:
        from custodywatch.recorder.package import is_package, verify_package

        if not is_package(target):
            return _fail(f"{target}: neither an archive directory (index.jsonl) nor an evidence package "
                         "(manifest.json)")
        report = verify_package(target, pubkey)
    for problem in report.problems:
        print(problem)
    if not report.ok:
        return EXIT_PROBLEM
    print(report.summary())
    return EXIT_OK


# ---- times and places ---------------------------------------------------------------------------


class InputError(Exception):
    """Bad input from the command line (the message names the option)."""


def parse_time(option: str, value: str, origin: float | None) -> float:
    """Seconds after `origin` (the archive's first segment), or an ISO-8601 time (UTC when no zone)."""
    try:
        offset = float(value)
    except ValueError:
        pass
    else:
        if origin is None:
            raise InputError(f"{option}: {value!r} is relative, but the archive has no recording "
                             "to count from")
        return origin + offset
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: {value!r} is neither seconds nor an ISO-8601 time") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def default_archive(cfg_dir: str | None = None) -> Path:
    from custodywatch import paths

    return Path(cfg_dir) if cfg_dir else paths.data_dir() / "archive"


def _open_archive(path: Path) -> ArchiveIndex:
    from custodywatch.recorder.verify import is_archive

    if not is_archive(path):
        raise InputError(f"{path}: not an archive directory (no index.jsonl)")
    return ArchiveIndex(path)


def _first_start(index: ArchiveIndex, camera: str | None) -> float | None:
    starts = [r.start for r in index.records()
              if r.type == "segment" and (camera is None or r.camera == camera)]
    return min(starts) if starts else None


def _pick_camera(index: ArchiveIndex, camera: str | None) -> str:
    cameras = sorted({r.camera for r in index.records()})
    if camera is not None:
        if camera not in cameras:
            raise InputError(f"--camera: no camera {camera!r} in {index.archive} "
                             f"(cameras: {', '.join(cameras)})")
        return camera
    if len(cameras) != 1:
        raise InputError(f"--camera: {index.archive} holds {len(cameras)} cameras ({', '.join(cameras)}): "
                         "name one")
    return cameras[0]


def _engine(flag: str | None, config: str | None) -> Engine:
    from custodywatch import paths
    from custodywatch.store.revisions import DatabaseError, open_store

    configured = None
    if config:
        from custodywatch.config import ConfigError, load_config

        try:
            configured = load_config(config).store.database_url
        except ConfigError as exc:
            raise InputError(str(exc)) from None
    try:
        return open_store(paths.database_url(configured, flag))
    except DatabaseError as exc:
        raise InputError(str(exc)) from None


# ---- clip --------------------------------------------------------------------------------------


def cmd_clip(args: argparse.Namespace) -> int:
    from custodywatch.recorder.clips import ClipError, cut_clip

    try:
        index = _open_archive(Path(args.dir))
        camera = _pick_camera(index, args.camera)
        origin = _first_start(index, camera)
        start = parse_time("--start", args.start, origin)
        end = parse_time("--end", args.end, origin)
        if end <= start:
            raise InputError(f"--end ({args.end}) must be after --start ({args.start})")
    except InputError as exc:
        return _fail(str(exc))
    try:
        clip = cut_clip(index, camera, start, end, Path(args.output))
    except ClipError as exc:
        print(f"custodywatch: {args.dir}: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    if clip.hole is not None:
        print(f"custodywatch: gap {_iso(clip.hole.start)} .. {_iso(clip.hole.end)} ({clip.hole.cause}): "
              f"the clip covers {_iso(clip.start)} .. {_iso(clip.end)} only", file=sys.stderr)
    for what in clip.converted:
        print(f"custodywatch: converted {what} for browser playback (the archive keeps the original)",
              file=sys.stderr)
    print(f"{clip.path}: {camera} {_iso(clip.start)} .. {_iso(clip.end)} ({clip.end - clip.start:.2f} s)")
    return EXIT_OK


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


# ---- export ------------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    from custodywatch.recorder.package import ExportError, export_package
    from custodywatch.recorder.signing import (
        PUBLIC_NAME,
        fingerprint,
        heads_path,
        keys_dir,
        load_or_create_key,
    )

    try:
        configured = None
        if args.config and not args.archive:
            from custodywatch.config import ConfigError, load_config

            try:
                configured = load_config(args.config).recorder.archive_dir
            except ConfigError as exc:
                raise InputError(str(exc)) from None
        index = _open_archive(Path(args.archive) if args.archive else default_archive(configured))
        subject: dict[str, object]
        if args.custody:
            cameras, start, end, custody = _custody_range(args)
            r = custody.record
            subject = {"custody": custody.id, "person": r.person, "room": r.room,
                       "legal_basis": r.legal_basis, "check_in": r.check_in, "release": r.release}
        elif args.alert:
            cameras, start, end = _alert_range(args)
            subject = {"alert": args.alert}
        else:
            if not (args.camera and args.start and args.end):
                raise InputError("give --alert ID, or --camera C with --from T and --to T")
            cameras = args.camera
            for cam in cameras:
                _pick_camera(index, cam)
            origin = _first_start(index, None)
            start = parse_time("--from", args.start, origin)
            end = parse_time("--to", args.end, origin)
            subject = {"cameras": cameras}
        key = load_or_create_key()
    except (InputError, KeyFileError) as exc:
        return _fail(str(exc))
    try:
        pkg = export_package(index, cameras, start, end, Path(args.output), key,
                             heads_file=heads_path(index.id), subject=subject)
    except ExportError as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    print(f"{pkg.path}: {pkg.segments} segments, {pkg.gaps} gaps, {pkg.bytes} bytes, "
          f"signed with {fingerprint(key.public_key())} (public key: {keys_dir() / PUBLIC_NAME})")
    return EXIT_OK


def _custody_range(args: argparse.Namespace) -> tuple[list[str], float, float, StoredCustody]:
    """The record's room's cameras (from the config: the record names a room, not cameras), from
    check-in to release, or to now while the record is open."""
    from custodywatch.config import ConfigError, load_config
    from custodywatch.recorder.custody import CustodyNotFound, find_custody

    if not args.config:
        raise InputError(f"--custody {args.custody}: give --config too (cameras.yaml): the record names "
                         "a room, the config says which cameras are in it")
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    engine = _engine(args.database_url, args.config)
    try:
        custody = find_custody(engine, args.custody)
    except CustodyNotFound as exc:
        raise InputError(f"--custody: {exc}") from None
    finally:
        engine.dispose()
    cameras = sorted(c.id for c in cfg.cameras_in(custody.record.room))
    if not cameras:
        raise InputError(f"--custody {args.custody}: room {custody.record.room!r} has no cameras in "
                         f"{args.config}")
    return cameras, custody.record.check_in, custody.end(time.time()), custody


def _alert_range(args: argparse.Namespace) -> tuple[list[str], float, float]:
    from custodywatch.config import RecorderConfig
    from custodywatch.store.alerts import AlertNotFound, AlertStore

    engine = _engine(args.database_url, args.config)
    try:
        alert = AlertStore(engine, "site", "box").get(args.alert)
    except AlertNotFound:
        raise InputError(f"--alert: no alert {args.alert!r} in the database") from None
    finally:
        engine.dispose()
    rec = RecorderConfig()
    cameras = [alert.camera]
    if args.config:
        from custodywatch.config import load_config

        cfg = load_config(args.config)
        rec = cfg.recorder
        cameras = sorted({alert.camera, *(c.id for c in cfg.cameras_in(alert.room))})
    end = (alert.ended_at_epoch or alert.fired_at_epoch) + rec.post_roll_s
    return cameras, alert.condition_started_at_epoch - rec.pre_roll_s, end


# ---- hold --------------------------------------------------------------------------------------


def cmd_hold(args: argparse.Namespace) -> int:
    from custodywatch.recorder.catalog import HoldError, RecorderCatalog

    try:
        engine = _engine(args.database_url, args.config)
    except InputError as exc:
        return _fail(str(exc))
    try:
        catalog = RecorderCatalog(engine)
        if args.hold_command == "list":
            for h in catalog.holds(active_only=not args.all):
                state = "active" if h.active else f"released {_iso(h.released_at or 0)} by {h.released_by}"
                what = f"  custody {h.custody_id}" if h.custody_id else (
                    f"  alert {h.alert_id}" if h.alert_id else "")
                print(f"{h.id}  {','.join(h.cameras) or '*'}  {_iso(h.start)} .. {_iso(h.end)}{what}  "
                      f"{state}  by {h.created_by}: {h.reason}")
            return EXIT_OK
        if args.hold_command == "release":
            h = catalog.release_hold(args.id, args.reason, args.by)
            print(f"released {h.id}")
            return EXIT_OK
        if args.custody:
            return _hold_custody(args, catalog)
        cameras, start, end, alert_id = _hold_range(args)
        h = catalog.create_hold(cameras, start, end, args.reason, args.by, alert_id=alert_id)
        print(f"{h.id}  {','.join(h.cameras) or '*'}  {_iso(h.start)} .. {_iso(h.end)}")
        return EXIT_OK
    except (InputError, HoldError) as exc:
        return _fail(str(exc))
    finally:
        engine.dispose()


def _hold_custody(args: argparse.Namespace, catalog: RecorderCatalog) -> int:
    if args.alert or args.camera or args.all_cameras or args.start or args.end:
        raise InputError("--custody takes its cameras and range from the record: leave out "
                         "--alert, --camera, --all-cameras, --from and --to")
    cameras, start, end, custody = _custody_range(args)
    h = catalog.create_hold(cameras, start, end, args.reason, args.by, custody_id=str(custody.id))
    print(f"{h.id}  {','.join(h.cameras)}  {_iso(h.start)} .. {_iso(h.end)}  custody {custody.id}")
    if custody.record.release is None:
        # A hold is a fixed range; the open record itself keeps what is recorded after it.
        print(f"custodywatch: custody {custody.id} is still open: held up to now; hold again after the "
              "release to hold the rest beyond the retention period", file=sys.stderr)
    return EXIT_OK


def _hold_range(args: argparse.Namespace) -> tuple[list[str], float, float, str | None]:
    if args.alert:
        cameras, start, end = _alert_range(args)
        return cameras, start, end, args.alert
    if not (args.start and args.end):
        raise InputError("give --alert ID, or --from T and --to T (ISO times) "
                         "with --camera C or --all-cameras")
    if not args.camera and not args.all_cameras:
        raise InputError("--camera: name the cameras to hold, or --all-cameras")
    start = parse_time("--from", args.start, None)
    end = parse_time("--to", args.end, None)
    return ([] if args.all_cameras else args.camera), start, end, None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = sub.add_parser("record", help="record one stream into an archive directory, with its index")
    s.add_argument("url", help="rtsp:// URL (or a media file)")
    s.add_argument("--out", required=True, help="archive directory")
    s.add_argument("--seconds", type=float, required=True, help="how long to record")
    s.add_argument("--camera", default="camera", help="camera id in the index (default: camera)")
    s.add_argument("--segment-s", type=float, default=60.0, help="segment length (default 60)")
    s.add_argument("--sign-every-s", type=float, default=60.0, help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_record)

    s = sub.add_parser("verify", help="check an archive or an evidence package is whole and unaltered")
    s.add_argument("path")
    s.add_argument("--pubkey", help="the box's public key (PEM) to check signatures with")
    s.add_argument("--heads",
                   help="signatures file (default: $CUSTODYWATCH_DATA/signatures/<archive id>.jsonl)")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("clip", help="cut a clip from an archive without re-encoding")
    s.add_argument("dir", help="archive directory")
    s.add_argument("--start", required=True, help="seconds after the first segment, or an ISO time")
    s.add_argument("--end", required=True, help="seconds after the first segment, or an ISO time")
    s.add_argument("-o", "--output", required=True, help="clip file (.mp4)")
    s.add_argument("--camera", help="camera id (needed when the archive holds several)")
    s.set_defaults(func=cmd_clip)

    s = sub.add_parser("export", help="write a signed evidence package")
    what = s.add_mutually_exclusive_group(required=True)
    what.add_argument("--alert", help="alert id: its room's cameras, pre-roll to post-roll")
    what.add_argument("--custody", help="custody record number (or a person with one record): "
                      "its room's cameras, check-in to release (needs --config)")
    what.add_argument("--camera", action="append", help="camera id (repeat for several)")
    s.add_argument("--from", dest="start", help="ISO time, or seconds after the archive's first segment")
    s.add_argument("--to", dest="end", help="ISO time, or seconds after the archive's first segment")
    s.add_argument("-o", "--output", required=True, help="package directory to create")
    s.add_argument("--archive", help="archive directory (default: $CUSTODYWATCH_DATA/archive)")
    s.add_argument("--config", help="cameras.yaml (rooms, rolls, database)")
    s.add_argument("--database-url")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("hold", help="legal holds: footage never deleted automatically")
    hold = s.add_subparsers(dest="hold_command", required=True)
    h = hold.add_parser("create", help="hold a time range on cameras (or an alert's footage)")
    h.add_argument("--camera", action="append", help="camera id (repeat for several)")
    h.add_argument("--all-cameras", action="store_true")
    h.add_argument("--alert", help="hold the footage of this alert")
    h.add_argument("--custody", help="hold the footage of this custody record (number, or a person "
                   "with one record; needs --config)")
    h.add_argument("--from", dest="start", help="ISO time")
    h.add_argument("--to", dest="end", help="ISO time")
    h.add_argument("--reason", required=True)
    h = hold.add_parser("release", help="release a hold (its footage becomes subject to retention again)")
    h.add_argument("id")
    h.add_argument("--reason", required=True)
    h = hold.add_parser("list", help="list active holds")
    h.add_argument("--all", action="store_true", help="released holds too")
    for h in hold.choices.values():
        h.add_argument("--by", default=getpass.getuser(), help="who does this (audit log)")
        h.add_argument("--config", help="cameras.yaml (database)")
        h.add_argument("--database-url")
    s.set_defaults(func=cmd_hold)
