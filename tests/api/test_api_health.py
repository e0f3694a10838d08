from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from conftest import Serve

from custodywatch.api.schemas import CameraHealth, HealthReport

CAMERAS = {
    "cam-i1": CameraHealth(connected=True, fps_in=2.0, fps_analysed=2.0, dropped=0,
                           last_frame_at=datetime.fromtimestamp(1_700_000_000.5, UTC), reconnects=0),
    "cam-h1": CameraHealth(connected=False, fps_in=0.0, fps_analysed=0.0, dropped=12, reconnects=3),
}


@pytest.mark.parametrize(
    ("processes", "status"),
    [
        ({"api": True, "readers": True, "detector": True, "recorders": True}, 200),
        ({"api": True, "readers": True, "detector": False, "recorders": True}, 503),
    ],
)
def test_healthz_is_503_when_a_process_is_down_and_always_reports_cameras(
    serve: Serve, processes: dict[str, bool], status: int
) -> None:
    server = serve(health=lambda: HealthReport(processes=processes, cameras=CAMERAS))
    response = httpx.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == status
    body = response.json()
    assert body["healthy"] is (status == 200)
    assert body["processes"] == processes
    assert body["cameras"]["cam-h1"] == {
        "connected": False, "fps_in": 0.0, "fps_analysed": 0.0, "dropped": 12,
        "last_frame_at": None, "last_frame_at_epoch": None, "reconnects": 3, "corrupt_frames": 0,
    }
    assert body["cameras"]["cam-i1"]["last_frame_at"] == "2023-11-14T22:13:20.500000Z"


def test_healthz_without_a_supervisor_reports_the_api_alive(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["processes"] == {"api": True}
