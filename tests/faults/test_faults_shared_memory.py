"""Shared memory a killed run left behind is swept at the next start; a live service's is kept."""
from __future__ import annotations

import os
import subprocess
from multiprocessing import resource_tracker, shared_memory

import pytest

from custodywatch.pipeline.shm import segment_prefix, sweep_stale

pytestmark = pytest.mark.timeout(30)


def _segment(name: str) -> shared_memory.SharedMemory:
    shm = shared_memory.SharedMemory(name=name, create=True, size=4096)
    # Owned by the code under test from here: the tracker must not unlink it when this test exits.
    resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
    shm.close()
    return shm


def test_segments_of_a_dead_service_are_swept_and_a_live_ones_kept() -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()  # a pid whose owner is gone, as after a killed run
    dead = f"{segment_prefix(str(finished.pid), 4242)}cam-1-1"
    live = f"{segment_prefix(str(os.getpid()), 4242)}cam-1-1"
    for name in (dead, live):
        _segment(name)
    try:
        removed = sweep_stale()
        assert dead in removed and live not in removed
        assert not os.path.exists(f"/dev/shm/{dead}")
        assert os.path.exists(f"/dev/shm/{live}")
    finally:
        for name in (dead, live):
            if os.path.exists(f"/dev/shm/{name}"):
                os.unlink(f"/dev/shm/{name}")
