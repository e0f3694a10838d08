"""Frames across processes: a per-camera ring of shared-memory slots.

The reader owns (creates and unlinks) each ring; the detector attaches by name. Each slot starts
with a sequence number written after the pixels, so a reader that overwrote a slot before the
detector copied it out is noticed and the frame counted as dropped instead of analysed torn.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import resource_tracker, shared_memory

import numpy as np

HEADER = 16  # uint64 sequence + padding, keeps the pixels 16-byte aligned
PREFIX = "cw"


def segment_prefix(service_id: str, owner_pid: int | None = None) -> str:
    """Names of the service's segments; with `owner_pid`, of those one reader process created (a
    restarted reader gets new names, so a detector never reads a dead ring it still has mapped)."""
    base = f"{PREFIX}-{service_id}-"
    return base if owner_pid is None else f"{base}{owner_pid}-"


@dataclass(frozen=True)
class FrameHandle:
    """What crosses the socket instead of pixels."""

    shm: str
    slot: int
    seq: int
    height: int
    width: int


class FrameRing:
    """A writer's ring of frame slots for one camera and one frame size."""

    def __init__(self, name: str, height: int, width: int, slots: int = 4):
        self.height, self.width, self.slots = height, width, slots
        self.slot_bytes = HEADER + height * width * 3
        self._shm = shared_memory.SharedMemory(name=name, create=True, size=self.slot_bytes * slots)
        self.name = self._shm.name
        self._seq = 0

    def write(self, image: np.ndarray) -> FrameHandle:
        self._seq += 1
        slot = self._seq % self.slots
        base = slot * self.slot_bytes
        buf = self._shm.buf
        assert buf is not None
        seq_view = np.ndarray((1,), dtype=np.uint64, buffer=buf, offset=base)
        seq_view[0] = 0  # torn while being written
        pixels = np.ndarray((self.height, self.width, 3), dtype=np.uint8, buffer=buf, offset=base + HEADER)
        pixels[...] = image
        seq_view[0] = self._seq
        return FrameHandle(self.name, slot, self._seq, self.height, self.width)

    def close(self) -> None:
        self._shm.close()
        try:
            self._shm.unlink()
        except FileNotFoundError:
            pass


class FrameRingReader:
    """The detector's side: attaches to rings by name and copies frames out."""

    def __init__(self) -> None:
        self._attached: dict[str, shared_memory.SharedMemory] = {}

    def read(self, h: FrameHandle) -> np.ndarray | None:
        """A copy of the frame, or None if it was overwritten or its ring is gone."""
        shm = self._attached.get(h.shm)
        if shm is None:
            try:
                shm = _attach(h.shm)
            except FileNotFoundError:
                return None
            self._attached[h.shm] = shm
        slot_bytes = HEADER + h.height * h.width * 3
        base = h.slot * slot_bytes
        buf = shm.buf
        if buf is None or base + slot_bytes > shm.size:
            return None
        seq_view = np.ndarray((1,), dtype=np.uint64, buffer=buf, offset=base)
        if int(seq_view[0]) != h.seq:
            return None
        image = np.ndarray((h.height, h.width, 3), dtype=np.uint8, buffer=buf, offset=base + HEADER).copy()
        if int(seq_view[0]) != h.seq:
            return None
        return image

    def forget(self, name: str) -> None:
        shm = self._attached.pop(name, None)
        if shm is not None:
            shm.close()

    def close(self) -> None:
        for name in list(self._attached):
            self.forget(name)


def _attach(name: str) -> shared_memory.SharedMemory:
    """Attach without registering with the resource tracker.

    Python 3.11 registers attached segments too, and would unlink the reader's segment when this
    process exits; unregistering afterwards is no better, since spawned children share one tracker
    and the owner's own unregister then fails. So the registration is skipped (3.13: track=False).
    """
    register = resource_tracker.register
    resource_tracker.register = lambda *_args, **_kw: None
    try:
        return shared_memory.SharedMemory(name=name)
    finally:
        resource_tracker.register = register


def sweep_stale(service_prefix: str = PREFIX + "-") -> list[str]:
    """Unlink segments left by a killed run (Linux keeps them in /dev/shm)."""
    return _unlink_named(service_prefix, spare=_owner_alive)


def unlink_segments(prefix: str) -> list[str]:
    """Unlink every segment whose name starts with `prefix` (those of a reader that was killed)."""
    return _unlink_named(prefix, spare=lambda _name: False)


def _owner_alive(name: str) -> bool:
    pid = _owner_pid(name)
    return pid is not None and _alive(pid)


def _unlink_named(prefix: str, spare: Callable[[str], bool]) -> list[str]:
    """The segments unlinked: those starting with `prefix`, less the ones `spare` keeps."""
    removed: list[str] = []
    shm_dir = "/dev/shm"
    if not os.path.isdir(shm_dir):
        return removed
    for name in os.listdir(shm_dir):
        if name.startswith(prefix) and not spare(name):
            try:
                os.unlink(os.path.join(shm_dir, name))
                removed.append(name)
            except OSError:
                pass
    return removed


def _owner_pid(name: str) -> int | None:
    # Names are cw-<service pid>-...; a live owner keeps its segments.
    parts = name.split("-")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
