"""`custodywatch verify`: an intact archive passes; every kind of tampering is named, by file."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from recorder_helpers import records, segments

from custodywatch.cli import main
from custodywatch.recorder.index import ArchiveIndex, canonical_json
from custodywatch.recorder.signing import load_or_create_key, public_pem


@pytest.fixture
def archive(media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The 8 s fixture file recorded into an archive in 2 s segments, its chain head signed."""
    out = tmp_path / "archive"
    assert main(["record", str(media["aac"]), "--out", str(out), "--seconds", "30", "--segment-s", "2",
                 "--camera", "cam-f"]) == 0
    capsys.readouterr()
    assert len(segments(out)) == 4
    return out


@pytest.fixture
def pubkey(data_dir: Path) -> str:
    return str(data_dir / "keys" / "box_ed25519.pub.pem")


def verify(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    code = main(["verify", str(path), *extra])
    out = capsys.readouterr()
    return code, (out.out + out.err).splitlines()


def test_an_intact_archive_is_ok_and_its_key_is_private(archive: Path, pubkey: str, data_dir: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = verify(archive, capsys, "--pubkey", pubkey)
    assert code == 0
    assert lines[0].startswith("OK: 4 segments, 0 gaps, 1 signatures checked with SHA256:")
    assert (data_dir / "keys" / "box_ed25519.pem").stat().st_mode & 0o777 == 0o600
    # The signatures live outside the archive.
    assert not list(archive.rglob("*.jsonl"))[1:], "only index.jsonl inside the archive"


def test_a_flipped_byte_is_altered(archive: Path, pubkey: str, capsys: pytest.CaptureFixture[str]) -> None:
    seg = segments(archive)[1]
    path = archive / seg.path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    code, lines = verify(archive, capsys, "--pubkey", pubkey)
    assert code == 1
    assert lines == [f"ALTERED {seg.path}: SHA-256 {lines[0].split('SHA-256 ')[1]}"]


def test_a_deleted_segment_is_missing(archive: Path, pubkey: str, capsys: pytest.CaptureFixture[str]) -> None:
    seg = segments(archive)[2]
    (archive / seg.path).unlink()
    code, lines = verify(archive, capsys, "--pubkey", pubkey)
    assert (code, lines) == (1, [f"MISSING {seg.path}: indexed segment is not in the archive"])


def test_a_reordered_chain_is_broken(archive: Path, pubkey: str, capsys: pytest.CaptureFixture[str]) -> None:
    index = archive / "index.jsonl"
    lines = index.read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    index.write_text("\n".join(lines) + "\n")
    code, out = verify(archive, capsys, "--pubkey", pubkey)
    assert code == 1
    assert any(line.startswith("CHAIN_BROKEN ") for line in out)
    # The moved lines also change the bytes the box signed.
    assert all(line.startswith(("CHAIN_BROKEN ", "BAD_SIGNATURE index.jsonl: its first")) for line in out)


def test_removing_a_segment_and_its_record_breaks_the_chain(archive: Path, pubkey: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    seg = segments(archive)[1]
    (archive / seg.path).unlink()
    index = archive / "index.jsonl"
    index.write_text("".join(line + "\n" for line in index.read_text().splitlines() if seg.path not in line))
    code, out = verify(archive, capsys, "--pubkey", pubkey)
    assert code == 1
    assert any(line.startswith("CHAIN_BROKEN ") and "#2" in line for line in out)


def test_a_rewritten_archive_with_a_rebuilt_chain_fails_the_signed_heads(
        archive: Path, pubkey: str, capsys: pytest.CaptureFixture[str]) -> None:
    # The forger replaces a segment and rebuilds every hash of the index consistently.
    seg = segments(archive)[1]
    path = archive / seg.path
    path.write_bytes(path.read_bytes()[:-100])
    forged_prev = "0" * 64
    out_lines = []
    for rec in records(archive):
        changes: dict[str, object] = {"prev": forged_prev}
        if getattr(rec, "path", None) == seg.path:
            changes.update(size=path.stat().st_size, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
        rec = rec.model_copy(update=changes)
        rec = rec.model_copy(update={"hash": rec.compute_hash()})
        forged_prev = rec.hash
        out_lines.append(json.dumps(rec.model_dump(mode="json")))
    (archive / "index.jsonl").write_text("\n".join(out_lines) + "\n")
    code, out = verify(archive, capsys, "--pubkey", pubkey)
    assert code == 1
    # The chain itself is consistent again; only the signature, kept outside the archive, shows
    # that this is not the index the box wrote.
    assert len(out) == 1 and out[0].startswith("BAD_SIGNATURE index.jsonl: its first ")
    assert out[0].endswith(f"({ArchiveIndex(archive).id}.jsonl:1): the index was rewritten")


def test_records_cut_off_the_end_of_the_index_are_missing(archive: Path, pubkey: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    last = segments(archive)[-1]
    (archive / last.path).unlink()
    index = archive / "index.jsonl"
    index.write_text("".join(line + "\n" for line in index.read_text().splitlines()[:-1]))
    code, out = verify(archive, capsys, "--pubkey", pubkey)
    assert code == 1 and len(out) == 1
    assert out[0].startswith("MISSING index.jsonl: the index signed at ") and "records were removed" in out[0]


def test_a_forged_signature_or_another_key_is_a_bad_signature(
        archive: Path, pubkey: str, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    other = load_or_create_key(tmp_path / "other-box")
    other_pub = tmp_path / "other.pub.pem"
    other_pub.write_bytes(public_pem(other.public_key()))
    code, out = verify(archive, capsys, "--pubkey", str(other_pub))
    assert code == 1 and out[0].startswith("BAD_SIGNATURE ") and "does not verify" in out[0]
    heads = next((data_dir / "signatures").glob("*.jsonl"))
    signed = json.loads(heads.read_text())
    signed["index_bytes"] -= 1
    heads.write_text(json.dumps(signed) + "\n")
    code, out = verify(archive, capsys, "--pubkey", pubkey)
    assert code == 1 and out[0].startswith("BAD_SIGNATURE ") and "does not verify" in out[0]
    assert canonical_json({"b": 1, "a": 2}) == b'{"a":2,"b":1}'


def test_a_file_the_index_does_not_name_is_unindexed(archive: Path, pubkey: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    seg = segments(archive)[0]
    planted = (archive / seg.path).with_name("cam-f_20200101T000000.000000Z.mp4")
    shutil.copy(archive / seg.path, planted)
    code, out = verify(archive, capsys, "--pubkey", pubkey)
    assert (code, out) == (1, [f"UNINDEXED {planted.relative_to(archive)}: media file that the index "
                               "does not name"])


def test_verify_names_bad_input_with_exit_2(tmp_path: Path, archive: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out = verify(tmp_path / "nowhere", capsys)
    assert code == 2 and "neither an archive directory" in out[0] and "nowhere" in out[0]
    code, out = verify(archive, capsys, "--pubkey", str(tmp_path / "missing.pem"))
    assert code == 2 and "missing.pem: public key file not found" in out[0]


def test_a_record_torn_by_a_crash_is_cut_before_the_next_append(archive: Path, pubkey: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from custodywatch.recorder.recovery import recover_camera

    index_path = archive / "index.jsonl"
    whole = index_path.read_bytes()
    index_path.write_bytes(whole + b'{"camera":"cam-f","seq":4,"pr')
    code, out = verify(archive, capsys, "--pubkey", pubkey)
    assert code == 0 and "1 being written" in out[0], "a line still being appended is not a problem"
    recover_camera(ArchiveIndex(archive), "cam-f")  # what the recorder does when it starts
    assert index_path.read_bytes() == whole


def test_reading_the_index_backwards_skips_a_line_being_written(archive: Path) -> None:
    index = ArchiveIndex(archive)
    everything = list(index.records())
    with (archive / "index.jsonl").open("ab") as f:
        f.write(b'{"camera":"cam-f","seq":4,"pr')
    for block in (37, 97, 1 << 16):
        assert list(index.records_reversed(block=block)) == everything[::-1]
    assert index.last("cam-f") == everything[-1]
