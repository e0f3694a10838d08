"""Re-analysis jobs the page starts: the rules over a camera's stored footage, in the background.

Jobs are rows of the store's `reanalysis_jobs` (their result too), so a result is still there after
a restart, and a job that was running when the API stopped is marked failed rather than left
running. The work runs in one child process at a time, niced, so the live analysis on the same
CPUs comes first; more jobs wait their turn.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import threading
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
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


class ReanalysisJobs:
    def __init__(self, engine: Engine, model_dir: Path) -> None:
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self.model_dir = model_dir
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
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
            if self._pool is None:
                # spawn: a fresh interpreter, not a fork of the server with its threads and sockets
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            future = self._pool.submit(reanalyse, cfg, self.model_dir, archive, camera, start, end)
        future.add_done_callback(lambda done: self._finish(job_id, done))
        job = self.get(job_id)
        assert job is not None
        return job

    def _finish(self, job_id: str, done: Future[tuple[float, list[dict[str, Any]]]]) -> None:
        try:
            origin, alerts = done.result()
            values: dict[str, Any] = {"state": DONE, "origin": origin, "alerts": json.dumps(alerts)}
        except Exception as exc:  # whatever stopped it is the job's error, for the investigator to read
            log.warning("re-analysis %s failed: %s", job_id, exc)
            values = {"state": FAILED, "error": str(exc) or type(exc).__name__}
        with self._writes.begin() as session:
            session.execute(update(ReanalysisJobRow).where(ReanalysisJobRow.id == job_id)
                            .values(finished_at=time.time(), **values))

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
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
