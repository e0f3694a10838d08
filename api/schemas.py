"""Request and response bodies of the HTTP API that are not store views."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

from custodywatch.api.schemas_box_health import BoxHealthReport
from custodywatch.api.schemas_config import ConfigReloadReport
from custodywatch.store.views import AlertChange, AlertState, AlertView, UtcDatetime
from custodywatch.vocabulary import RuleId, Severity


class AlertQuery(BaseModel):
    """Filters and paging for GET /api/alerts. Times are ISO-8601 or epoch seconds; they bound
    the fire time (`since` inclusive, `until` exclusive)."""

    room: str | None = None
    rule: RuleId | None = None
    severity: Severity | None = None
    state: AlertState | None = None
    active: bool | None = None
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None
    # A centre holds many boxes' alerts: the site and box that raised them.
    site: str | None = None
    box: str | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class ResolveRequest(BaseModel):
    comment: str = Field("", max_length=2000, description="Required while the alert is still active.")
    false_positive: bool = False


class ErrorBody(BaseModel):
    detail: str


class AlertUpdate(BaseModel):
    """The data of an `alert` server-sent event: what changed, and the alert as it is now."""

    change: AlertChange
    alert: AlertView


class CameraHealth(BaseModel):
    connected: bool
    fps_in: float = Field(ge=0)
    fps_analysed: float = Field(ge=0)
    dropped: int = Field(ge=0, description="Frames dropped since the reader started.")
    last_frame_at: UtcDatetime | None = None
    reconnects: int = Field(0, ge=0)
    corrupt_frames: int = Field(0, ge=0, description=(
        "Frames that arrived damaged (garbage or missing data, concealed by the decoder) since the "
        "reader started."))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def last_frame_at_epoch(self) -> float | None:
        return None if self.last_frame_at is None else self.last_frame_at.timestamp()


class ForwardingHealth(BaseModel):
    """The link to the central database (store-and-forward); absent on a box without a centre."""

    connected: bool = Field(description="The last attempt reached the central database.")
    pending: int = Field(ge=0, description="Outbox rows the centre does not hold yet.")
    oldest_pending_age_s: float | None = Field(None, ge=0, description="Age of the oldest of them.")
    acked_seq: int = Field(ge=0, description="Every outbox row up to this sequence is held centrally.")
    last_success_at: UtcDatetime | None = None
    failures: int = Field(0, ge=0, description="Attempts failed since the last success.")
    last_error: str | None = None


class StoreHealth(BaseModel):
    """The database as the processes that write alerts see it. While it cannot take alerts they
    wait (in memory and on the box's disk) and reach no page: the watch desk must know."""

    reachable: bool = Field(description="Every process that writes alerts reached the store last time.")
    alert_events_waiting: int = Field(ge=0, description="Alert events kept until the store takes them.")
    unavailable_since: UtcDatetime | None = None
    waiting_by_process: dict[str, int] = Field(default_factory=dict)


class HealthReport(BaseModel):
    processes: dict[str, bool] = Field(description="Whether each service process is alive (running, "
                                                   "and not hung).")
    cameras: dict[str, CameraHealth] = Field(default_factory=dict)
    down: list[str] = Field(default_factory=list, description=(
        "Processes given up on: their restart budget is used. They stay down, and the rest keeps "
        "running, until the service is restarted."))
    restarts: dict[str, int] = Field(default_factory=dict, description="Restarts of each process so far.")
    forwarding: ForwardingHealth | None = None
    box: BoxHealthReport | None = Field(None, description=(
        "The box itself: disk, write rate and days of archive left, CPU, memory, clock offset, "
        "camera clock drift, each against its configured limit. It sets `severity`, not `healthy`."))
    store: StoreHealth | None = Field(None, description=(
        "The database as analytics and the recorder see it. Alert events waiting for it make "
        "`severity` an alarm (the page hears of no alert until they are stored); the store "
        "unreachable with none waiting, a warning."))
    config: ConfigReloadReport | None = Field(None, description=(
        "The last reload of the config file, if any. One that failed (the service runs on with the "
        "config it had) makes `severity` a warning until a reload succeeds."))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def healthy(self) -> bool:
        return all(self.processes.values())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def severity(self) -> Literal["ok", "warning", "alarm"]:
        """`alarm`: a process is down and needs a person; `warning`: one is being restarted. A raised
        box health check (`box.checks`) raises it to that check's level."""
        box = "ok" if self.box is None else self.box.severity
        store = self.store
        if self.down or box == "alarm" or (store is not None and store.alert_events_waiting):
            return "alarm"
        config_ok = self.config is None or self.config.ok
        store_ok = store is None or store.reachable
        return "ok" if self.healthy and box == "ok" and config_ok and store_ok else "warning"
