"""Freed heap goes back to the system: a service process that allocated and freed many buffers
(the recorder cutting clips) does not keep their pages resident for ever."""
from __future__ import annotations

import logging
import random

import pytest

from custodywatch import heap_release
from custodywatch.memory_report import rss_anon_kib

pytestmark = pytest.mark.skipif(not heap_release.available(), reason="needs glibc's malloc_trim")


def fragmented_heap() -> list[bytearray]:
    """About 200 MiB of buffers of varied sizes, below malloc's mmap threshold so they come from the
    heap, freed but for one in 20: the survivors pin the heap's top, so malloc keeps the free pages."""
    rng = random.Random(7)
    buffers = [bytearray(rng.randrange(4096, 120_000)) for _ in range(3400)]
    for b in buffers:
        b[::4096] = b"\1" * len(b[::4096])  # touched: resident, as a decoded frame is
    return buffers[::20]


def test_release_returns_the_free_pages_of_a_fragmented_heap() -> None:
    kept = fragmented_heap()
    before = rss_anon_kib()
    freed = heap_release.release_free_heap()
    after = rss_anon_kib()
    assert before is not None and after is not None and freed is not None
    assert freed > 100 * 1024, f"released only {freed} KiB"
    assert after < before - 100 * 1024
    assert all(b[0] == 1 for b in kept), "the buffers still in use are untouched"


@pytest.mark.parametrize(("value", "started"), [("", True), ("0", False), ("30", True), ("soon", True)])
def test_it_runs_unless_turned_off(value: str, started: bool, monkeypatch: pytest.MonkeyPatch,
                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(heap_release.ENV, value)
    with caplog.at_level(logging.WARNING):
        release = heap_release.start_from_env()
    assert (release is not None) == started
    if release is not None:
        release.stop()
    if value == "soon":
        assert f"{heap_release.ENV}='soon' is not a number of seconds: releasing every 60 s" in caplog.text
