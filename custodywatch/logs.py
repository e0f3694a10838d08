"""Where the service's processes log, and in what shape.

Every process of the tree (the main one and each spawned child) calls `configure_logging`; the
settings travel in the environment, so a child spawned by the supervisor logs the same way as its
parent without anything passed through the component. With a log file, all processes append to the
same file, and rotation is done by whichever process finds it full, under an advisory lock: a
plain RotatingFileHandler per process would rotate the file from under the others and lose lines.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import sys
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

ENV_FORMAT = "CUSTODYWATCH_LOG_FORMAT"
ENV_FILE = "CUSTODYWATCH_LOG_FILE"
ENV_MAX_MB = "CUSTODYWATCH_LOG_MAX_MB"
ENV_BACKUPS = "CUSTODYWATCH_LOG_BACKUPS"

LogFormat = Literal["text", "json"]
_OWNED = "_custodywatch_handler"


class LogSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class LogSettings:
    format: LogFormat = "text"
    file: Path | None = None  # None: standard error only
    max_bytes: int = 50 * 1024 * 1024
    backups: int = 10

    @classmethod
    def from_env(cls) -> LogSettings:
        fmt = os.environ.get(ENV_FORMAT, "text")
        if fmt not in ("text", "json"):
            raise LogSettingsError(f"{ENV_FORMAT}: {fmt!r} is neither 'text' nor 'json'")
        file = os.environ.get(ENV_FILE) or None
        try:
            max_mb = float(os.environ.get(ENV_MAX_MB, "50"))
            backups = int(os.environ.get(ENV_BACKUPS, "10"))
        except ValueError as exc:
            raise LogSettingsError(f"{ENV_MAX_MB}/{ENV_BACKUPS}: not a number ({exc})") from None
        if max_mb <= 0 or backups < 1:
            raise LogSettingsError(f"{ENV_MAX_MB} must be > 0 and {ENV_BACKUPS} >= 1")
        return cls(format=fmt, file=Path(file) if file else None,  # type: ignore[arg-type]
                   max_bytes=int(max_mb * 1024 * 1024), backups=backups)

    def export(self) -> None:
        """Puts the settings in the environment, for the processes this one spawns."""
        os.environ[ENV_FORMAT] = self.format
        os.environ[ENV_MAX_MB] = str(self.max_bytes / 1024 / 1024)
        os.environ[ENV_BACKUPS] = str(self.backups)
        if self.file is not None:
            os.environ[ENV_FILE] = str(self.file)
        else:
            os.environ.pop(ENV_FILE, None)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO), level, process, logger, message, and the
    exception's traceback when there is one. Extra fields given with `extra=` are kept."""

    STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def __init__(self, process_name: str):
        super().__init__()
        self.process_name = process_name

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "process": self.process_name,
            "pid": record.process,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self.STANDARD and not key.startswith("_"):
                body[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info:
            body["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(body, ensure_ascii=False)


class SharedRotatingFileHandler(logging.Handler):
    """Appends to `path`, rotating it to path.1 .. path.N when full, safely across processes.

    Each write takes an exclusive lock on `path.lock`; under it the handler reopens the file if
    another process has rotated it, rotates it if this line would overflow it, and appends.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int):
        super().__init__()
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o640)
        self._fd = self._open()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = (self.format(record) + "\n").encode("utf-8", "replace")
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                self._follow_rotation()
                if os.fstat(self._fd).st_size and os.fstat(self._fd).st_size + len(line) > self.max_bytes:
                    self._rotate()
                os.write(self._fd, line)
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        except Exception:
            self.handleError(record)

    def _follow_rotation(self) -> None:
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        mine = os.fstat(self._fd)
        if current is None or (current.st_ino, current.st_dev) != (mine.st_ino, mine.st_dev):
            os.close(self._fd)
            self._fd = self._open()

    def _rotate(self) -> None:
        for i in range(self.backups - 1, 0, -1):
            older = Path(f"{self.path}.{i}")
            if older.exists():
                older.replace(f"{self.path}.{i + 1}")
        self.path.replace(f"{self.path}.1")
        os.close(self._fd)
        self._fd = self._open()

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        super().close()


def configure_logging(process_name: str, level: int = logging.INFO,
                      settings: LogSettings | None = None) -> LogSettings:
    """Installs the configured handlers on the root logger; returns the settings used.

    Handlers installed by someone else (an embedding program, a test runner's capture) mean the
    logging is theirs: the root logger is then left alone, as logging.basicConfig would.
    """
    settings = settings or LogSettings.from_env()
    root = logging.getLogger()
    if any(not getattr(h, _OWNED, False) for h in root.handlers):
        return settings
    formatter: logging.Formatter = (
        JsonLineFormatter(process_name) if settings.format == "json"
        else logging.Formatter(f"%(asctime)s %(levelname)s {process_name} %(name)s: %(message)s")
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.file is not None:
        handlers.append(SharedRotatingFileHandler(settings.file, settings.max_bytes, settings.backups))
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        setattr(handler, _OWNED, True)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return settings
