"""A TCP proxy a test controls, to cut a link to a shared server without stopping the server.

`cut()` closes every open connection and then either refuses new ones (a dead host that answers,
mode "refuse") or accepts and never answers them (a black hole, mode "blackhole"); `restore()`
forwards again.

`stall()` black-holes the link as a dead network does, whatever the mode: open connections stay
open but carry nothing either way, and new ones are accepted and never answered. `restore()` then
resumes the stalled connections where they stopped and forwards the new ones it held (a partition
that heals before TCP gives up; a client that gave up meanwhile has closed its end, and that
connection ends at once). The proxy's own kernel still acknowledges what the ends send
during a stall, so neither end's keepalive or TCP_USER_TIMEOUT can notice it.
"""
from __future__ import annotations

import selectors
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, mode: str = "refuse"):
        if mode not in ("refuse", "blackhole"):
            raise ValueError(f"mode: {mode!r} is neither 'refuse' nor 'blackhole'")
        self.target = (target_host, target_port)
        self.mode = mode
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        # Pumps moving a chunk right now; stall() waits for them, so nothing crosses after it returns.
        self._moving = 0
        self._moved = threading.Condition(self._lock)
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._held: list[socket.socket] = []  # by a cut: closed at restore()
        self._stalled_new: list[socket.socket] = []  # by a stall: forwarded at restore()
        self._cut = False
        # Cleared by stall(): the pumps stop reading, so bytes wait in the kernel's buffers, unlost.
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            _close(a)
            _close(b)

    def stall(self) -> None:
        with self._moved:
            self._flowing.clear()
            # A chunk already read is forwarded (it was on the wire); bounded, as a peer that stopped
            # reading can block a pump's send for ever.
            self._moved.wait_for(lambda: self._moving == 0, timeout=5)

    def restore(self) -> None:
        with self._lock:
            self._cut = False
            self._flowing.set()
            held, self._held = self._held, []
            waiting, self._stalled_new = self._stalled_new, []
        for s in held:
            _close(s)
        for s in waiting:
            threading.Thread(target=self._forward, args=(s,), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self.restore()
        _close(self._listener)

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                cut = self._cut
                if cut and self.mode == "blackhole":
                    self._held.append(client)
                    continue
                if not cut and not self._flowing.is_set():
                    self._stalled_new.append(client)
                    continue
            if cut:
                _close(client)
                continue
            self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _close(client)
            return
        with self._lock:
            self._pairs.append((client, upstream))
        threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        try:
            sel.register(a, selectors.EVENT_READ, b)
            sel.register(b, selectors.EVENT_READ, a)
            while not self._closed.is_set():
                if not self._flowing.wait(0.2):
                    continue
                for key, _ in sel.select(0.2):
                    with self._moved:
                        if not self._flowing.is_set():
                            break  # stalled while waiting: what is readable stays unread until restore()
                        self._moving += 1
                    try:
                        src = key.fileobj
                        assert isinstance(src, socket.socket)
                        data = src.recv(65536)
                        if not data:
                            return
                        key.data.sendall(data)
                    finally:
                        with self._moved:
                            self._moving -= 1
                            self._moved.notify_all()
        except (OSError, ValueError):
            return
        finally:
            sel.close()
            _close(a)
            _close(b)
            with self._lock:
                if (a, b) in self._pairs:
                    self._pairs.remove((a, b))


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
