"""Headless Chromium driven over the DevTools protocol, with a minimal WebSocket client of its own
(the box may be offline: no Playwright or Selenium download)."""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required", "--window-size=1400,900"]


class WebSocket:
    """Text frames only, as the DevTools protocol uses; client frames are masked as RFC 6455 says."""

    def __init__(self, url: str, timeout_s: float = 30):
        parts = urlsplit(url)
        address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._sock = socket.create_connection(address, timeout=timeout_s)
        key = base64.b64encode(os.urandom(16)).decode()
        self._sock.sendall(
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self._sock.recv(4096)
            if not chunk:
                raise ConnectionError("the DevTools socket closed during the handshake")
            head += chunk
        status, _, rest = head.partition(b"\r\n\r\n")
        if b" 101 " not in status.split(b"\r\n")[0]:
            raise ConnectionError(status.decode(errors="replace"))
        self._buffer = rest

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytearray([0x81])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self._sock.sendall(bytes(header) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def recv(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = first & 0x0F
            if opcode == 8:
                raise ConnectionError("the browser closed the DevTools socket")
            if opcode in (0, 1):
                message += payload
                if first & 0x80:
                    return message.decode()

    def _read(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self._sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("the DevTools socket closed")
            self._buffer += chunk
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def close(self) -> None:
        self._sock.close()


class Page:
    """One tab of a headless Chromium, opened at `url`."""

    def __init__(self, url: str):
        assert CHROMIUM is not None, "Chromium is missing: run scripts/setup.sh"
        self._profile = tempfile.mkdtemp(prefix="cw-chromium-")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self._port = probe.getsockname()[1]
        # Its chatter goes to a file: a pipe nobody reads would fill and stall the browser.
        self.log = Path(self._profile) / "chromium.log"
        with self.log.open("w") as log:
            self._process = subprocess.Popen(
                [CHROMIUM, *FLAGS, f"--remote-debugging-port={self._port}",
                 f"--user-data-dir={self._profile}", url],
                stdout=subprocess.DEVNULL, stderr=log)
        self._next_id = 0
        self.console: list[str] = []
        self._ws = WebSocket(self._page_socket(url))
        self.call("Runtime.enable")

    def _page_socket(self, url: str) -> str:
        deadline = time.monotonic() + 60
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"Chromium exited {self._process.returncode}: "
                                   f"{self.log.read_text()[-2000:]}")
            try:
                targets = httpx.get(f"http://127.0.0.1:{self._port}/json/list", timeout=5).json()
            except httpx.TransportError:
                targets = []  # not listening yet
            pages = [t for t in targets if t["type"] == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
            if time.monotonic() > deadline:
                raise RuntimeError(f"Chromium opened no page for {url}: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("method") == "Runtime.consoleAPICalled":
                self.console.append(" ".join(str(a.get("value", a.get("description", "")))
                                             for a in message["params"]["args"]))
            elif message.get("method") == "Runtime.exceptionThrown":
                self.console.append(json.dumps(message["params"]["exceptionDetails"])[:500])
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 15, what: str = "") -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                value = self.evaluate(expression)
            except RuntimeError:
                value = None  # e.g. the element is not there while the page still loads
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what or expression} not within {timeout_s} s; "
                                     f"console: {self.console[-10:]}")
            time.sleep(0.05)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def __enter__(self) -> Page:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._ws.close()
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)
