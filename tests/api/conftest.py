from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from api_accounts import OPERATOR, PASSWORD, TokenFor
from live_server import LiveServer
from sqlalchemy import Engine

from custodywatch.api.app import create_app
from custodywatch.api.escalation import Escalator
from custodywatch.api.events import EventHub, ZmqEventBridge
from custodywatch.api.schemas import HealthReport
from custodywatch.api.throttle import LoginThrottle
from custodywatch.config import Config
from custodywatch.config_reload import ConfigReloader
from custodywatch.paths import project_root
from custodywatch.recorder.camera import CameraRecorder
from custodywatch.recorder.index import ArchiveIndex
from custodywatch.recorder.testmedia import MediaSpec, write_media
from custodywatch.rtsp_server import RtspLoopServer, default_python
from custodywatch.store.accounts import AccountStore, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'custodywatch.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> AlertStore:
    return AlertStore(engine, "zh-center", "box1")


@pytest.fixture
def hub() -> EventHub:
    return EventHub()


@pytest.fixture
def accounts(engine: Engine) -> AccountStore:
    return AccountStore(engine)


@pytest.fixture
def token_for(accounts: AccountStore) -> TokenFor:
    """Authorization headers of a session of `name` (made with `role` if new), as after a login."""

    def headers(name: str, role: Role) -> dict[str, str]:
        if name not in {u.username for u in accounts.users()}:
            accounts.add_user(name, role, PASSWORD)
        session = accounts.login(name, PASSWORD)
        assert session is not None
        return {"Authorization": f"Bearer {session.token}"}

    return headers


@pytest.fixture
def auth_headers(token_for: TokenFor) -> dict[str, str]:
    return token_for(OPERATOR, Role.WATCH_DESK)


Serve = Callable[..., LiveServer]


@pytest.fixture
def serve(engine: Engine, store: AlertStore, hub: EventHub) -> Iterator[Serve]:
    """Starts the app on a real server; stopped at the end of the test."""
    with contextlib.ExitStack() as stack:

        def start(
            health: Callable[[], HealthReport] | None = None, bridge: ZmqEventBridge | None = None, *,
            config: Config | None = None, archive_dir: Path | None = None, data_dir: Path | None = None,
            throttle: LoginThrottle | None = None, escalator: Escalator | None = None,
            tls: tuple[str, str] | None = None, reloader: ConfigReloader | None = None,
        ) -> LiveServer:
            app = create_app(store, hub, health, engine=engine, title="custodywatch test", bridge=bridge,
                             config=config, archive_dir=archive_dir, data_dir=data_dir,
                             throttle=throttle, escalator=escalator, reloader=reloader)
            return stack.enter_context(LiveServer(app, hub, tls=tls))

        yield start


@pytest.fixture
def server(serve: Serve) -> LiveServer:
    return serve()


@pytest.fixture
def client(server: LiveServer, auth_headers: dict[str, str]) -> Iterator[httpx.Client]:
    """A client logged in as the watch-desk officer OPERATOR."""
    with httpx.Client(base_url=server.url, timeout=5, headers=auth_headers) as client:
        yield client


@pytest.fixture
def anonymous(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose archive holds about 5 s of camera cam-a (H.264 + AAC) in 2 s segments,
    recorded live from a real RTSP server by the recorder."""
    if not default_python().is_file():
        pytest.skip("the RTSP server's venv is missing: run scripts/setup.sh")
    data = tmp_path_factory.mktemp("data")
    media = write_media(data / "camera.mp4", MediaSpec(seconds=8))
    tool = project_root() / "scripts" / "rtsp_av_loop_server.py"
    with RtspLoopServer({"cam-a": media}, tool=tool) as server:
        CameraRecorder("cam-a", server.url("cam-a"), ArchiveIndex(data / "archive"),
                       segment_s=2).run(until=time.time() + 5.5)
    return data
