"""Evidence export (investigator): start a job for cameras and a time range, poll it, download the
signed package as a zip once ready. Requesting and downloading are audited."""
from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse

from custodywatch.api.auth import Investigator
from custodywatch.api.deps import ServicesDep
from custodywatch.api.exports import Job
from custodywatch.api.media import archive_dir, check_camera, data_dir, first_request, not_found
from custodywatch.api.schemas import ErrorBody
from custodywatch.api.schemas_media import ExportJob, ExportRequest, ExportState

router = APIRouter(prefix="/api/exports", tags=["exports"])

MAX_EXPORT_S = 7 * 86400.0


def _view(job: Job) -> ExportJob:
    return ExportJob(
        id=job.id, state=job.state, cameras=job.cameras, start=datetime.fromtimestamp(job.start, UTC),
        end=datetime.fromtimestamp(job.end, UTC), requested_by=job.requested_by, error=job.error,
        segments=job.segments, bytes=job.bytes,
        download=f"/api/exports/{job.id}/download" if job.state == ExportState.READY else None)


@router.post("", response_model=ExportJob, status_code=status.HTTP_202_ACCEPTED,
             responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
def start_export(services: ServicesDep, user: Investigator, body: ExportRequest) -> ExportJob:
    cameras = sorted({check_camera(services, c) for c in body.cameras})
    start, end = body.start.timestamp(), body.end.timestamp()
    if not 0 < end - start <= MAX_EXPORT_S:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"end: must be after start, and the range at most {MAX_EXPORT_S:g} s")
    site = None if services.config is None else services.config.site
    box = {} if site is None else {"site": site.id, "box": site.box_id}
    job = services.exports.start(archive_dir(services), data_dir(services), cameras, start, end,
                                 user.username, body.reason, body.alert_id, box)
    services.audit.append(user.username, "export_start", job.id, cameras=cameras, start=start, end=end,
                          reason=body.reason, alert_id=body.alert_id)
    return _view(job)


@router.get("", response_model=list[ExportJob])
def list_exports(services: ServicesDep, _user: Investigator) -> list[ExportJob]:
    return [_view(j) for j in services.exports.all()]


@router.get("/{job_id}", response_model=ExportJob, responses={404: {"model": ErrorBody}})
def get_export(services: ServicesDep, _user: Investigator, job_id: str) -> ExportJob:
    job = services.exports.get(job_id)
    if job is None:
        raise not_found(f"no export {job_id!r}")
    return _view(job)


@router.get("/{job_id}/download", response_class=FileResponse,
            responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 410: {"model": ErrorBody}})
def download_export(services: ServicesDep, user: Investigator, request: Request, job_id: str) -> FileResponse:
    job = services.exports.get(job_id)
    if job is None:
        raise not_found(f"no export {job_id!r}")
    if job.zip_path is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"export {job_id!r} is {job.state.value}"
                            + (f": {job.error}" if job.error else ""))
    if not job.zip_path.is_file():
        raise HTTPException(status.HTTP_410_GONE, f"export {job_id!r}: its package was removed from the box")
    if first_request(request):
        services.audit.append(user.username, "export_download", job_id)
    return FileResponse(job.zip_path, media_type="application/zip", filename=job.zip_path.name)
