"""The box's forwarder: sends its outbox to the central PostgreSQL, in order, until it is empty.

It runs as a thread of the service's main process rather than as a supervised child: the camera
health it snapshots lives in this process (the health collector), its work is waiting on the
network, and /metrics and /healthz read its lag directly. A failure of the central link is caught
and retried with exponential back-off (capped at `retry_max_s`); the thread itself never stops on
one, so /healthz reports it as a process that is alive while the lag grows.

Each pass: note the cameras' health (one row per camera per `health_interval_s`, or at once when a
camera connects or drops), note signed chain heads the recorder appended to its heads files, send
the rows after the acknowledged cursor in one central transaction, then move the cursor. A cut
link shows as a connect or statement timeout (a black hole) or a refusal; both end the pass.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from custodywatch.api.schemas import ForwardingHealth, HealthReport
from custodywatch.config import CentralLinkConfig, Config, redact_url
from custodywatch.pipeline.messages import CameraHealth
from custodywatch.recorder.signing import SignedHeads
from custodywatch.store.central import CentralStore, ForwardRejected
from custodywatch.store.db import postgres_driver
from custodywatch.store.outbox import Outbox, OutboxKind

log = logging.getLogger("custodywatch.forwarder")

FIRST_RETRY_S = 0.25
STATEMENT_TIMEOUT_S = 15
PRUNE_EVERY_S = 3600.0
UNFORWARDED_KEEP_S = 7 * 86400.0


@dataclass(frozen=True)
class ForwardingStatus:
    """The link as /healthz and /metrics show it."""

    running: bool
    connected: bool  # the last attempt reached the centre
    acked_seq: int  # every outbox row up to here is held centrally
    pending: int  # rows not yet held centrally
    oldest_age_s: float | None  # age of the oldest of them
    last_success_at: float | None
    failures: int  # attempts failed since the last success
    last_error: str | None  # why the last attempt failed (no credentials in it)


def central_engine(url: str, connect_timeout_s: int) -> Engine:
    """An engine that notices a dead link within seconds, whether it refuses or swallows packets."""
    return create_engine(
        postgres_driver(make_url(url)), pool_size=1, max_overflow=0, pool_pre_ping=True, pool_recycle=300,
        connect_args={
            "connect_timeout": connect_timeout_s,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_S * 1000}",
            # A connection whose peer vanished mid-statement fails once unacknowledged data is
            # this old, instead of waiting for the kernel's retransmissions (about 15 min).
            "tcp_user_timeout": STATEMENT_TIMEOUT_S * 1000,
            "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
        })


class Forwarder:
    def __init__(self, box: Engine, link: CentralLinkConfig, site_id: str, box_id: str, *,
                 health: Callable[[], Mapping[str, CameraHealth]] | None = None,
                 heads_dir: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.link, self.site_id, self.box_id = link, site_id, box_id
        self._outbox = Outbox(box, clock=clock)
        self._engine = central_engine(link.database_url, link.connect_timeout_s)
        self._central = CentralStore(self._engine, clock=clock)
        self._health, self._heads_dir, self._clock = health, heads_dir, clock
        self._secret = self._engine.url.password
        self._health_sent: dict[str, tuple[bool, float]] = {}  # camera: (connected, when noted)
        self._heads_read: dict[Path, int] = {}  # heads file: bytes read
        self._lock = threading.Lock()
        self._connected = False
        self._last_success: float | None = None
        self._failures = 0
        self._last_error: str | None = None
        self._last_contact = float("-inf")
        self._next_prune = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="forwarder", daemon=True)

    # ---- lifetime ------------------------------------------------------------------------------

    def start(self) -> None:
        log.info("forwarding to %s as %s/%s", redact_url(self.link.database_url), self.site_id, self.box_id)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        # A pass stuck on a black-holed link may outlast this; the thread is a daemon, and the
        # service must be gone within 10 s of SIGTERM.
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._engine.dispose()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def status(self) -> ForwardingStatus:
        lag = self._outbox.lag()
        with self._lock:
            return ForwardingStatus(self.alive(), self._connected, lag.acked_seq, lag.pending,
                                    lag.oldest_age_s, self._last_success, self._failures, self._last_error)

    # ---- the loop ------------------------------------------------------------------------------

    def _run(self) -> None:
        retry_s = FIRST_RETRY_S
        delay = 0.0
        while not self._stop.wait(delay):
            try:
                self.note_health()
                self.note_chain_heads()
                sent = self.forward_once()
                self._prune()
            except Exception as exc:
                if not isinstance(exc, SQLAlchemyError | OSError | ForwardRejected):
                    # A bug must not end forwarding for good: report it and go on trying.
                    log.exception("forwarding failed unexpectedly")
                self._failed(exc)
                # Pooled connections may be half dead after a cut: start afresh next time.
                self._engine.dispose()
                delay, retry_s = retry_s, min(retry_s * 2, self.link.retry_max_s)
                continue
            retry_s = FIRST_RETRY_S
            delay = 0.0 if sent >= self.link.batch else self.link.interval_s

    def forward_once(self) -> int:
        """Send one batch after the acknowledged cursor; returns how many rows were sent."""
        acked = self._outbox.acked_seq()
        rows = self._outbox.after(acked, self.link.batch)
        now = self._clock()
        # With nothing to send the centre is still told now and then that the box is alive.
        if not rows and now - self._last_contact < self.link.health_interval_s:
            return 0
        held = self._central.take(self.site_id, self.box_id, rows)
        if held > self._outbox.last_seq():
            # Acknowledging it would skip this box's next rows for good.
            raise ForwardRejected(
                f"the centre holds rows up to {held} from {self.site_id}/{self.box_id}, but this box's "
                f"outbox ends at {self._outbox.last_seq()}: its database was replaced, or another box "
                "uses the same site and box ids (docs/deployment.md: 'a box whose database was replaced')")
        self._last_contact = now
        if held > acked:
            self._outbox.ack(held)
        with self._lock:
            if self._failures:
                log.info("central link back after %d failed attempts", self._failures)
            self._connected, self._last_success, self._failures, self._last_error = True, now, 0, None
        return len(rows)

    def _failed(self, exc: BaseException) -> None:
        reason = self._describe(exc)
        with self._lock:
            if self._failures == 0:
                log.warning("central link down, retrying with back-off: %s", reason)
            self._connected, self._failures, self._last_error = False, self._failures + 1, reason

    def _describe(self, exc: BaseException) -> str:
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {text[0] if text else ''}"
        return reason.replace(self._secret, "***") if self._secret else reason

    def _prune(self) -> None:
        now = self._clock()
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY_S
            self._outbox.prune(self.link.keep_forwarded_days * 86400)

    # ---- what the box notes for the centre besides alerts and custody --------------------------

    def note_health(self) -> int:
        """One outbox row per camera whose health is due (interval passed, or connected changed)."""
        if self._health is None:
            return 0
        now = self._clock()
        noted = 0
        for camera, h in self._health().items():
            last = self._health_sent.get(camera)
            if last is not None and last[0] == h.connected and now - last[1] < self.link.health_interval_s:
                continue
            payload = {"camera": camera, "connected": h.connected, "fps_in": h.fps_in,
                       "fps_analysed": h.fps_analysed, "dropped": h.dropped, "reconnects": h.reconnects,
                       "last_frame_at": h.last_frame_at, "reported_at": now}
            if not self._outbox.refresh_pending(OutboxKind.HEALTH, camera, payload):
                self._outbox.add(OutboxKind.HEALTH, camera, payload)
            self._health_sent[camera] = (h.connected, now)
            noted += 1
        return noted

    def note_chain_heads(self) -> int:
        """Outbox rows for signed heads appended to the heads files since the last look (each once)."""
        if self._heads_dir is None or not self._heads_dir.is_dir():
            return 0
        noted = 0
        for path in sorted(self._heads_dir.glob("*.jsonl")):
            with path.open("rb") as f:
                f.seek(self._heads_read.get(path, 0))
                data = f.read()
            whole = data.rfind(b"\n") + 1  # a line still being written is read next time
            for line in data[:whole].decode("utf-8", errors="replace").splitlines():
                noted += self._note_head(path, line)
            self._heads_read[path] = self._heads_read.get(path, 0) + whole
        return noted

    def _note_head(self, path: Path, line: str) -> int:
        if not line.strip():
            return 0
        try:
            head = SignedHeads.from_json(line)
        except (ValueError, KeyError, TypeError):
            log.warning("%s: skipped a line that is not a signed head", path)
            return 0
        # The id follows from the head itself, so reading the file again after a restart adds nothing.
        entry_id = "head-" + hashlib.sha256(line.strip().encode()).hexdigest()[:59]
        return int(self._outbox.add(OutboxKind.CHAIN_HEAD, f"{head.archive_id}@{head.index_bytes}",
                                    asdict(head), entry_id=entry_id))


def start_forwarding(cfg: Config, box: Engine, health: Callable[[], Mapping[str, CameraHealth]] | None,
                     data_dir: Path) -> Forwarder | None:
    """The service's forwarder, started; None for a box without a centre, whose outbox is then only
    a short local record (rows older than a week are dropped)."""
    if cfg.central is None:
        Outbox(box).prune(UNFORWARDED_KEEP_S, target=None)
        return None
    forwarder = Forwarder(box, cfg.central, cfg.site.id, cfg.site.box_id, health=health,
                          heads_dir=data_dir / "signatures")
    forwarder.start()
    return forwarder


def with_forwarding(report: HealthReport, forwarder: Forwarder | None) -> HealthReport:
    """/healthz's report with the forwarder as a process and the link's lag beside it."""
    if forwarder is None:
        return report
    s = forwarder.status()
    link = ForwardingHealth(
        connected=s.connected, pending=s.pending, oldest_pending_age_s=s.oldest_age_s, acked_seq=s.acked_seq,
        last_success_at=None if s.last_success_at is None else datetime.fromtimestamp(s.last_success_at, UTC),
        failures=s.failures, last_error=s.last_error)
    return report.model_copy(update={"processes": {**report.processes, "forwarder": s.running},
                                     "forwarding": link})
