"""Fixtures shared by component tests: the real models, composed scenes, a real RTSP server."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from custodywatch.paths import shared_dir

os.environ.setdefault("CUSTODYWATCH_MODEL_DIR", str(shared_dir() / "models"))


@pytest.fixture(scope="session")
def scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where composed scenes are written, once per test run (see `scene`)."""
    return tmp_path_factory.mktemp("scenes")


@pytest.fixture(scope="session")
def scene(scene_dir: Path):
    """Renders a named scene once per run and returns its paths (video, config, truth)."""
    from custodywatch.scenes.catalog import write_scene

    made: dict[str, object] = {}

    def get(name: str):
        if name not in made:
            made[name] = write_scene(name, scene_dir)
        return made[name]

    return get


@pytest.fixture(scope="session")
def pg_databases():
    """Scratch PostgreSQL databases on the shared server, each dropped at the end of the run."""
    from pg_scratch import ScratchDatabases

    made = ScratchDatabases()
    yield made
    made.close()
