"""Where the box keeps its data and finds its model files (environment overrides)."""
from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("CUSTODYWATCH_DATA", "./data"))


def model_dir() -> Path:
    env = os.environ.get("CUSTODYWATCH_MODEL_DIR")
    return Path(env) if env else data_dir() / "models"


def database_url(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    env = os.environ.get("CUSTODYWATCH_DATABASE_URL")
    if env:
        return env
    return f"sqlite:///{(data_dir() / 'custodywatch.db').resolve()}"


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The read-only test material beside the checkout (models, media, tools)."""
    env = os.environ.get("CUSTODYWATCH_SHARED")
    return Path(env) if env else project_root().parent / "shared"
