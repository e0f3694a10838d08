"""The database mirror of an archive index: each record once, even when two processes mirror at once."""
from __future__ import annotations

import hashlib
from functools import partial

from at_once import run_at_once
from sqlalchemy import Engine

from custodywatch.recorder.catalog import CatalogSegments, RecorderCatalog
from custodywatch.recorder.index import SegmentRecord
from custodywatch.store.db import make_engine

T0 = 1_790_000_000.0


def chain(camera: str, n: int) -> list[SegmentRecord]:
    """n two-second segments of one camera, hash-chained as the index writes them."""
    out: list[SegmentRecord] = []
    prev = "0" * 64
    for seq in range(n):
        digest = hashlib.sha256(f"{camera}/{seq}/{prev}".encode()).hexdigest()
        out.append(SegmentRecord(camera=camera, seq=seq, prev=prev, hash=digest, start=T0 + 2 * seq,
                                 end=T0 + 2 * seq + 2, path=f"{camera}/{seq:06d}.mp4", size=1000 + seq,
                                 sha256=digest, streams=["h264", "aac"], packets=50))
        prev = digest
    return out


def test_mirroring_twice_adds_each_record_once(engine: Engine) -> None:
    catalog = RecorderCatalog(engine)
    records = chain("cam-a", 5)
    assert catalog.mirror("arch-1", records[:3]) == 3
    assert catalog.mirror("arch-1", records) == 2
    assert catalog.mirror("arch-1", records) == 0
    assert CatalogSegments(engine, "arch-1").used_bytes() == sum(r.size for r in records)


def test_two_processes_mirroring_the_same_records_at_once_add_each_once(engine: Engine, db_url: str) -> None:
    # The recorder mirrors what it writes while `custodywatch` catches up from the same index.
    other_engine = make_engine(db_url)
    catalogs = [RecorderCatalog(engine), RecorderCatalog(other_engine)]
    records = chain("cam-a", 30) + chain("cam-b", 30)
    added: list[int] = []

    def mirror(catalog: RecorderCatalog) -> None:
        for i in range(0, len(records), 3):
            added.append(catalog.mirror("arch-1", records[: i + 3]))

    try:
        errors = run_at_once(*(partial(mirror, c) for c in catalogs))
    finally:
        other_engine.dispose()
    assert errors == []
    assert sum(added) == len(records)
    assert CatalogSegments(engine, "arch-1").used_bytes() == sum(r.size for r in records)
