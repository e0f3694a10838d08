"""Evidence export jobs: a signed package of a range of recordings, made in the background and
zipped for download.

Jobs are rows of the store's `export_jobs`, so a finished package can still be downloaded after a
restart. A job's work runs in a thread of the API process: one that was running when the process
stopped is marked failed (with why) when the jobs are next opened, rather than vanishing or looking
as if it were still running.
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import sessionmaker

from custodywatch.api.schemas_media import ExportState
from custodywatch.recorder.index import ArchiveIndex
from custodywatch.recorder.package import ExportError, export_package
from custodywatch.recorder.signing import KeyFileError, load_or_create_key
from custodywatch.store.db import for_writing
from custodywatch.store.models import ExportJobRow

log = logging.getLogger("custodywatch.api.exports")

INTERRUPTED = "interrupted: the box's API stopped while this export was running; start it again"


@dataclass(frozen=True)
class Job:
    id: str
    cameras: list[str]
    start: float
    end: float
    requested_by: str
    reason: str
    alert_id: str | None = None
    state: ExportState = ExportState.RUNNING
    error: str | None = None
    segments: int | None = None
    bytes: int | None = None
    zip_path: Path | None = None
    created_at: float = 0.0


def _job(row: ExportJobRow) -> Job:
    return Job(row.id, row.cameras.split(","), row.start, row.end, row.requested_by, row.reason, row.alert_id,
               ExportState(row.state), row.error, row.segments, row.bytes,
               None if row.zip_path is None else Path(row.zip_path), row.created_at)


class ExportJobs:
    def __init__(self, engine: Engine) -> None:
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self.fail_interrupted()

    def fail_interrupted(self) -> int:
        """Mark failed every job still `running` in the store: this process has no thread for it."""
        with self._writes.begin() as session:
            result = session.execute(
                update(ExportJobRow).where(ExportJobRow.state == ExportState.RUNNING.value)
                .values(state=ExportState.FAILED.value, error=INTERRUPTED, finished_at=time.time()))
            count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.warning("%d export job(s) were interrupted by a restart and are marked failed", count)
        return count

    def start(self, archive: Path, data: Path, cameras: list[str], start: float, end: float, by: str,
              reason: str, alert_id: str | None, box: dict[str, str]) -> Job:
        job = Job(uuid.uuid4().hex, cameras, start, end, by, reason, alert_id, created_at=time.time())
        with self._writes.begin() as session:
            session.add(ExportJobRow(
                id=job.id, cameras=",".join(cameras), start=start, end=end, requested_by=by, reason=reason,
                alert_id=alert_id, state=job.state.value, error=None, segments=None, bytes=None,
                zip_path=None, created_at=job.created_at, finished_at=None))
        threading.Thread(target=self._run, args=(job, archive, data, box), name=f"export-{job.id}",
                         daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._reads() as session:
            row = session.get(ExportJobRow, job_id)
            return None if row is None else _job(row)

    def all(self) -> list[Job]:
        with self._reads() as session:
            return [_job(r) for r in session.scalars(select(ExportJobRow).order_by(ExportJobRow.created_at))]

    def _finish(self, job: Job) -> None:
        with self._writes.begin() as session:
            row = session.get(ExportJobRow, job.id)
            if row is None:
                return
            row.state, row.error = job.state.value, job.error
            row.segments, row.bytes = job.segments, job.bytes
            row.zip_path = None if job.zip_path is None else str(job.zip_path)
            row.finished_at = time.time()

    def _run(self, job: Job, archive: Path, data: Path, box: dict[str, str]) -> None:
        folder = data / "exports" / job.id
        try:
            index = ArchiveIndex(archive)
            key = load_or_create_key(data / "keys")
            package = export_package(
                index, job.cameras, job.start, job.end, folder / "package", key,
                heads_file=data / "signatures" / f"{index.id}.jsonl",
                subject={"reason": job.reason, "requested_by": job.requested_by, "alert_id": job.alert_id},
                box=box)
            zipped = Path(shutil.make_archive(str(folder / f"evidence-{job.id}"), "zip", folder / "package"))
        except (ExportError, KeyFileError, OSError) as exc:
            log.warning("export %s failed: %s", job.id, exc)
            self._finish(replace(job, state=ExportState.FAILED, error=str(exc)))
            return
        self._finish(replace(job, state=ExportState.READY, segments=package.segments, bytes=package.bytes,
                             zip_path=zipped))
