"""Snapshots, clips, recordings, legal holds and evidence export over HTTP, on a real archive
recorded by the recorder and clips cut by its alert clipper."""
from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import av
import httpx
import pytest
from api_accounts import TokenFor
from conftest import Serve
from live_server import LiveServer
from sqlalchemy import Engine

from custodywatch.config import RecorderConfig
from custodywatch.recorder.alert_clips import AlertClipper
from custodywatch.recorder.clips import EPS
from custodywatch.recorder.index import ArchiveIndex, SegmentRecord
from custodywatch.recorder.package import verify_package
from custodywatch.rules.events import AlertEvent
from custodywatch.store.accounts import AuditLog, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.vocabulary import RuleId, Severity


def first_segments(data: Path) -> list[SegmentRecord]:
    segments = [r for r in ArchiveIndex(data / "archive").records() if isinstance(r, SegmentRecord)]
    assert len(segments) >= 2
    return sorted(segments, key=lambda s: s.start)


def shown_at(data: Path, segment: SegmentRecord, at: float) -> float:
    """The wall time of the segment's video frame on screen at `at`: the last one received by then."""
    with av.open(str(data / "archive" / segment.path)) as container:
        stream = container.streams.video[0]
        walls = [segment.start + float(p.pts * stream.time_base) for p in container.demux(stream)
                 if p.pts is not None and p.size]
    return max(wall for wall in walls if wall <= at + EPS)


@pytest.fixture
def server(serve: Serve, recorded: Path) -> LiveServer:
    return serve(data_dir=recorded)


@pytest.fixture
def clipped(recorded: Path, store: AlertStore, engine: Engine) -> str:
    """An alert in the recorded range, with the clip and snapshot the recorder's clipper makes."""
    first = first_segments(recorded)[0]
    store.apply(AlertEvent("fired", "a1", RuleId.SINGLE_OFFICER, "interrogation-1", "cam-a", Severity.ALARM,
                           first.start + 1, first.start + 2))
    settings = RecorderConfig(pre_roll_s=0.5, post_roll_s=1)
    clipper = AlertClipper(engine, ArchiveIndex(recorded / "archive"), recorded / "clips", settings)
    clipper.poll(first.start + 60)
    assert (recorded / "clips" / "a1" / "first.mp4").is_file()
    return "a1"


def duration_s(data: bytes) -> float:
    """Seconds of the video a player shows: frames before time 0 are only the lead-in from the
    keyframe before the requested start, hidden by the clip's edit list."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        times = [float(p.pts * stream.time_base) for p in container.demux(stream) if p.pts is not None]
    shown = [t for t in times if t >= 0]
    return max(shown) - min(shown)


def test_the_watch_desk_sees_an_alerts_snapshot_and_seeks_in_its_clip(
    clipped: str, server: LiveServer, client: httpx.Client, engine: Engine
) -> None:
    snapshot = client.get(f"/api/alerts/{clipped}/snapshot")
    assert snapshot.status_code == 200
    assert snapshot.headers["content-type"] == "image/jpeg" and snapshot.content[:2] == b"\xff\xd8"

    whole = client.get(f"/api/alerts/{clipped}/clip")
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
    assert duration_s(whole.content) > 1.5
    # What a player does when the viewer drags the scrubber: ask for a byte range.
    part = client.get(f"/api/alerts/{clipped}/clip", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.content == whole.content[100:200]

    actions = [e.action for e in AuditLog(engine).entries(limit=10)[0]]
    assert actions.count("view_clip") == 1, "one viewing, however many ranges the player asks for"
    assert "view_snapshot" in actions


def test_an_alert_without_media_or_an_unknown_alert_is_404(
    recorded: Path, store: AlertStore, client: httpx.Client
) -> None:
    store.apply(AlertEvent("fired", "fresh", RuleId.VIDEO_LOSS, "corridor-1", "cam-a", Severity.ALARM, 1, 21))
    for path in ("/api/alerts/fresh/clip", "/api/alerts/fresh/snapshot", "/api/alerts/nope/clip",
                 "/api/alerts/fresh/clip?kind=final"):
        response = client.get(path)
        assert response.status_code == 404, path
    assert client.get("/api/alerts/fresh/clip?kind=sideways").status_code == 422


def test_an_investigator_sees_the_timeline_and_plays_across_segment_boundaries(
    recorded: Path, server: LiveServer, token_for: TokenFor
) -> None:
    segments = first_segments(recorded)
    with httpx.Client(base_url=server.url, timeout=30, headers=token_for("inv", Role.INVESTIGATOR)) as inv:
        timeline = inv.get("/api/recordings/cam-a/timeline",
                           params={"since": segments[0].start - 10, "until": segments[-1].end + 10}).json()
        assert timeline["segments"][0]["start_epoch"] == pytest.approx(segments[0].start)
        # Across a boundary, from between two keyframes (a second apart): what plays starts at the
        # requested time, not at the keyframe before it.
        start, end = segments[0].end - 1.5, segments[1].start + 1
        played = inv.get("/api/recordings/cam-a/play", params={"since": start, "until": end})
        assert played.status_code == 200, played.text
        # The frame on screen at the requested time begins the clip: it was received up to a frame
        # interval before it, more when the box was busy.
        clip_start = float(played.headers["x-clip-start"])
        assert clip_start == pytest.approx(shown_at(recorded, segments[0], start), abs=0.002)
        assert start - 0.5 < clip_start <= start
        assert float(played.headers["x-clip-end"]) == pytest.approx(end, abs=0.05)
        assert duration_s(played.content) == pytest.approx(end - clip_start, abs=0.1)
        again = inv.get("/api/recordings/cam-a/play", params={"since": start, "until": end},
                        headers={"Range": "bytes=0-9"})
        assert again.status_code == 206 and again.content == played.content[:10]
        nothing = inv.get("/api/recordings/cam-a/play", params={"since": 1000, "until": 1010})
        assert nothing.status_code == 404 and "nothing was recorded" in nothing.json()["detail"]
        assert inv.get("/api/recordings/cam-a/play", params={"since": 10, "until": 5}).status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/recordings/..%2F..%2Fetc/timeline?since=0&until=10",
        "/api/recordings/%2E%2E/play?since=0&until=10",
        "/api/recordings/cam-a%2F..%2F..%2Findex.jsonl/play?since=0&until=10",
        "/api/alerts/..%2F..%2Farchive%2Findex.jsonl/clip",
        "/api/alerts/%2E%2E/snapshot",
    ],
)
def test_path_traversal_on_clip_and_recording_routes_is_refused(
    server: LiveServer, token_for: TokenFor, path: str
) -> None:
    headers = token_for("inv", Role.INVESTIGATOR)
    response = httpx.get(server.url + path, headers=headers, timeout=5)
    assert response.status_code == 404, response.text
    assert b"camera" not in response.content[:4] and b'"seq"' not in response.content


def test_legal_holds_are_created_listed_and_released_with_reasons(
    recorded: Path, server: LiveServer, token_for: TokenFor
) -> None:
    with httpx.Client(base_url=server.url, timeout=5, headers=token_for("inv", Role.INVESTIGATOR)) as inv:
        made = inv.post("/api/holds", json={"cameras": ["cam-a"], "start": 1000, "end": 2000,
                                            "reason": "case 2024-17, defence request"})
        assert made.status_code == 201, made.text
        hold = made.json()
        assert (hold["created_by"], hold["active"], hold["cameras"]) == ("inv", True, ["cam-a"])
        assert [h["id"] for h in inv.get("/api/holds", params={"active_only": "true"}).json()] == [hold["id"]]
        assert inv.post(f"/api/holds/{hold['id']}/release", json={"reason": ""}).status_code == 422
        released = inv.post(f"/api/holds/{hold['id']}/release", json={"reason": "case closed"})
        assert released.status_code == 200 and released.json()["active"] is False
        assert inv.post(f"/api/holds/{hold['id']}/release", json={"reason": "again"}).status_code == 409
        assert inv.post("/api/holds/nope/release", json={"reason": "x"}).status_code == 404
        assert inv.post("/api/holds", json={"start": 2000, "end": 1000, "reason": "x"}).status_code == 422


def test_an_export_runs_in_the_background_and_downloads_as_a_verifiable_package(
    recorded: Path, server: LiveServer, token_for: TokenFor, tmp_path: Path, engine: Engine
) -> None:
    segments = first_segments(recorded)
    with httpx.Client(base_url=server.url, timeout=30, headers=token_for("inv", Role.INVESTIGATOR)) as inv:
        started = inv.post("/api/exports", json={"cameras": ["cam-a"], "start": segments[0].start,
                                                 "end": segments[1].end, "reason": "case 2024-17"})
        assert started.status_code == 202, started.text
        job = started.json()
        deadline = time.monotonic() + 30
        while job["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
            job = inv.get(f"/api/exports/{job['id']}").json()
        assert job["state"] == "ready", job
        download = inv.get(job["download"])
        assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as package:
        package.extractall(tmp_path / "package")
    assert not verify_package(tmp_path / "package", None).problems
    actions = [e.action for e in AuditLog(engine).entries()[0]]
    assert "export_start" in actions and "export_download" in actions


def test_an_export_of_nothing_fails_and_says_why(
    recorded: Path, server: LiveServer, token_for: TokenFor
) -> None:
    with httpx.Client(base_url=server.url, timeout=5, headers=token_for("inv", Role.INVESTIGATOR)) as inv:
        job = inv.post("/api/exports", json={"cameras": ["cam-a"], "start": 1000, "end": 1010,
                                             "reason": "x"}).json()
        deadline = time.monotonic() + 10
        while job["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
            job = inv.get(f"/api/exports/{job['id']}").json()
        assert job["state"] == "failed" and "no recording" in job["error"]
        assert inv.get(f"/api/exports/{job['id']}/download").status_code == 409
