"""Recording one camera: connect, remux into segments, index them, account for every gap.

One `CameraRecorder.run` loop per camera (a thread in the recorder process). It never decodes.
Each connection maps its own timeline to the wall clock (timeline.StreamClock); a segment starts
at a keyframe and is closed at the first keyframe after `segment_s`. Whatever time is not covered
by a segment becomes a gap record with its cause: the stream ended or broke (`stream_error`), the
camera could not be reached (`camera_offline`), the recorder was not running (`recorder_restart`
or `config_change`), or the disk refused the data (`storage_error`).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import av
import av.error

from custodywatch.config import redact_url
from custodywatch.recorder.h26x import parameter_sets
from custodywatch.recorder.index import MIN_GAP_S, ArchiveIndex, GapCause, GapRecord, SegmentRecord
from custodywatch.recorder.recovery import recover_part
from custodywatch.recorder.segment import (
    PacketRejected,
    SegmentError,
    SegmentWriter,
    container_for,
    segment_name,
)
from custodywatch.recorder.timeline import Interleaver, StreamClock, TimedPacket

log = logging.getLogger("custodywatch.recorder")

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0
JUMP_S = 10.0  # a jump in stream time bigger than this inside one connection is a break


class RecorderListener(Protocol):
    """What the recorder tells the rest of the box (the service mirrors it into the database)."""

    def record_appended(self, record: SegmentRecord | GapRecord) -> None: ...

    def loss_started(self, camera: str, since: float) -> None: ...

    def loss_ended(self, camera: str, since: float, until: float) -> None: ...


class _NoListener:
    def record_appended(self, record: SegmentRecord | GapRecord) -> None:
        pass

    def loss_started(self, camera: str, since: float) -> None:
        pass

    def loss_ended(self, camera: str, since: float, until: float) -> None:
        pass


@dataclass
class CameraStats:
    """Counters a user can check: every packet received is written or accounted for."""

    camera: str
    connected: bool = False
    connections: int = 0
    packets_in: int = 0
    packets_written: int = 0
    skipped_before_keyframe: int = 0  # undecodable: before the connection's first keyframe
    dropped_untimed: int = 0
    dropped_out_of_order: int = 0
    dropped_rejected: int = 0  # invalid data the muxer refused
    dropped_storage: int = 0  # the packet whose write failed (disk full, I/O error)
    segments: int = 0
    gaps: int = 0
    bytes_written: int = 0
    last_packet_at: float | None = None
    error: str | None = None
    streams: list[str] = field(default_factory=list)

    @property
    def accounted(self) -> int:
        """Packets written or dropped for a counted reason: equals packets_in when none is lost."""
        return (self.packets_written + self.skipped_before_keyframe + self.dropped_untimed
                + self.dropped_out_of_order + self.dropped_rejected + self.dropped_storage)


class CameraRecorder:
    def __init__(self, camera: str, url: str, index: ArchiveIndex, *, segment_s: float = 60.0,
                 loss_after_s: float = 20.0, start_cause: GapCause = GapCause.RECORDER_RESTART,
                 listener: RecorderListener | None = None, open_timeout_s: float = 10.0,
                 read_timeout_s: float = 5.0, wall: Callable[[], float] = time.time):
        self.camera, self.url, self.index = camera, url, index
        self.segment_s = segment_s
        self.loss_after_s = loss_after_s
        self.listener: RecorderListener = listener or _NoListener()
        self.timeouts = (open_timeout_s, read_timeout_s)
        self.stats = CameraStats(camera)
        self._wall = wall
        self._writer: SegmentWriter | None = None
        self._clock: StreamClock | None = None
        last = index.last(camera)
        # Nothing was recorded between the end of the last record and now: that is a gap too.
        self._gap_from: float | None = last.end if last is not None else None
        self._gap_cause = start_cause
        self._loss_reported = False
        self._pending_gap: tuple[float, GapCause] | None = None
        self._seg_start: float | None = None
        self._stopping = False  # the stop was seen while connected: the last segment ends the run
        self._started_at = self._wall()

    # ---- the loop ------------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None, until: float | None = None,
            once: bool = False) -> None:
        """Record until `stop` is set or the wall clock reaches `until` (for `custodywatch record`);
        `once`: stop when the first connection ends (a file recorded into an archive)."""
        stop = stop or threading.Event()
        self._started_at = self._wall()
        backoff = BACKOFF_START_S
        try:
            while not self._should_stop(stop, until):
                try:
                    container = av.open(self.url, options=_options(self.url), timeout=self.timeouts)
                except (av.error.FFmpegError, OSError) as exc:
                    self._offline(str(exc).replace(self.url, redact_url(self.url)))
                else:
                    backoff = BACKOFF_START_S
                    try:
                        self._record_connection(container, stop, until)
                    finally:
                        container.close()
                        self.stats.connected = False
                    if self._gap_from is not None and self._gap_cause is not GapCause.STORAGE_ERROR:
                        self._gap_cause = GapCause.STREAM_ERROR
                    if once:
                        break
                self._check_loss()
                if self._should_stop(stop, until):
                    break
                stop.wait(min(backoff, max(0.0, until - self._wall())) if until else backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
        finally:
            # An outage in progress when the recorder stops (not the end of the last segment at stop).
            outage = self._writer is None and self._gap_from is not None and not self._stopping
            open_gap = (self._gap_from, self._gap_cause) if outage and self._gap_from is not None else None
            self._close_segment()
            if open_gap is not None:
                # Stopping during an outage: the outage is indexed with its cause up to now; the
                # next start indexes the time the recorder was down.
                self._pending_gap = open_gap
                self._append_pending_gap(self._wall())
            if self._loss_reported:
                self._loss_reported = False
                since = max(open_gap[0], self._started_at) if open_gap else self._wall()
                self.listener.loss_ended(self.camera, since, self._wall())

    def _should_stop(self, stop: threading.Event, until: float | None) -> bool:
        return stop.is_set() or (until is not None and self._wall() >= until)

    def _offline(self, detail: str) -> None:
        if self._gap_from is None:
            self._gap_from = self._wall()
        # A gap keeps its first cause when the recorder was down or the disk failed; a stream that
        # ended and cannot be reached again means the camera is offline.
        if self._gap_cause not in (GapCause.RECORDER_RESTART, GapCause.CONFIG_CHANGE, GapCause.STORAGE_ERROR):
            self._gap_cause = GapCause.CAMERA_OFFLINE
        if self.stats.error != detail:
            log.warning("%s: cannot connect to %s: %s", self.camera, redact_url(self.url), detail)
        self.stats.error = detail

    def _check_loss(self) -> None:
        if self._gap_from is None or self._loss_reported:
            return
        # Time the recorder itself was down is a gap in the index, not a live alarm at start-up.
        since = max(self._gap_from, self._started_at)
        if self._wall() - since >= self.loss_after_s:
            self._loss_reported = True
            self.listener.loss_started(self.camera, since)

    def _record_connection(self, container: av.container.InputContainer, stop: threading.Event,
                           until: float | None) -> None:
        self.stats.connected, self.stats.error = True, None
        self.stats.connections += 1
        self.stats.streams = [s.codec_context.name for s in container.streams if s.type in ("video", "audio")]
        log.info("%s: recording %s (%s)", self.camera, redact_url(self.url), ", ".join(self.stats.streams))
        self._clock = StreamClock(self._wall, live="://" in self.url and not self.url.startswith("file://"))
        interleaver = Interleaver()
        video = container.streams.video[0] if container.streams.video else None
        streams = [s for s in container.streams if s.type in ("video", "audio")]
        if video is None:
            self.stats.error = "the stream has no video"
            return
        self._templates = streams
        self._video_index = video.index
        self._last_t: dict[int, float] = {}
        try:
            for packet in container.demux(streams):
                if packet.size == 0:
                    continue  # the demuxer's end-of-stream marker
                self.stats.packets_in += 1
                self.stats.last_packet_at = self._wall()
                for timed in self._clock.admit(packet):
                    for ready in interleaver.push(timed):
                        self._route(ready)
                self._check_loss()
                if self._should_stop(stop, until):
                    self._stopping = True
                    break
        except (av.error.FFmpegError, OSError) as exc:
            self.stats.error = str(exc).replace(self.url, redact_url(self.url))
            log.warning("%s: stream error: %s", self.camera, self.stats.error)
        for ready in interleaver.flush():
            self._route(ready)
        self.stats.dropped_untimed += self._clock.discard_untimed()
        self._close_segment()

    # ---- packets into segments -----------------------------------------------------------------

    def _route(self, item: TimedPacket) -> None:
        assert self._clock is not None
        packet, t = item.packet, item.t
        idx = packet.stream_index
        last = self._last_t.get(idx)
        if last is not None and t < last:
            self.stats.dropped_out_of_order += 1  # the muxer would refuse a decode time going back
            return
        is_video = idx == self._video_index
        if is_video and last is not None and t - last > JUMP_S and self._writer is not None:
            log.warning("%s: stream time jumped %.1f s: closing the segment", self.camera, t - last)
            self._close_segment()
            self._gap_cause = GapCause.STREAM_ERROR
        self._last_t[idx] = t
        writer = self._writer
        if is_video and packet.is_keyframe and (writer is None or t - writer.origin_s >= self.segment_s):
            if writer is not None:
                self._close_segment(end_t=t)
            writer = self._open_segment(item)
        if writer is None:
            self.stats.skipped_before_keyframe += 1
            return
        if t < writer.origin_s - 1e-6:
            self.stats.skipped_before_keyframe += 1
            return
        try:
            writer.write(packet, t, item.duration)
        except PacketRejected as exc:
            self.stats.dropped_rejected += 1
            log.warning("%s: %s", self.camera, exc)
            return
        except SegmentError as exc:
            self.stats.dropped_storage += 1
            self._storage_failed(exc)
            return
        self.stats.packets_written += 1

    def _open_segment(self, item: TimedPacket) -> SegmentWriter | None:
        assert self._clock is not None
        wall = self._clock.to_wall(item.t)
        _, ext = container_for([s.codec_context.name for s in self._templates])
        path = self.index.archive / segment_name(self.camera, wall, ext)
        codec = item.packet.stream.codec_context.name
        try:
            self._writer = SegmentWriter(path, self._templates, item.t,
                                         parameter_sets(codec, bytes(item.packet)))
        except SegmentError as exc:
            self._storage_failed(exc)
            return None
        if self._gap_from is not None:
            # The gap is indexed when this segment closes, ending exactly where the segment starts:
            # by then the connection's clock mapping has settled (see timeline.StreamClock).
            self._pending_gap = (self._gap_from, self._gap_cause)
            self._gap_from = None
            if self._loss_reported:
                self._loss_reported = False
                self.listener.loss_ended(self.camera, max(self._pending_gap[0], self._started_at), wall)
        return self._writer

    def _close_segment(self, end_t: float | None = None) -> None:
        writer, self._writer = self._writer, None
        if writer is None or self._clock is None:
            return
        start = self._seg_start if self._seg_start is not None else self._clock.to_wall(writer.origin_s)
        end = self._clock.to_wall(end_t if end_t is not None else writer.end_s)
        try:
            done = writer.close()
        except SegmentError as exc:
            self._storage_failed(exc, writer)
            return
        self._append_pending_gap(start)
        rec = self.index.append(SegmentRecord(
            camera=self.camera, start=start, end=end, path=str(done.path.relative_to(self.index.archive)),
            size=done.size, sha256=done.sha256, streams=done.streams, packets=done.packets))
        assert isinstance(rec, SegmentRecord)
        self.stats.segments += 1
        self.stats.bytes_written += done.size
        self.listener.record_appended(rec)
        if end_t is None:
            # The connection (or the recorder) ends here: what follows is not recorded yet.
            self._seg_start = None
            self._gap_from = end
            self._gap_cause = GapCause.STREAM_ERROR
        else:
            self._seg_start = end  # the next segment starts where this one ends

    def _append_pending_gap(self, until: float) -> None:
        pending, self._pending_gap = self._pending_gap, None
        if pending is None:
            return
        since, cause = pending
        if until - since <= MIN_GAP_S:
            return
        gap = self.index.append(GapRecord(camera=self.camera, start=since, end=until, cause=cause))
        assert isinstance(gap, GapRecord)
        self.stats.gaps += 1
        log.info("%s: gap of %.1f s (%s) recorded", self.camera, until - since, cause.value)
        self.listener.record_appended(gap)

    def _storage_failed(self, exc: SegmentError, failed: SegmentWriter | None = None) -> None:
        log.error("%s: %s", self.camera, exc)
        self.stats.error = str(exc)
        writer, self._writer = failed or self._writer, None
        if writer is not None and self._clock is not None:
            writer.abort()
            # Index the whole fragments that did reach the disk now, not at the next restart.
            start = self._seg_start if self._seg_start is not None else self._clock.to_wall(writer.origin_s)
            try:
                self._append_pending_gap(start)
                rec = recover_part(self.index, self.camera, writer.part, start)
            except (OSError, SegmentError) as again:
                log.error("%s: %s stays for recovery at restart: %s", self.camera, writer.part.name, again)
                rec = None
            if rec is not None:
                self.stats.segments += 1
                self.listener.record_appended(rec)
                self._gap_from = rec.end
        if self._pending_gap is not None:
            self._gap_from, self._pending_gap = self._pending_gap[0], None
        if self._gap_from is None:
            # Nothing of this segment reached the disk: the loss starts where the last one ended.
            self._gap_from = self._seg_start if self._seg_start is not None else self._wall()
        self._seg_start = None
        self._gap_cause = GapCause.STORAGE_ERROR


def _options(url: str) -> dict[str, str]:
    return {"rtsp_transport": "tcp"} if url.startswith("rtsp") else {}
