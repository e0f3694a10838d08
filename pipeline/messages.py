"""Small typed messages between the service's processes (pickled over pyzmq; pixels stay in shm)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from custodywatch.pipeline.shm import FrameHandle
from custodywatch.rules.view import ViewSample

if TYPE_CHECKING:
    # Only the detector and analytics processes handle detections; readers need not load supervision
    # (about 100 MB per process).
    import supervision as sv


@dataclass(frozen=True)
class FrameReady:
    camera: str
    handle: FrameHandle
    stream_s: float
    wall: float  # the frame's time on the box's one clock
    index: int
    sent_at: float  # wall-clock time the reader handed it off
    view: ViewSample | None = None  # measured by the reader, for video_loss


@dataclass(frozen=True)
class FrameDetections:
    camera: str
    wall: float
    index: int
    size: tuple[int, int]  # (width, height) of the analysed frame
    detections: sv.Detections  # data[MOTION_KEY]: motion energy per box, where the camera needs it
    view: ViewSample | None = None
    posture: str | None = None  # rules.posture.Posture value at the guard post, when one was read


@dataclass
class CameraHealth:
    """A reader's report on one camera (sent every second)."""

    camera: str
    connected: bool = False
    fps_in: float = 0.0  # video packets received per second
    fps_analysed: float = 0.0  # frames handed to the detector per second
    received: int = 0
    handed_off: int = 0
    dropped: int = 0  # hand-off refused: every detector queue full
    corrupt: int = 0  # frames that arrived damaged, concealed by the decoder (SourceCounters)
    last_frame_at: float | None = None
    reconnects: int = 0
    error: str | None = None
    clock_drift_s: float | None = None  # camera stream clock ahead of the box's (SourceCounters)


@dataclass
class DetectorStats:
    """One detector worker's counters since it started, and its latest batch."""

    worker: str = "detector"
    frames: int = 0
    batches: int = 0
    analysed: dict[str, int] = field(default_factory=dict)
    # Analysed, but later than the staleness budget after capture: too late to count as on time.
    late: dict[str, int] = field(default_factory=dict)
    dropped_stale: dict[str, int] = field(default_factory=dict)
    dropped_overwritten: dict[str, int] = field(default_factory=dict)
    last_batch_size: int = 0
    last_inference_ms: float = 0.0
    # Age (capture to start of inference) of the oldest frame of the latest batch.
    last_queue_age_ms: float = 0.0
    batch_cap: int = 0
    providers: list[str] = field(default_factory=list)
