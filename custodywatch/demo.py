"""`custodywatch demo`: composed scenes served as live RTSP cameras, and the service watching them.

Everything is real except the scenes' script: real people from the real footage, a real RTSP
server looping the scenes like cameras, the real detector, rules, SQLite store and page.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import yaml

from custodywatch import paths
from custodywatch.config import ConfigError, parse_config

log = logging.getLogger("custodywatch.demo")

# (scene, camera id, room id) — one interrogation where an officer leaves, one holding room.
DEMO_SCENES = (
    ("demo_interrogation_loop", "cam-interrogation-1", "interrogation-1"),
    ("holding_guard_leaves", "cam-holding-1", "holding-1"),
)


def demo_config(scene_configs: list[tuple[dict[str, Any], str, str, str]], port: int) -> dict[str, Any]:
    """One config for all demo cameras: each scene's room and zones, its camera on the RTSP URL."""
    rooms, cameras = [], []
    for scene_cfg, camera_id, room_id, url in scene_configs:
        room = dict(scene_cfg["rooms"][0], id=room_id)
        cam = dict(scene_cfg["cameras"][0], id=camera_id, room=room_id, detect_url=url)
        rooms.append(room)
        cameras.append(cam)
    return {
        "site": {"id": "demo", "box_id": "box1"},
        "api": {"host": "127.0.0.1", "port": port},
        "rooms": rooms,
        "cameras": cameras,
    }


def _demo_model_dir(model: str) -> str | None:
    """The demo's models: the configured directory if it has the model, else the test material's."""
    if (paths.model_dir() / model).is_file():
        return None
    fallback = paths.shared_dir() / "models"
    if (fallback / model).is_file():
        log.info("using model files from %s", fallback)
        return str(fallback)
    return None


def run_demo(host: str = "127.0.0.1", port: int = 8080, rtsp_port: int | None = None) -> int:
    from custodywatch.api.commands import ensure_first_admin
    from custodywatch.rtsp_server import RtspLoopServer, RtspServerError
    from custodywatch.scenes.catalog import write_scene
    from custodywatch.service import run_service

    demo_dir = paths.data_dir() / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    scenes = []
    for name, camera_id, room_id in DEMO_SCENES:
        scene = write_scene(name, demo_dir)
        scenes.append((scene, camera_id, room_id))
        log.info("scene %s: %s", name, scene.video)
    server = RtspLoopServer({cam: scene.video for scene, cam, _ in scenes}, port=rtsp_port)
    try:
        server.start()
    except RtspServerError as exc:
        print(f"custodywatch: demo: {exc}", file=sys.stderr)
        return 2
    try:
        raw = demo_config([(yaml.safe_load(Path(scene.config).read_text()), cam, room, server.url(cam))
                           for scene, cam, room in scenes], port)
        config_path = demo_dir / "cameras.yaml"
        text = yaml.safe_dump(raw, sort_keys=False)
        config_path.write_text(text)
        try:
            cfg = parse_config(text, str(config_path))
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        for _, cam, _ in scenes:
            print(f"demo camera {cam}: {server.url(cam)}", flush=True)
        password = ensure_first_admin(paths.database_url(cfg.store.database_url))
        if password is not None:
            print(f"demo login: user admin, password {password}", flush=True)
        else:
            print("demo login: use an existing account (reset one with `custodywatch user passwd NAME`)",
                  flush=True)
        return run_service(cfg, host=host, port=port, model_dir_flag=_demo_model_dir(cfg.detector.model))
    finally:
        server.stop()
