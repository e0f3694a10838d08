"""The config in force, handed from the main process to the children that apply changes live.

The main process validates a reloaded config and writes it here (one file in the service's private
run directory, replaced atomically); analytics and the recorder look at it once a second. A file
rather than a message: a child that was restarting while the config changed, or that starts after
it, still finds the latest one, and nothing is lost to a socket that was not connected yet.
"""
from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

from custodywatch.config import Config

log = logging.getLogger("custodywatch.config_feed")


def publish_config(path: str | Path, cfg: Config) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as out:
        pickle.dump(cfg, out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


class ConfigFeed:
    """Reads the published config when it is new (each publish replaces the file: a new inode)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._seen: tuple[int, int] | None = None

    def latest(self) -> Config | None:
        """The config published since the last call (the first call: whatever is published), else None."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns)
        if stamp == self._seen:
            return None
        try:
            with open(self.path, "rb") as src:
                cfg = pickle.load(src)
        except (OSError, pickle.UnpicklingError, EOFError):
            log.exception("the published config could not be read; the one in force stays")
            return None
        self._seen = stamp
        return cfg if isinstance(cfg, Config) else None
