"""Re-analysis (investigator): run the rules over a camera's stored footage in the background, as
`custodywatch analyze --archive` does, and read the alerts it finds. Starting one is audited."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from custodywatch.api.auth import Investigator
from custodywatch.api.deps import Services, ServicesDep
from custodywatch.api.media import archive_dir, check_camera, not_found
from custodywatch.api.reanalysis import ReanalysisJobs
from custodywatch.api.schemas import ErrorBody
from custodywatch.api.schemas_reanalysis import ReanalysisRequest, ReanalysisView
from custodywatch.reanalyze import ArchiveRangeError, archive_range

router = APIRouter(prefix="/api/reanalysis", tags=["reanalysis"])

MAX_RANGE_S = 24 * 3600.0


def _jobs(services: Services) -> ReanalysisJobs:
    if services.reanalysis is None:
        raise not_found("this box runs no re-analysis")
    return services.reanalysis


@router.post("", response_model=ReanalysisView, status_code=status.HTTP_202_ACCEPTED, responses={
    404: {"model": ErrorBody, "description": "Unknown camera, or nothing recorded."},
    409: {"model": ErrorBody, "description": "The box has no configuration to run the rules with."},
    422: {"model": ErrorBody, "description": "A bad range, or nothing stored in it."}})
def start_reanalysis(services: ServicesDep, user: Investigator, body: ReanalysisRequest) -> ReanalysisView:
    jobs = _jobs(services)
    camera = check_camera(services, body.camera)
    if services.config is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "the box has no configuration loaded")
    start, end = body.start.timestamp(), body.end.timestamp()
    if not 0 < end - start <= MAX_RANGE_S:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"end: must be after start, and the range at most {MAX_RANGE_S:g} s")
    archive = archive_dir(services)
    try:
        archive_range(archive, camera, start, end)  # refuse at once what a job could only fail on
    except ArchiveRangeError as exc:
        detail = str(exc).removeprefix("--archive: ")
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from None
    job = jobs.start(services.config, archive, camera, start, end, user.username)
    services.audit.append(user.username, "reanalysis_start", job.id, camera=camera, start=start, end=end)
    return ReanalysisView.of(job)


@router.get("", response_model=list[ReanalysisView])
def list_reanalyses(services: ServicesDep, _user: Investigator) -> list[ReanalysisView]:
    """The latest 50, newest first."""
    return [ReanalysisView.of(j) for j in _jobs(services).recent()]


@router.get("/{job_id}", response_model=ReanalysisView, responses={404: {"model": ErrorBody}})
def get_reanalysis(services: ServicesDep, _user: Investigator, job_id: str) -> ReanalysisView:
    job = _jobs(services).get(job_id)
    if job is None:
        raise not_found(f"no re-analysis {job_id!r}")
    return ReanalysisView.of(job)
