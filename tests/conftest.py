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
    from scene_cache import shared_scene_dir

    return shared_scene_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def scene(scene_dir: Path):
    """Renders a named scene once per run and returns its paths (video, config, truth)."""
    from scene_cache import scene_paths

    made: dict[str, object] = {}

    def get(name: str):
        if name not in made:
            made[name] = scene_paths(name, scene_dir)
        return made[name]

    return get


@pytest.fixture(scope="session")
def pg_databases():
    """Scratch PostgreSQL databases on the shared server, each dropped at the end of the run."""
    from pg_scratch import ScratchDatabases

    made = ScratchDatabases()
    yield made
    made.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """The database a store-level test runs on; a test that asks for it runs once on each."""
    return str(request.param)


@pytest.fixture
def store_url(store_backend: str, tmp_path: Path, request: pytest.FixtureRequest):
    """An empty database of `store_backend`: a SQLite file in a directory not made yet, or a scratch
    PostgreSQL database dropped right after the test."""
    if store_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'custodywatch.db'}"
        return
    scratch = request.getfixturevalue("pg_databases")
    url = scratch.url()
    yield url
    scratch.drop(url)
