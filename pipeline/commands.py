"""The installer's stream subcommands: `custodywatch probe URL` (and the probing behind
`check-config --probe`) and `custodywatch snapshot` (a frame with zones and detections drawn).

Exit codes: 0 probed (warnings are printed but do not fail), 1 a stream could be opened but broke
an assumption and `--strict` was given, 2 the stream cannot be opened or read (the message names it).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from custodywatch import paths
from custodywatch.config import Config, ConfigError, load_config
from custodywatch.pipeline.probe import StreamProbe, StreamRole, probe
from custodywatch.pipeline.source import SourceError

EXIT_OK, EXIT_WARNINGS, EXIT_USAGE = 0, 1, 2


def cmd_probe(args: argparse.Namespace) -> int:
    if args.seconds <= 0:
        print(f"custodywatch: --seconds: must be positive, got {args.seconds}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = probe(args.url, seconds=args.seconds, role=args.role, timeout_s=args.timeout)
    except SourceError as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(result.as_dict()) if args.json else "\n".join(result.lines()))
    return EXIT_WARNINGS if args.strict and result.warnings else EXIT_OK


def probe_cameras(cfg: Config, seconds: float, timeout_s: float) -> tuple[list[str], int]:
    """Probes every camera's analysed sub-stream and, where it differs, its recorded main stream.

    Returns the report lines and how many streams could not be opened or warned.
    """
    lines: list[str] = []
    problems = 0
    for camera in cfg.cameras:
        streams: list[tuple[StreamRole, str]] = [("sub", camera.detect_url)]
        if camera.record_url and camera.record_url != camera.detect_url:
            streams.append(("main", camera.record_url))
        for role, url in streams:
            heading = f"{camera.id} ({'analysed' if role == 'sub' else 'recorded'} stream)"
            try:
                result: StreamProbe = probe(url, seconds=seconds, role=role, timeout_s=timeout_s)
            except SourceError as exc:
                lines.append(f"{heading}: ERROR: {exc}")
                problems += 1
                continue
            problems += bool(result.warnings)
            lines.append(f"{heading}: " + "\n".join(result.lines()))
    return lines, problems


def cmd_snapshot(args: argparse.Namespace) -> int:
    import cv2

    from custodywatch.models.detector import Detector, ModelNotFoundError
    from custodywatch.pipeline.snapshot import draw_people, draw_zones, grab_frame, people_in_roles

    out = Path(args.output)
    if out.suffix.lower() not in (".jpg", ".jpeg", ".png"):
        return _fail(f"-o {out}: the snapshot must be a .jpg or .png file")
    if not out.parent.is_dir():
        return _fail(f"-o {out}: directory {out.parent} does not exist")
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    known = {c.id for c in cfg.cameras}
    if args.camera not in known:
        names = ", ".join(sorted(known))
        return _fail(f"{args.config}: cameras: unknown camera {args.camera!r} (cameras: {names})")
    camera = cfg.camera(args.camera)
    try:
        image = grab_frame(camera, timeout_s=args.timeout)
    except SourceError as exc:
        return _fail(str(exc))
    people = []
    if not args.no_detections:
        try:
            model_dir = paths.model_dir(cfg.detector.model_dir, args.model_dir)
            detector = Detector.from_config(cfg.detector, model_dir)
        except ModelNotFoundError as exc:
            return _fail(str(exc))
        h, w = image.shape[:2]
        people = people_in_roles(cfg, camera, detector.detect([image])[0], (w, h))
    if args.zones:
        draw_zones(image, camera)
    draw_people(image, people)
    if not cv2.imwrite(str(out), image):
        return _fail(f"-o {out}: cannot write the image")
    roles = ", ".join(f"{p.role.value if p.role else 'person'} {p.confidence:.2f}" for p in people)
    print(f"{out}: {image.shape[1]}x{image.shape[0]} frame of {camera.id}: {roles or 'nobody'}")
    return EXIT_OK


def _fail(message: str) -> int:
    print(f"custodywatch: {message}", file=sys.stderr)
    return EXIT_USAGE


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = sub.add_parser("probe", help="measure what a camera sends: codec, resolution, fps, GOP, "
                                     "B-frames, audio, bitrate; warns when it breaks an assumption")
    s.add_argument("url", help="rtsp:// URL or a media file")
    s.add_argument("--seconds", type=float, default=5.0, help="stream time to measure (default 5)")
    s.add_argument("--timeout", type=float, default=10.0, help="give up after this many seconds of waiting")
    s.add_argument("--role", choices=("main", "sub"),
                   help="what the stream is for: 'sub' (analysed) or 'main' (recorded); default: both")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--strict", action="store_true", help="exit 1 when there is any warning")
    s.set_defaults(func=cmd_probe)

    s = sub.add_parser("snapshot", help="save a camera's current frame with its detections (and zones) drawn")
    s.add_argument("--config", required=True)
    s.add_argument("--camera", required=True)
    s.add_argument("-o", "--output", required=True, help="image file (.jpg or .png)")
    s.add_argument("--zones", action="store_true", help="draw the camera's zones")
    s.add_argument("--no-detections", action="store_true", help="draw no detections (skips the model)")
    s.add_argument("--model-dir", help="directory of model files (default: $CUSTODYWATCH_MODEL_DIR)")
    s.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the stream")
    s.set_defaults(func=cmd_snapshot)
