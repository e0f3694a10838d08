"""uvicorn, made to stop promptly while watch-desk pages hold event streams open."""
from __future__ import annotations

import asyncio
import socket
from types import FrameType

import uvicorn

from custodywatch.api.events import EventHub


class ApiServer(uvicorn.Server):
    """Ends the hub's streams as soon as it is told to exit (SIGINT/SIGTERM or handle_exit).

    uvicorn waits for every open response to finish before it shuts down, and an event stream
    never finishes by itself: without this, one open page would hold a stop up indefinitely.
    """

    def __init__(self, config: uvicorn.Config, hub: EventHub):
        super().__init__(config)
        self._hub = hub
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Runs in a signal handler or another thread: hand the close to the loop's thread.
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._hub.close)
        super().handle_exit(sig, frame)
