"""Recordings (investigator): a camera's timeline of recorded spans and gaps, and playback of any
range across segment boundaries.

Playback cuts the range from the archive without re-encoding (the recorder's clip cutter) into a
file kept for a while under the data directory, served with range requests so the player seeks.
A gap ends the cut; the response's X-Clip-* headers say what the file covers and why it stops.
"""
from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import FileResponse

from custodywatch.api.auth import Investigator
from custodywatch.api.deps import ServicesDep
from custodywatch.api.media import archive_dir, check_camera, data_dir, first_request, not_found
from custodywatch.api.schemas import ErrorBody
from custodywatch.api.schemas_media import Gap, Span, Timeline
from custodywatch.recorder.clips import ClipError, cut_clip, sources
from custodywatch.recorder.index import ArchiveIndex
from custodywatch.store.views import UtcDatetime

router = APIRouter(prefix="/api/recordings", tags=["recordings"])

MAX_PLAY_S = 3600.0
MAX_TIMELINE_S = 7 * 86400.0
KEEP_CUTS_S = 3600.0  # a cut is kept this long after it was made: the player seeks in it meanwhile


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _range(since: datetime, until: datetime, longest: float) -> tuple[float, float]:
    start, end = since.timestamp(), until.timestamp()
    if end <= start:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "until: must be after since")
    if end - start > longest:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"the range is longer than {longest:g} s")
    return start, end


@router.get("/{camera}/timeline", response_model=Timeline, responses={404: {"model": ErrorBody}})
def timeline(services: ServicesDep, _user: Investigator, camera: str,
             since: Annotated[UtcDatetime, Query()], until: Annotated[UtcDatetime, Query()]) -> Timeline:
    check_camera(services, camera)
    start, end = _range(since, until, MAX_TIMELINE_S)
    found, gaps = sources(ArchiveIndex(archive_dir(services)), camera, since=start)
    spans = [s for s in found if s.end > start and s.start < end]
    # Adjacent files are one recorded span to the viewer.
    merged: list[list[float]] = []
    for s in spans:
        if merged and s.start - merged[-1][1] <= 0.25:
            merged[-1][1] = max(merged[-1][1], s.end)
        else:
            merged.append([s.start, s.end])
    return Timeline(
        camera=camera,
        segments=[Span(start=_at(a), end=_at(b), start_epoch=a, end_epoch=b) for a, b in merged],
        gaps=[Gap(start=_at(g.start), end=_at(g.end), start_epoch=g.start, end_epoch=g.end,
                  cause=g.cause.value) for g in gaps if g.end > start and g.start < end])


@router.get("/{camera}/play", response_class=FileResponse, responses={404: {"model": ErrorBody}})
def play(services: ServicesDep, user: Investigator, request: Request, camera: str,
         since: Annotated[UtcDatetime, Query()], until: Annotated[UtcDatetime, Query()]) -> FileResponse:
    check_camera(services, camera)
    start, end = _range(since, until, MAX_PLAY_S)
    index = ArchiveIndex(archive_dir(services))
    cuts = data_dir(services) / "playback"
    _forget_old(cuts)
    name = hashlib.sha256(f"{index.id}/{camera}/{start!r}/{end!r}".encode()).hexdigest()[:32]
    path, meta = cuts / f"{name}.mp4", cuts / f"{name}.txt"
    if not (path.is_file() and meta.is_file()):
        try:
            clip = cut_clip(index, camera, start, end, path)
        except ClipError as exc:
            raise not_found(str(exc)) from exc
        hole = "" if clip.hole is None else f"{clip.hole.cause}|{clip.hole.start!r}|{clip.hole.end!r}"
        meta.write_text(f"{clip.start!r}\n{clip.end!r}\n{hole}\n")
    clip_start, clip_end, hole = meta.read_text().split("\n")[:3]
    if first_request(request):
        services.audit.append(user.username, "play_recording", camera, start=start, end=end)
    headers = {"X-Clip-Start": clip_start, "X-Clip-End": clip_end}
    if hole:
        headers["X-Clip-Hole"] = hole
    return FileResponse(path, media_type="video/mp4", headers=headers)


def _forget_old(cuts: Path) -> None:
    cuts.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - KEEP_CUTS_S
    for old in cuts.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:
            pass  # another request removed it first
