"""Reading the index from where a time range can begin: the offsets sidecar skips what ends before
it, never a record that ends after it, and is ignored when it no longer matches the index."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from custodywatch.recorder import index as index_module
from custodywatch.recorder.index import ArchiveIndex, DeletionRecord, GapCause, GapRecord
from custodywatch.recorder.index_offsets import OFFSETS_NAME, Checkpoint, append_checkpoint, read_checkpoints
from custodywatch.recorder.package import camera_records, reaches_back


@pytest.fixture
def small_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    # A checkpoint every ~10 records instead of every MiB: the same logic on a small archive.
    monkeypatch.setattr(index_module, "CHECKPOINT_BYTES", 2000)


def fill(index: ArchiveIndex, hours: int) -> None:
    for h in range(hours):
        for camera in ("cam-a", "cam-b"):
            index.append(GapRecord(camera=camera, start=h * 3600.0, end=(h + 1) * 3600.0,
                                   cause=GapCause.CAMERA_OFFLINE))


def test_reading_from_a_time_skips_only_records_that_end_before_it(
        tmp_path: Path, small_checkpoints: None) -> None:
    index = ArchiveIndex(tmp_path / "archive")
    fill(index, 60)
    # A record indexed late with an early end (a segment recovered at restart, a deletion): its end
    # is long before the records around it, and it must still be found.
    index.append(DeletionRecord(camera="cam-a", at=60 * 3600.0, start=7200.0, end=10800.0, path="cam-a/x.mp4",
                                sha256="0" * 64, reason="retention"))
    later = ArchiveIndex(tmp_path / "archive")  # the recorder restarted: it catches up, then goes on
    for h in range(60, 80):
        later.append(GapRecord(camera="cam-b", start=h * 3600.0, end=(h + 1) * 3600.0,
                               cause=GapCause.RECORDER_RESTART))
    assert len(read_checkpoints(tmp_path / "archive")) > 5
    every = list(index.records())
    for since in (0.0, 5000.0, 50 * 3600.0 + 1, 59 * 3600.0, 70 * 3600.0, 10**9):
        wanted = [r for r in every if r.end >= since]
        read = list(index.records_from(since))
        assert [r for r in read if r.end >= since] == wanted, since
    late = list(index.records_from(50 * 3600.0))
    assert len(late) < len(every) / 3, "most of the index before the range was not read"
    assert "deletion" in [r.type for r in index.records_from(8000.0)]


def test_a_sidecar_that_no_longer_matches_the_index_is_not_used(
        tmp_path: Path, small_checkpoints: None) -> None:
    archive = tmp_path / "archive"
    fill(ArchiveIndex(archive), 30)
    sidecar = (archive / OFFSETS_NAME).read_text()
    # The index restored from an older copy (or rebuilt): the sidecar's offsets point elsewhere.
    (archive / "index.jsonl").unlink()
    rebuilt = ArchiveIndex(archive)
    (archive / OFFSETS_NAME).write_text(sidecar)
    for h in range(30):
        rebuilt.append(GapRecord(camera="cam-c", start=h * 3600.0, end=(h + 1) * 3600.0,
                                 cause=GapCause.STREAM_ERROR, detail="x" * (h % 7)))
    since = 20 * 3600.0
    assert [r.end for r in rebuilt.records_from(since) if r.end >= since] == \
        [(h + 1) * 3600.0 for h in range(19, 30)]
    # A sidecar cut mid-line by a crash keeps its whole lines.
    (archive / OFFSETS_NAME).write_text(sidecar + '{"offset": 12')
    assert len(read_checkpoints(archive)) == sidecar.count("\n")



def test_an_export_reads_the_whole_index_when_the_sidecar_skipped_part_of_its_range(
        tmp_path: Path, small_checkpoints: None) -> None:
    archive = tmp_path / "archive"
    index = ArchiveIndex(archive)
    fill(index, 40)
    start = 10 * 3600.0 + 5
    honest = camera_records(index.records_from(start), ["cam-a"])
    assert reaches_back(honest, start) and honest["cam-a"][0].start <= start
    # A checkpoint claiming more than is true (a line boundary, the right previous hash, a false
    # max_end): reading from it skips hours 10..29 of the range, and the export notices.
    lines = (archive / "index.jsonl").read_bytes().split(b"\n")
    offset = sum(len(line) + 1 for line in lines[:60])
    append_checkpoint(archive, Checkpoint(offset, 0.0, json.loads(lines[59])["hash"]))
    skipped = camera_records(index.records_from(start), ["cam-a"])
    assert skipped["cam-a"][0].start == 30 * 3600.0 and not reaches_back(skipped, start)
