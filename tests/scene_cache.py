"""Composed scenes rendered once per test run, even when pytest-xdist runs several workers.

Workers share the run's base temporary directory; a lock file makes one worker render a scene
(or cut the cut-outs) while the others wait, and a small JSON file next to the scene tells the
others where its files are.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from custodywatch.scenes.catalog import ScenePaths, write_scene


def shared_scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's directory, above each worker's own
    directory = base / "scenes"
    directory.mkdir(exist_ok=True)
    return directory


@contextlib.contextmanager
def rendering(directory: Path) -> Iterator[None]:
    with open(directory / ".render.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def scene_paths(name: str, directory: Path) -> ScenePaths:
    record = directory / f"{name}.paths.json"
    with rendering(directory):
        if record.exists():
            d = json.loads(record.read_text())
            return ScenePaths(**{k: None if v is None else Path(v) for k, v in d.items()})
        paths = write_scene(name, directory)
        record.write_text(json.dumps({k: None if v is None else str(v) for k, v in vars(paths).items()}))
        return paths
