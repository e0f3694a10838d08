"""Re-analysis jobs the page starts: the rules over a camera's stored footage, in the background.

Jobs are rows of the store's `reanalysis_jobs` (their result too), so a result is still there after
a restart, and a job that was running when the API stopped is marked failed rather than left
running. The work runs in one child process at a time, niced, so the live analysis on the same
CPUs comes first; more jobs wait their turn. Stopping the API kills a running job.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import sessionmaker

from custodywatch.config import Config
from custodywatch.reanalyze import reanalyse
from custodywatch.store.db import for_writing
from custodywatch.store.models import ReanalysisJobRow

log = logging.getLogger("custodywatch.api.reanalysis")

RUNNING, DONE, FAILED = "running", "done", "failed"
INTERRUPTED = "interrupted: the box's API stopped while this re-analysis was running; start it again"


@dataclass(frozen=True)
class ReanalysisJob:
    id: str
    camera: str
    start: float
    end: float
    requested_by: str
    state: str
    error: str | None
    origin: float | None
    alerts: list[dict[str, Any]] | None
    created_at: float
    finished_at: float | None


def _job(row: ReanalysisJobRow) -> ReanalysisJob:
    return ReanalysisJob(row.id, row.camera, row.start, row.end, row.requested_by, row.state, row.error,
                         row.origin, None if row.alerts is None else json.loads(row.alerts), row.created_at,
                         row.finished_at)


def _child(send: Connection, cfg: Config, model_dir: Path, archive: Path, camera: str, start: float,
           end: float) -> None:
    """The job's process: the re-analysis, its outcome sent back whole or as the error that ended it."""
    try:
        origin, alerts = reanalyse(cfg, model_dir, archive, camera, start, end)
        send.send((DONE, origin, alerts))
    except Exception as exc:  # whatever stopped it is the job's error, for the investigator to read
        send.send((FAILED, str(exc) or type(exc).__name__, None))
    finally:
        send.close()


Work = tuple[str, Config, Path, str, float, float]


class ReanalysisJobs:
    def __init__(self, engine: Engine, model_dir: Path) -> None:
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self.model_dir = model_dir
        # spawn: a fresh interpreter, not a fork of the server with its threads and sockets
        self._context = multiprocessing.get_context("spawn")
        self._queue: queue.Queue[Work | None] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._current: BaseProcess | None = None
        self._closed = False
        with self._writes.begin() as session:
            session.execute(update(ReanalysisJobRow).where(ReanalysisJobRow.state == RUNNING)
                            .values(state=FAILED, error=INTERRUPTED, finished_at=time.time()))

    def start(self, cfg: Config, archive: Path, camera: str, start: float, end: float,
              by: str) -> ReanalysisJob:
        job_id = uuid.uuid4().hex
        now = time.time()
        with self._writes.begin() as session:
            session.add(ReanalysisJobRow(id=job_id, camera=camera, start=start, end=end, requested_by=by,
                                         state=RUNNING, error=None, origin=None, alerts=None, created_at=now,
                                         finished_at=None))
        with self._lock:
            self._queue.put((job_id, cfg, archive, camera, start, end))
            if self._worker is None and not self._closed:
                self._worker = threading.Thread(target=self._work, name="reanalysis", daemon=True)
                self._worker.start()
        job = self.get(job_id)
        assert job is not None
        return job

    def _work(self) -> None:
        while (work := self._queue.get()) is not None:
            job_id, cfg, archive, camera, start, end = work
            receive, send = self._context.Pipe(duplex=False)
            process = self._context.Process(target=_child, name="cw-reanalysis", daemon=True,
                                            args=(send, cfg, self.model_dir, archive, camera, start, end))
            with self._lock:
                if self._closed:
                    return
                self._current = process
                process.start()
            send.close()
            try:
                state, value, alerts = receive.recv()
            except EOFError:  # killed (out of memory, or the service stopping): no outcome came
                state, value, alerts = FAILED, "the re-analysis process ended without a result", None
            process.join()
            with self._lock:
                self._current = None
            self._finish(job_id, state, value, alerts)

    def _finish(self, job_id: str, state: str, value: Any, alerts: list[dict[str, Any]] | None) -> None:
        if state == DONE:
            values: dict[str, Any] = {"origin": value, "alerts": json.dumps(alerts)}
        else:
            log.warning("re-analysis %s failed: %s", job_id, value)
            values = {"error": value}
        with self._writes.begin() as session:
            session.execute(update(ReanalysisJobRow).where(ReanalysisJobRow.id == job_id)
                            .values(state=state, finished_at=time.time(), **values))

    def get(self, job_id: str) -> ReanalysisJob | None:
        with self._reads() as session:
            row = session.get(ReanalysisJobRow, job_id)
            return None if row is None else _job(row)

    def recent(self, limit: int = 50) -> list[ReanalysisJob]:
        with self._reads() as session:
            rows = session.scalars(select(ReanalysisJobRow).order_by(ReanalysisJobRow.created_at.desc())
                                   .limit(limit))
            return [_job(r) for r in rows]

    def close(self) -> None:
        """Stop at once: a job still running is killed (it reads failed after the next start), so
        stopping the service never waits for a long re-analysis."""
        with self._lock:
            self._closed = True
            self._queue.put(None)
            current = self._current
        if current is not None and current.is_alive():
            current.terminate()
            current.join(2.0)
