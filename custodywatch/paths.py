"""Where the box keeps its data and finds its model files (environment overrides)."""
from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("CUSTODYWATCH_DATA", "./data"))


def model_dir(configured: str | None = None, flag: str | None = None) -> Path:
    """CLI flag > CUSTODYWATCH_MODEL_DIR > config file > $CUSTODYWATCH_DATA/models."""
    chosen = flag or os.environ.get("CUSTODYWATCH_MODEL_DIR") or configured
    return Path(chosen) if chosen else data_dir() / "models"


def database_url(configured: str | None = None, flag: str | None = None) -> str:
    """CLI flag > CUSTODYWATCH_DATABASE_URL > config file > SQLite in the data directory."""
    chosen = flag or os.environ.get("CUSTODYWATCH_DATABASE_URL") or configured
    return chosen or f"sqlite:///{(data_dir() / 'custodywatch.db').resolve()}"


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The read-only test material beside the checkout (models, media, tools)."""
    env = os.environ.get("CUSTODYWATCH_SHARED")
    return Path(env) if env else project_root().parent / "shared"
