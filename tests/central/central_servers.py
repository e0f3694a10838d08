"""An app of the product served by real uvicorn on a free loopback port, in a thread."""
from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from custodywatch.api.events import EventHub
from custodywatch.api.server import ApiServer


@contextlib.contextmanager
def serving(app: FastAPI, hub: EventHub) -> Iterator[str]:
    """The base URL while the app is served."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = ApiServer(uvicorn.Config(app, log_level="warning", access_log=False), hub)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.handle_exit(signal.SIGTERM, None)
        thread.join(10)
        listener.close()
