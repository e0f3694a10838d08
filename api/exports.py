"""Evidence export jobs: a signed package of a range of recordings, made in the background and
zipped for download. Jobs live in memory (the packages on disk outlive a restart; the list of
jobs does not)."""
from __future__ import annotations

import logging
import shutil
import threading
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from custodywatch.api.schemas_media import ExportState
from custodywatch.recorder.index import ArchiveIndex
from custodywatch.recorder.package import ExportError, export_package
from custodywatch.recorder.signing import KeyFileError, load_or_create_key

log = logging.getLogger("custodywatch.api.exports")


@dataclass(frozen=True)
class Job:
    id: str
    cameras: list[str]
    start: float
    end: float
    requested_by: str
    reason: str
    state: ExportState = ExportState.RUNNING
    error: str | None = None
    segments: int | None = None
    bytes: int | None = None
    zip_path: Path | None = None


@dataclass
class ExportJobs:
    _jobs: dict[str, Job] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, archive: Path, data: Path, cameras: list[str], start: float, end: float, by: str,
              reason: str, alert_id: str | None, box: dict[str, str]) -> Job:
        job = Job(uuid.uuid4().hex, cameras, start, end, by, reason)
        self._set(job)
        threading.Thread(target=self._run, args=(job, archive, data, alert_id, box), name=f"export-{job.id}",
                         daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def _set(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job

    def _run(self, job: Job, archive: Path, data: Path, alert_id: str | None, box: dict[str, str]) -> None:
        folder = data / "exports" / job.id
        try:
            index = ArchiveIndex(archive)
            key = load_or_create_key(data / "keys")
            package = export_package(
                index, job.cameras, job.start, job.end, folder / "package", key,
                heads_file=data / "signatures" / f"{index.id}.jsonl",
                subject={"reason": job.reason, "requested_by": job.requested_by, "alert_id": alert_id},
                box=box)
            zipped = Path(shutil.make_archive(str(folder / f"evidence-{job.id}"), "zip", folder / "package"))
        except (ExportError, KeyFileError, OSError) as exc:
            log.warning("export %s failed: %s", job.id, exc)
            self._set(replace(job, state=ExportState.FAILED, error=str(exc)))
            return
        self._set(replace(job, state=ExportState.READY, segments=package.segments, bytes=package.bytes,
                          zip_path=zipped))
