"""`custodywatch verify`: is this archive whole and unaltered?

Checks, without the database:
- the index: every line a record, each camera's chain unbroken (seq, previous hash, own hash);
- every segment: present (unless a deletion record says retention removed it), same size and
  SHA-256 as indexed;
- the archive: no media file that the index does not name (`.part` files are segments still
  being written and are counted, not judged);
- the signatures kept apart from the archive: each valid for the given public key, and the index
  still starting with exactly the bytes each one signed (a rebuilt index cannot match what the
  box signed, and cannot be re-signed without its key).
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from custodywatch.recorder.index import (
    ARCHIVE_META,
    GENESIS,
    INDEX_NAME,
    DeletionRecord,
    GapRecord,
    SegmentRecord,
    parse_record,
)
from custodywatch.recorder.segment import PART_SUFFIX, sha256_file
from custodywatch.recorder.signing import SignedHeads, fingerprint, read_heads, signature_ok

MEDIA_SUFFIXES = {".mp4", ".mov", ".mkv"}

AnyRecord = SegmentRecord | GapRecord | DeletionRecord


class ProblemKind(StrEnum):
    ALTERED = "ALTERED"
    MISSING = "MISSING"
    UNINDEXED = "UNINDEXED"
    CHAIN_BROKEN = "CHAIN_BROKEN"
    BAD_SIGNATURE = "BAD_SIGNATURE"


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    file: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.file}: {self.detail}"


@dataclass
class VerifyReport:
    segments: int = 0
    gaps: int = 0
    deletions: int = 0
    in_progress: int = 0
    signed_heads: int = 0
    key: str | None = None  # fingerprint the signatures were checked with
    problems: list[Problem] = field(default_factory=list)
    records: list[AnyRecord] = field(default_factory=list)
    package: bool = False  # an evidence package: one signature, over its manifest

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        parts = [f"OK: {self.segments} segments, {self.gaps} gaps"]
        if self.deletions:
            parts.append(f"{self.deletions} deleted by retention")
        if self.in_progress:
            parts.append(f"{self.in_progress} being written")
        if self.key and self.package:
            parts.append(f"manifest signature checked with {self.key}")
        elif self.key:
            parts.append(f"{self.signed_heads} signatures checked with {self.key}")
        else:
            parts.append("signatures not checked (no public key)")
        return ", ".join(parts)


def is_archive(path: Path) -> bool:
    return path.is_dir() and ((path / INDEX_NAME).is_file() or (path / ARCHIVE_META).is_file())


def check_chain(records: list[tuple[str, AnyRecord]], report: VerifyReport,
                first_prev: dict[str, tuple[int, str]] | None = None) -> dict[str, tuple[int, str]]:
    """Each camera's records must follow one another; returns each camera's last (seq, hash).

    `first_prev` gives where each camera's chain starts when the records are an excerpt (an
    evidence package); otherwise chains start at seq 0 with the genesis hash.
    """
    heads: dict[str, tuple[int, str]] = {}
    for where, rec in records:
        if rec.compute_hash() != rec.hash:
            report.problems.append(Problem(ProblemKind.CHAIN_BROKEN, where,
                                           f"record {rec.camera}#{rec.seq} does not match its hash"))
        if rec.camera in heads:
            want_seq, want_prev = heads[rec.camera][0] + 1, heads[rec.camera][1]
        elif first_prev is not None and rec.camera in first_prev:
            want_seq, want_prev = first_prev[rec.camera]
        else:
            want_seq, want_prev = 0, GENESIS
        if rec.seq != want_seq or rec.prev != want_prev:
            report.problems.append(Problem(
                ProblemKind.CHAIN_BROKEN, where,
                f"record {rec.camera}#{rec.seq} follows {rec.camera}#{want_seq - 1} wrongly "
                f"(expected #{want_seq} naming the previous record's hash): a record was removed, "
                "inserted or moved"))
        heads[rec.camera] = (rec.seq, rec.hash)
    return heads


def verify_archive(archive: Path, pubkey: Ed25519PublicKey | None, heads_file: Path | None) -> VerifyReport:
    report = VerifyReport()
    index_path = archive / INDEX_NAME
    located: list[tuple[str, AnyRecord]] = []
    if index_path.is_file():
        with index_path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                if not line.endswith("\n"):
                    report.in_progress += 1  # being appended right now (or torn by a crash)
                    continue
                try:
                    rec = parse_record(line)
                except ValidationError as exc:
                    report.problems.append(Problem(ProblemKind.CHAIN_BROKEN, f"{INDEX_NAME}:{n}",
                                                   f"not an index record ({exc.errors()[0]['msg']})"))
                    continue
                where = rec.path if isinstance(rec, SegmentRecord) else f"{INDEX_NAME}:{n}"
                located.append((where, rec))
    else:
        report.problems.append(Problem(ProblemKind.MISSING, INDEX_NAME, "the archive has no index"))
    report.records = [rec for _, rec in located]
    check_chain(located, report)
    _check_files(archive, report)
    _check_signed_heads(report, index_path, pubkey, heads_file)
    return report


def _check_files(archive: Path, report: VerifyReport) -> None:
    deleted = {r.path for r in report.records if isinstance(r, DeletionRecord)}
    indexed: set[str] = set()
    for rec in report.records:
        if isinstance(rec, GapRecord):
            report.gaps += 1
        elif isinstance(rec, DeletionRecord):
            report.deletions += 1
        else:
            indexed.add(rec.path)
            if rec.path in deleted:
                continue
            report.segments += 1
            check_segment_file(archive / rec.path, rec.path, rec.size, rec.sha256, report)
    for path in sorted(archive.rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(archive))
        if path.name.endswith(PART_SUFFIX):
            report.in_progress += 1
        elif path.suffix in MEDIA_SUFFIXES and rel not in indexed:
            report.problems.append(Problem(ProblemKind.UNINDEXED, rel,
                                           "media file that the index does not name"))


def check_segment_file(path: Path, name: str, size: int, sha256: str, report: VerifyReport) -> None:
    if not path.is_file():
        report.problems.append(Problem(ProblemKind.MISSING, name, "indexed segment is not in the archive"))
        return
    actual_size = path.stat().st_size
    if actual_size != size:
        report.problems.append(Problem(ProblemKind.ALTERED, name,
                                       f"size {actual_size} bytes, indexed {size}"))
        return
    digest = sha256_file(path)
    if digest != sha256:
        report.problems.append(Problem(ProblemKind.ALTERED, name,
                                       f"SHA-256 {digest[:16]}…, indexed {sha256[:16]}…"))


def _check_signed_heads(report: VerifyReport, index_path: Path, pubkey: Ed25519PublicKey | None,
                        heads_file: Path | None) -> None:
    if heads_file is None or not heads_file.is_file():
        if pubkey is not None:
            where = str(heads_file) if heads_file else "signatures"
            report.problems.append(Problem(ProblemKind.BAD_SIGNATURE, where,
                                           "no signatures found for this archive"))
        return
    if pubkey is not None:
        report.key = fingerprint(pubkey)
    signed: list[tuple[str, SignedHeads]] = []
    for n, line in enumerate(read_heads(heads_file), 1):
        where = f"{heads_file.name}:{n}"
        if not isinstance(line, SignedHeads):
            report.problems.append(Problem(ProblemKind.BAD_SIGNATURE, where, "not a signature line"))
        elif pubkey is not None and not signature_ok(pubkey, line.body(), line.signature):
            report.problems.append(Problem(ProblemKind.BAD_SIGNATURE, where,
                                           f"signature does not verify with {report.key}"))
        else:
            signed.append((where, line))
    # One pass over the index: at each signed length, the hash of what precedes must match.
    signed.sort(key=lambda item: item[1].index_bytes)
    size = index_path.stat().st_size if index_path.is_file() else 0
    digest = hashlib.sha256()
    done = 0
    with (index_path.open("rb") if index_path.is_file() else io.BytesIO()) as f:
        for where, line in signed:
            when = datetime.fromtimestamp(line.at, UTC).isoformat(timespec="seconds")
            if line.index_bytes > size:
                report.problems.append(Problem(
                    ProblemKind.MISSING, INDEX_NAME,
                    f"the index signed at {when} ({where}) had {line.index_bytes} bytes, it has {size}: "
                    "records were removed"))
                break
            while done < line.index_bytes:
                chunk = f.read(min(1 << 20, line.index_bytes - done))
                digest.update(chunk)
                done += len(chunk)
            if digest.copy().hexdigest() != line.index_sha256:
                report.problems.append(Problem(
                    ProblemKind.BAD_SIGNATURE, INDEX_NAME,
                    f"its first {line.index_bytes} bytes differ from the index signed at {when} ({where}): "
                    "the index was rewritten"))
                break
            report.signed_heads += 1
