"""Evidence packages: the original segments of a time range, their chain, and a signed manifest.

A package is a directory an investigator can hand over as it is:
- `segments/<camera>/<file>`: the archive's files, byte for byte (their SHA-256 is in the index);
- `records.jsonl`: the index records of each camera from the first to the last segment in range
  (gaps and deletions between included), a run of the archive's hash chain;
- `manifest.json`: what, when, where from — cameras, range, segments with hashes, gaps, where each
  camera's chain run starts and ends, the latest signature of the archive's index;
- `manifest.sig`: the box's Ed25519 signature over manifest.json's bytes;
- `box_ed25519.pub.pem`: the box's public key, for reference only: `verify --pubkey` checks the
  signature against a key the verifier got some other way.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from custodywatch.recorder.index import ArchiveIndex, DeletionRecord, GapRecord, SegmentRecord, parse_record
from custodywatch.recorder.signing import fingerprint, public_pem, read_heads
from custodywatch.recorder.verify import (
    AnyRecord,
    Problem,
    ProblemKind,
    VerifyReport,
    check_chain,
    check_segment_file,
)

MANIFEST = "manifest.json"
# How far apart a camera's consecutive records may be and still follow one another (clock rounding).
FOLLOWS_S = 1.0
SIGNATURE = "manifest.sig"
RECORDS = "records.jsonl"
PUBKEY = "box_ed25519.pub.pem"
FORMAT = "custodywatch-evidence/1"


class ExportError(Exception):
    """Nothing to export, or the output cannot be written (the message says which)."""


@dataclass(frozen=True)
class Package:
    path: Path
    segments: int
    gaps: int
    bytes: int


def is_package(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def camera_records(records: Iterable[AnyRecord], cameras: list[str]) -> dict[str, list[AnyRecord]]:
    by_camera: dict[str, list[AnyRecord]] = {}
    for rec in records:
        if rec.camera in cameras:
            by_camera.setdefault(rec.camera, []).append(rec)
    return by_camera


def reaches_back(by_camera: dict[str, list[AnyRecord]], start: float) -> bool:
    """Whether what was read reaches back to `start` for every camera. A camera's segments and gaps
    follow one another without a hole, so a first record read that is not the camera's first and
    begins after `start` means its predecessor, which reaches past `start`, was skipped: the offsets
    sidecar was wrong (or forged), and the whole index must be read."""
    for recs in by_camera.values():
        first = next((r for r in recs if not isinstance(r, DeletionRecord)), None)
        if first is not None and first.seq > 0 and first.start > start + FOLLOWS_S:
            return False
    return True


def export_package(index: ArchiveIndex, cameras: list[str], start: float, end: float, out: Path,
                   key: Ed25519PrivateKey, *, heads_file: Path | None = None,
                   subject: dict[str, Any] | None = None, box: dict[str, str] | None = None) -> Package:
    if end <= start:
        raise ExportError(f"the range's end ({end:.3f}) must be after its start ({start:.3f})")
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out}: already exists and is not empty")
    # Records that end before the range cannot be in it: the offsets sidecar skips them unread.
    by_camera = camera_records(index.records_from(start), cameras)
    if not reaches_back(by_camera, start):
        by_camera = camera_records(index.records(), cameras)
    deleted = {r.path for recs in by_camera.values() for r in recs if isinstance(r, DeletionRecord)}
    excerpt: list[AnyRecord] = []
    chain: dict[str, dict[str, Any]] = {}
    for camera in cameras:
        recs = by_camera.get(camera, [])
        hit = [i for i, r in enumerate(recs) if not isinstance(r, DeletionRecord) and r.end > start
               and r.start < end]
        if not hit:
            continue
        run = recs[hit[0]:hit[-1] + 1]
        excerpt.extend(run)
        chain[camera] = {"first_seq": run[0].seq, "first_prev": run[0].prev,
                         "last_seq": run[-1].seq, "last_hash": run[-1].hash}
    segments = [r for r in excerpt if isinstance(r, SegmentRecord) and r.path not in deleted
                and r.end > start and r.start < end]
    if not segments:
        raise ExportError(f"no recording of {', '.join(cameras)} in the requested range")
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for seg in segments:
        target = out / "segments" / seg.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(index.archive / seg.path, target)
        total += seg.size
    with (out / RECORDS).open("w", encoding="utf-8") as f:
        for rec in excerpt:
            f.write(json.dumps(rec.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False) + "\n")
    signed_heads = None
    if heads_file is not None and heads_file.is_file():
        lines = [h for h in read_heads(heads_file) if not isinstance(h, str)]
        if lines:
            signed_heads = json.loads(lines[-1].to_json())
    gaps = [r for r in excerpt if isinstance(r, GapRecord) and r.end > start and r.start < end]
    manifest = {
        "format": FORMAT,
        "created_at": time.time(),
        "box": box or {},
        "archive_id": index.id,
        "subject": subject or {},
        "range": {"start": start, "end": end},
        "cameras": sorted(chain),
        "segments": [{"camera": s.camera, "path": f"segments/{s.path}", "start": s.start, "end": s.end,
                      "size": s.size, "sha256": s.sha256, "seq": s.seq} for s in segments],
        "gaps": [{"camera": g.camera, "start": g.start, "end": g.end, "cause": g.cause.value, "seq": g.seq}
                 for g in gaps],
        "chain": chain,
        "signed_heads": signed_heads,
        "key": fingerprint(key.public_key()),
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    (out / MANIFEST).write_bytes(body)
    (out / SIGNATURE).write_text(base64.b64encode(key.sign(body)).decode() + "\n")
    (out / PUBKEY).write_bytes(public_pem(key.public_key()))
    for path in out.rglob("*"):
        if path.is_file():
            os.chmod(path, 0o444)  # a package is read-only evidence
    return Package(out, len(segments), len(gaps), total)


def verify_package(pkg: Path, pubkey: Ed25519PublicKey | None) -> VerifyReport:
    report = VerifyReport(package=True)
    body = (pkg / MANIFEST).read_bytes()
    try:
        manifest = json.loads(body)
    except ValueError as exc:
        report.problems.append(Problem(ProblemKind.ALTERED, MANIFEST, f"not JSON: {exc}"))
        return report
    if pubkey is not None:
        report.key = fingerprint(pubkey)
        try:
            pubkey.verify(base64.b64decode((pkg / SIGNATURE).read_text().strip()), body)
            report.signed_heads = 1
        except FileNotFoundError:
            report.problems.append(Problem(ProblemKind.BAD_SIGNATURE, SIGNATURE, "the package is not signed"))
        except (InvalidSignature, ValueError):
            report.problems.append(Problem(ProblemKind.BAD_SIGNATURE, MANIFEST,
                                           f"signature does not verify with {report.key}"))
    located: list[tuple[str, AnyRecord]] = []
    records_path = pkg / RECORDS
    if records_path.is_file():
        for n, line in enumerate(records_path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                located.append((f"{RECORDS}:{n}", parse_record(line)))
            except ValidationError:
                report.problems.append(Problem(ProblemKind.CHAIN_BROKEN, f"{RECORDS}:{n}",
                                               "not an index record"))
    else:
        report.problems.append(Problem(ProblemKind.MISSING, RECORDS, "the package has no chain records"))
    starts = {cam: (int(c["first_seq"]), str(c["first_prev"]))
              for cam, c in manifest.get("chain", {}).items()}
    heads = check_chain(located, report, first_prev=starts)
    for cam, c in manifest.get("chain", {}).items():
        if heads.get(cam) != (int(c["last_seq"]), str(c["last_hash"])):
            report.problems.append(Problem(ProblemKind.CHAIN_BROKEN, RECORDS,
                                           f"{cam}'s chain does not end where the manifest says"))
    report.records = [r for _, r in located]
    chained = {(r.camera, r.seq): r for r in report.records}
    listed: set[str] = set()
    for seg in manifest.get("segments", []):
        listed.add(seg["path"])
        rec = chained.get((seg["camera"], seg["seq"]))
        if not isinstance(rec, SegmentRecord) or rec.sha256 != seg["sha256"]:
            report.problems.append(Problem(ProblemKind.CHAIN_BROKEN, seg["path"],
                                           "the manifest's segment is not the one in the chain"))
        report.segments += 1
        check_segment_file(pkg / seg["path"], seg["path"], int(seg["size"]), str(seg["sha256"]), report)
    report.gaps = len(manifest.get("gaps", []))
    for path in sorted((pkg / "segments").rglob("*")) if (pkg / "segments").is_dir() else []:
        rel = str(path.relative_to(pkg))
        if path.is_file() and rel not in listed:
            report.problems.append(Problem(ProblemKind.UNINDEXED, rel,
                                           "file that the manifest does not list"))
    return report
