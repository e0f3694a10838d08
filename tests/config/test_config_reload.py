"""Reloading the config file: what is applied at once, what waits for a restart, and a broken file."""
from __future__ import annotations

from pathlib import Path

from custodywatch.config import Config, load_config
from custodywatch.config_reload import ConfigReloader
from custodywatch.vocabulary import Zone

CONFIG = """\
api: {host: 127.0.0.1, port: 8080}
rooms: [{id: holding-1, type: holding}]
cameras:
  - id: cam-h1
    room: holding-1
    detect_url: rtsp://10.0.0.12/sub
    zones:
      detainee_area: [[0.0, 0.5], [0.6, 0.5], [0.6, 1.0]]
      guard_post: [[0.65, 0.5], [1.0, 0.5], [1.0, 1.0]]
"""


def _reloader(tmp_path: Path) -> tuple[Path, ConfigReloader, list[Config]]:
    path = tmp_path / "cameras.yaml"
    path.write_text(CONFIG)
    reloader = ConfigReloader(path, load_config(path))
    applied: list[Config] = []

    def apply(cfg: Config) -> list[str]:
        applied.append(cfg)
        return ["reader-0"]  # what the process tree would report it restarted

    reloader.on_reload(apply)
    return path, reloader, applied


def test_a_reload_applies_zones_and_keeps_restart_only_settings_as_they_run(tmp_path: Path) -> None:
    path, reloader, applied = _reloader(tmp_path)
    path.write_text(CONFIG.replace("port: 8080", "port: 9090").replace("[0.65, 0.5]", "[0.7, 0.5]"))

    report = reloader.reload("SIGHUP")

    assert report.ok and report.pending_restart == ["api"] and report.changed == ["reader-0"]
    assert len(applied) == 1 and applied[0] is reloader.current
    assert applied[0].api.port == 8080, "the API's port is only changed by a restart"
    assert applied[0].camera("cam-h1").zones[Zone.GUARD_POST][0] == (0.7, 0.5)
    # The same file again: nothing to apply.
    assert reloader.reload("SIGHUP").changed == [] and len(applied) == 1


def test_a_broken_file_changes_nothing_and_says_where(tmp_path: Path) -> None:
    path, reloader, applied = _reloader(tmp_path)
    before = reloader.current
    path.write_text(CONFIG.replace("[1.0, 0.5], [1.0, 1.0]]", "[1.0, 0.5]]"))

    report = reloader.reload("SIGHUP")

    assert not report.ok and applied == [] and reloader.current is before
    assert report.problems == [f"{path}:9: cameras[0].zones.guard_post: List should have at least 3 items "
                               "after validation, not 2"]
    assert reloader.last() == report
