"""The one command line: `custodywatch SUBCOMMAND ...`."""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from custodywatch import paths
from custodywatch.config import Config, ConfigError, load_config, summary
from custodywatch.logs import LogSettings, LogSettingsError, configure_logging

EXIT_USAGE = 2


def _fail(message: str) -> int:
    print(f"custodywatch: {message}", file=sys.stderr)
    return EXIT_USAGE


def _load(path: str) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return None


def cmd_check_config(args: argparse.Namespace) -> int:
    cfg = _load(args.file)
    if cfg is None:
        return EXIT_USAGE
    print(f"{args.file}: OK: {summary(cfg)}")
    if not args.probe:
        return 0
    from custodywatch.pipeline.commands import probe_cameras

    lines, problems = probe_cameras(cfg, seconds=args.probe_seconds, timeout_s=args.probe_timeout)
    print("\n".join(lines))
    # A config that validates but names a stream that cannot be opened or breaks an assumption
    # is not ready to run: say so in the exit code, for install scripts.
    return 1 if problems else 0


def cmd_analyze(args: argparse.Namespace) -> int:
    import time
    from datetime import UTC, datetime

    from custodywatch.analyze import ProgressBar, analyze_file, analyze_frames, progress_for
    from custodywatch.custody_file import CustodyFileError, load_custody
    from custodywatch.models.detector import Detector, ModelNotFoundError
    from custodywatch.pipeline.source import SourceError, open_container
    from custodywatch.reanalyze import ArchiveRangeError, range_from_args
    from custodywatch.report_commands import site_zone

    if (args.video is None) == (args.archive is None):
        return _fail("analyze: give a VIDEO file, or --archive DIR with --from and --to (not both)")
    if args.video is not None and (args.start is not None or args.end is not None):
        return _fail("--from/--to: they choose the range of --archive; a video file is analysed whole")
    video = Path(args.video) if args.video is not None else None
    if video is not None and not video.is_file():
        return _fail(f"{video}: video file not found")
    cfg = _load(args.config)
    if cfg is None:
        return EXIT_USAGE
    if args.camera not in {c.id for c in cfg.cameras}:
        known = ", ".join(c.id for c in cfg.cameras)
        return _fail(f"{args.config}: cameras: unknown camera {args.camera!r} (cameras: {known})")
    stored = None
    if args.archive is not None:
        try:
            stored = range_from_args(args.archive, args.camera, args.start, args.end, time.time(),
                                     site_zone(cfg))
        except ArchiveRangeError as exc:
            return _fail(str(exc))
    start_time = None if stored is None else datetime.fromtimestamp(stored.origin, UTC)
    if args.start_time is not None:
        try:
            start_time = datetime.fromisoformat(args.start_time)
        except ValueError:
            return _fail(f"--start-time: {args.start_time!r} is not an ISO-8601 date-time")
    custody = []
    if args.custody is not None:
        try:
            custody = load_custody(args.custody, cfg, start_time)
        except CustodyFileError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_USAGE
    try:
        if video is not None:
            open_container(str(video)).close()
    except SourceError as exc:
        return _fail(str(exc))
    model_dir = paths.model_dir(cfg.detector.model_dir, args.model_dir)
    try:
        detector = Detector.from_config(cfg.detector, model_dir)
        pose = (Detector.from_config(cfg.detector.model_copy(update={"model": cfg.detector.pose_model,
                                                                     "family": "auto"}), model_dir)
                if cfg.detector.pose_model else None)
    except ModelNotFoundError as exc:
        return _fail(str(exc))
    camera = cfg.camera(args.camera)
    bar = (progress_for(video, camera.fps) if video is not None
           else ProgressBar(int(stored.recorded_s() * camera.fps) + 1 if stored is not None else None))
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done = n
        bar.update(n)

    try:
        if stored is not None:
            lines = analyze_frames(stored.frames(camera.fps), cfg, args.camera, detector,
                                   on_progress=progress, custody=custody, pose=pose)
        else:
            assert video is not None
            lines = analyze_file(video, cfg, args.camera, detector, on_progress=progress, custody=custody,
                                 pose=pose)
    except SourceError as exc:
        bar.update(done, final=True)
        return _fail(str(exc))
    bar.update(done, final=True)
    for line in lines:
        print(line.to_json())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from custodywatch.malloc_arenas import limit_for_service
    from custodywatch.service import run_service

    limit_for_service()  # before any thread allocates
    cfg = _load(args.config)
    if cfg is None:
        return EXIT_USAGE
    return run_service(cfg, host=args.host, port=args.port, model_dir_flag=args.model_dir,
                       database_url_flag=args.database_url, config_path=Path(args.config).resolve())


def cmd_demo(args: argparse.Namespace) -> int:
    from custodywatch.demo import run_demo

    return run_demo(host=args.host, port=args.port, rtsp_port=args.rtsp_port)


def cmd_scenes(args: argparse.Namespace) -> int:
    from custodywatch.scenes.catalog import write_all

    for scene in write_all(Path(args.out_dir)).values():
        print(scene.video)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="custodywatch", description="Video analytics for case-handling areas.")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    p.add_argument("--log-format", choices=("text", "json"),
                   help="log lines as text or JSON objects (default: $CUSTODYWATCH_LOG_FORMAT or text)")
    p.add_argument("--log-file", help="also append logs to this file, rotated at $CUSTODYWATCH_LOG_MAX_MB "
                                      "(default 50) keeping $CUSTODYWATCH_LOG_BACKUPS (default 10)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("check-config", help="validate a cameras.yaml")
    s.add_argument("file")
    s.add_argument("--probe", action="store_true",
                   help="also open every camera's streams and measure them (see `probe`); exit 1 on problems")
    s.add_argument("--probe-seconds", type=float, default=3.0, help=argparse.SUPPRESS)
    s.add_argument("--probe-timeout", type=float, default=10.0, help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_check_config)

    s = sub.add_parser("analyze", help="run the rules over a video file or stored footage; prints JSON "
                                       "Lines of alerts")
    s.add_argument("video", nargs="?", help="a video file (or give --archive)")
    s.add_argument("--archive", help="re-analyse the camera's footage in this archive directory instead "
                                     "(seconds count from --from, or the first recorded moment after it)")
    s.add_argument("--from", dest="start", help="with --archive: ISO-8601 (in the site's time zone unless "
                                                "one is given), or relative to now as --from=-2h")
    s.add_argument("--to", dest="end", help="with --archive: the end of the range")
    s.add_argument("--config", required=True)
    s.add_argument("--camera", required=True)
    s.add_argument("--model-dir", help="directory of model files (default: $CUSTODYWATCH_MODEL_DIR)")
    s.add_argument("--custody", help="custody records (YAML or CSV): person, room, legal_basis, extended, "
                                     "check_in, release")
    s.add_argument("--start-time", help="ISO-8601 wall-clock time of the video's first frame, for custody "
                                        "times given as date-times")
    s.set_defaults(func=cmd_analyze)

    s = sub.add_parser("run", help="run the live service")
    s.add_argument("--config", required=True)
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--model-dir")
    s.add_argument("--database-url")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("demo", help="compose sample scenes, serve them over RTSP and run the service")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--rtsp-port", type=int, default=None)
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("scenes", help="write the composed test scenes (video, config, ground truth)")
    s.add_argument("out_dir")
    s.set_defaults(func=cmd_scenes)

    from custodywatch.box_commands import register as register_box
    register_box(sub)
    from custodywatch.pipeline.commands import register as register_probe
    register_probe(sub)
    from custodywatch.recorder.commands import register as register_recorder
    register_recorder(sub)
    from custodywatch.api.commands import register as register_users
    register_users(sub)
    from custodywatch.store.commands import register as register_db
    register_db(sub)
    from custodywatch.maintenance_commands import register as register_maintenance
    register_maintenance(sub)
    from custodywatch.report_commands import register as register_report
    register_report(sub)
    from custodywatch.central_mode import register as register_central
    register_central(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = LogSettings.from_env()
    except LogSettingsError as exc:
        return _fail(str(exc))
    settings = replace(settings, format=args.log_format or settings.format,
                       file=Path(args.log_file) if args.log_file else settings.file)
    settings.export()  # the supervisor's children read it from the environment
    configure_logging("main", logging.DEBUG if args.verbose else logging.INFO, settings)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
