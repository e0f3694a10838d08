"""The API on a real uvicorn server (a free loopback port, in a thread), and a small SSE reader."""
from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import httpx
import uvicorn
from fastapi import FastAPI

from custodywatch.api.events import EventHub
from custodywatch.api.server import ApiServer


class LiveServer:
    def __init__(self, app: FastAPI, hub: EventHub, *, tls: tuple[str, str] | None = None):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        scheme = "http" if tls is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self._socket.getsockname()[1]}"
        cert, key = tls or (None, None)
        self._server = ApiServer(uvicorn.Config(app, log_level="warning", access_log=False, ssl_certfile=cert,
                                                ssl_keyfile=key), hub)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]})

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self, within_s: float = 10) -> None:
        """Stop as on SIGTERM."""
        if self._thread.is_alive():
            self._server.handle_exit(signal.SIGTERM, None)
            self._thread.join(within_s)
        assert not self._thread.is_alive(), f"uvicorn did not stop within {within_s} s"


@dataclass(frozen=True)
class ServerEvent:
    id: str | None
    event: str
    data: str


class SseReader:
    """Reads server-sent events from a streaming httpx response, skipping keep-alive comments."""

    def __init__(self, response: httpx.Response):
        self._lines: Iterator[str] = response.iter_lines()

    def next(self) -> ServerEvent:
        fields: dict[str, str] = {}
        data: list[str] = []
        for line in self._lines:
            if line == "":
                if fields or data:
                    return ServerEvent(fields.get("id"), fields.get("event", "message"), "\n".join(data))
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
        raise EOFError("the event stream ended")
