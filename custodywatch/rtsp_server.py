"""A real RTSP server that loops video files as live cameras, for tests and demos.

Runs the shared GStreamer tool (`rtsp_loop_server.py`) in its own venv, because it needs Debian's
`gi` bindings, which the project venv does not see. Each mount loops its file forever in real
time; the loop starts when the first client connects. Files must be H.264 without B-frames with
a keyframe at least every 2 s (what `custodywatch.scenes` writes).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import av

from custodywatch.paths import project_root, shared_dir

SETUP_HINT = "run scripts/setup.sh"
# A client needs about 2 s for the handshake and the next keyframe (tools/README.md).
PROBE_OPEN_TIMEOUT_S = 5.0
PROBE_READ_TIMEOUT_S = 5.0
STOP_GRACE_S = 5.0
PORT_ATTEMPTS = 3
# What the tool prints when its venv lacks GStreamer's Python bindings or gst-rtsp-server.
MISSING_DEPENDENCY_MARKERS = ("No module named", "Namespace GstRtspServer not available",
                              "Namespace Gst not available")


class RtspServerError(RuntimeError):
    pass


class PortTakenError(RtspServerError):
    pass


def default_tool() -> Path:
    env = os.environ.get("CUSTODYWATCH_RTSP_TOOL")
    return Path(env) if env else shared_dir() / "tools" / "rtsp_loop_server.py"


def default_python() -> Path:
    env = os.environ.get("CUSTODYWATCH_RTSP_PYTHON")
    return Path(env) if env else project_root() / ".venv-rtsp" / "bin" / "python"


def free_port(host: str) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def first_frame(url: str, open_timeout_s: float, read_timeout_s: float) -> av.VideoFrame:
    """Connect as a camera client would (RTSP over TCP) and decode one frame."""
    options = {"rtsp_transport": "tcp"}
    with av.open(url, options=options, timeout=(open_timeout_s, read_timeout_s)) as container:
        for frame in container.decode(video=0):
            return frame
    raise RtspServerError(f"{url}: stream ended before a frame decoded")


class RtspLoopServer:
    """The loop server as a context manager: `with RtspLoopServer({"cam1": path}) as server:`.

    The port (a free one unless given) is kept across `kill()` and `start()`, so an outage test
    can take the "camera" away and bring it back at the same URL.
    """

    def __init__(self, mounts: dict[str, Path], port: int | None = None, host: str = "127.0.0.1",
                 tool: Path | None = None, python: Path | None = None):
        if not mounts:
            raise ValueError("the RTSP server needs at least one mount")
        for name in mounts:
            if not name or "/" in name or "=" in name or name.strip() != name:
                raise ValueError(f"mount name {name!r} must be a single path segment without '='")
        self.mounts = {name: Path(path).resolve() for name, path in mounts.items()}
        self.host = host
        self.port = port
        self.tool = tool or default_tool()
        self.python = python or default_python()
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    def __enter__(self) -> RtspLoopServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def url(self, mount: str) -> str:
        if mount not in self.mounts:
            raise KeyError(f"no mount {mount!r} (mounts: {', '.join(self.mounts)})")
        if self.port is None:
            raise RtspServerError("the server has not been started: it has no port yet")
        return f"rtsp://{self.host}:{self.port}/{mount}"

    def start(self, timeout: float = 20) -> None:
        """Start the server and return once every mount has delivered a decodable frame."""
        if self._process is not None and self._process.poll() is None:
            raise RtspServerError(f"the RTSP server is already running (pid {self._process.pid})")
        self._check_prerequisites()
        picked_port = self.port is None
        for attempt in range(PORT_ATTEMPTS):
            if picked_port:
                self.port = free_port(self.host)
            try:
                self._launch(time.monotonic() + timeout)
                return
            except PortTakenError:
                # A port we picked can be taken between our check and the server's bind: pick again.
                if not picked_port or attempt == PORT_ATTEMPTS - 1:
                    raise

    def _launch(self, deadline: float) -> None:
        fd, log_name = tempfile.mkstemp(prefix="rtsp-loop-server-", suffix=".log")
        self._log_path = Path(log_name)
        command = [str(self.python), str(self.tool), "--address", self.host, "--port", str(self.port),
                   *(f"{name}={path}" for name, path in self.mounts.items())]
        with os.fdopen(fd, "wb") as log:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT)
        try:
            self._wait_until_serving(deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after a grace period) and reap it."""
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._forget_process()

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash or power cut would: clients see the stream end."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
        self._forget_process()

    def restart(self, timeout: float = 20) -> None:
        """Kill the server and start it again on the same port."""
        self.kill()
        self.start(timeout)

    def _forget_process(self) -> None:
        self._process = None
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def _check_prerequisites(self) -> None:
        if not self.tool.is_file():
            raise RtspServerError(f"RTSP loop server tool not found at {self.tool} "
                                  "(set CUSTODYWATCH_RTSP_TOOL, or CUSTODYWATCH_SHARED to the test material)")
        if not self.python.is_file():
            raise RtspServerError(f"the RTSP server's Python {self.python} does not exist: {SETUP_HINT} "
                                  f"(or set CUSTODYWATCH_RTSP_PYTHON)")
        for name, path in self.mounts.items():
            if not path.is_file():
                raise RtspServerError(f"mount {name!r}: video file {path} not found")

    def _wait_until_serving(self, deadline: float) -> None:
        # Mounts in parallel: each first frame waits for a keyframe (up to 2 s).
        with ThreadPoolExecutor(max_workers=len(self.mounts)) as pool:
            for waiting in [pool.submit(self._wait_for_mount, mount, deadline) for mount in self.mounts]:
                waiting.result()

    def _wait_for_mount(self, mount: str, deadline: float) -> None:
        url = self.url(mount)
        last_error: Exception | None = None
        while True:
            self._check_alive()
            left = deadline - time.monotonic()
            if left <= 0:
                raise RtspServerError(f"RTSP server did not serve {url} in time (last error: {last_error})\n"
                                      f"{self._log_tail()}")
            try:
                first_frame(url, min(PROBE_OPEN_TIMEOUT_S, left), min(PROBE_READ_TIMEOUT_S, left))
                return
            except (av.error.FFmpegError, OSError, RtspServerError) as exc:
                last_error = exc
                time.sleep(0.2)

    def _check_alive(self) -> None:
        assert self._process is not None
        code = self._process.poll()
        if code is None:
            return
        tail = self._log_tail()
        if "could not bind port" in tail:
            raise PortTakenError(f"RTSP server could not listen on {self.host}:{self.port}: port taken")
        hint = f" ({SETUP_HINT})" if any(marker in tail for marker in MISSING_DEPENDENCY_MARKERS) else ""
        raise RtspServerError(f"RTSP server exited with code {code} before serving{hint}\n{tail}")

    def _log_tail(self, limit: int = 2000) -> str:
        if self._log_path is None:
            return ""
        return self._log_path.read_bytes()[-limit:].decode("utf-8", "replace")
