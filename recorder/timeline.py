"""Stream time to wall-clock time, per connection, and packets put in time order.

Every RTSP connection starts a new timeline near 0, so each connection gets its own mapping. A
server may send a burst of older packets when a client joins (the test server sends about 1 s at
once; NVRs often send their GOP cache), so "the first packet arrived now" would date the whole
connection late by that burst. A packet can never arrive before it was sent, so the mapping uses
the smallest (arrival - stream time): the least delayed packet, which converges on the live edge
within the first second. The smallest is taken over the last minute only, so the mapping follows
a camera clock that runs slower or faster than the box's over days on one connection.

The first packet often has no timestamp at all (FFmpeg's RTSP demuxer gives the first keyframe
`pts=None`); it is kept and timed one frame before the stream's next packet instead of being
thrown away with its whole GOP.
"""
from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import av

DEFAULT_FRAME_S = 1 / 25
MAX_UNTIMED = 64  # packets held while waiting for the first timestamp
MAX_STEP_S = 1.0  # no frame or audio packet lasts longer; a longer step is a break in the stream


@dataclass(order=True)
class TimedPacket:
    t: float  # decode time, stream seconds
    seq: int
    packet: av.Packet[av.stream.Stream] = field(compare=False)
    duration: float = field(compare=False, default=0.0)


class WindowMin:
    """The minimum of values added over the last `window_s` seconds (kept in 1 s buckets)."""

    def __init__(self, window_s: float = 60.0):
        self.window_s = window_s
        self._buckets: deque[tuple[int, float]] = deque()

    def add(self, at: float, value: float) -> float:
        bucket = int(at)
        if self._buckets and self._buckets[-1][0] == bucket:
            self._buckets[-1] = (bucket, min(self._buckets[-1][1], value))
        else:
            self._buckets.append((bucket, value))
        while self._buckets[0][0] < bucket - self.window_s:
            self._buckets.popleft()
        return min(v for _, v in self._buckets)


class StreamClock:
    """Times the packets of one connection and maps stream seconds to wall-clock seconds."""

    def __init__(self, wall: Callable[[], float] = time.time, live: bool = True):
        """`live=False` (a file read as fast as it goes): the first packet is "now", and the rest
        follow on the file's own timestamps."""
        self._wall = wall
        self.live = live
        self.offset: float | None = None  # wall - stream seconds: min over packets of (arrival - t)
        self._edge = WindowMin()
        self._untimed: list[av.Packet[av.stream.Stream]] = []
        self._last: dict[int, float] = {}
        self._step: dict[int, float] = {}
        self._seq = itertools.count()
        self.dropped_untimed = 0

    def discard_untimed(self) -> int:
        """At the end of a connection: packets that never got a time are dropped (and counted)."""
        self.dropped_untimed += len(self._untimed)
        self._untimed = []
        return self.dropped_untimed

    def to_wall(self, t: float) -> float:
        assert self.offset is not None
        return t + self.offset

    def admit(self, packet: av.Packet[av.stream.Stream]) -> list[TimedPacket]:
        """The packets that now have a time (this one, and any held before the first time)."""
        idx = packet.stream_index
        if packet.dts is None and packet.pts is None:
            if idx not in self._last and packet.stream.type == "video" and len(self._untimed) < MAX_UNTIMED:
                self._untimed.append(packet)  # timed once the stream's first timestamp arrives
                return []
            if idx not in self._last:
                self.dropped_untimed += 1
                return []
            # Mid-stream packet without a time: one step after the stream's last packet.
            return [self._timed(packet, self._last[idx] + self._frame_s(packet))]
        tb = packet.time_base
        assert tb is not None
        ticks = packet.dts if packet.dts is not None else packet.pts
        assert ticks is not None
        t = float(ticks * tb)
        if self.offset is None or self.live:
            now = self._wall()
            self.offset = self._edge.add(now, now - t)
        out: list[TimedPacket] = []
        held = [p for p in self._untimed if p.stream_index == idx]
        if held:
            self._untimed = [p for p in self._untimed if p.stream_index != idx]
            step = self._frame_s(packet)
            for k, early in enumerate(held):
                out.append(self._timed(early, t - (len(held) - k) * step))
        out.append(self._timed(packet, t))
        return out

    def _frame_s(self, packet: av.Packet[av.stream.Stream]) -> float:
        if packet.stream_index in self._step:
            return self._step[packet.stream_index]
        rate = getattr(packet.stream, "average_rate", None) or getattr(packet.stream, "guessed_rate", None)
        return 1 / float(rate) if rate else DEFAULT_FRAME_S

    def _timed(self, packet: av.Packet[av.stream.Stream], t: float) -> TimedPacket:
        tb = packet.time_base
        assert tb is not None
        if packet.dts is None:
            packet.dts = round(t / tb)
            packet.pts = packet.dts
        idx = packet.stream_index
        if idx in self._last and 0 < t - self._last[idx] <= MAX_STEP_S:
            self._step[idx] = t - self._last[idx]
        self._last[idx] = max(t, self._last.get(idx, t))
        typical = self._frame_s(packet)
        own = float(packet.duration * tb) if packet.duration else typical
        # A file's last sample before a break "lasts" until the next one: that is the break, not
        # the sample, and a segment must not claim it.
        return TimedPacket(t, next(self._seq), packet, own if own <= 2 * typical else typical)


class Interleaver:
    """Releases packets of all streams in time order, holding each for `window_s` of stream time.

    RTSP delivers audio and video in arrival order, not time order: an audio packet stamped just
    before a keyframe can arrive just after it. Holding a short window means a segment boundary
    at that keyframe sends the audio packet to the segment it belongs to, instead of losing it.
    """

    def __init__(self, window_s: float = 0.5):
        self.window_s = window_s
        self._heap: list[TimedPacket] = []
        self._newest = float("-inf")

    def push(self, item: TimedPacket) -> list[TimedPacket]:
        heapq.heappush(self._heap, item)
        self._newest = max(self._newest, item.t)
        out = []
        while self._heap and self._heap[0].t <= self._newest - self.window_s:
            out.append(heapq.heappop(self._heap))
        return out

    def flush(self) -> list[TimedPacket]:
        out = [heapq.heappop(self._heap) for _ in range(len(self._heap))]
        self._newest = float("-inf")
        return out
