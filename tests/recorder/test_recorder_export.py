"""Evidence packages: the original segments of a range with their chain, signed; verify checks the
signature against the key it is given and names every altered, missing or extra file."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from recorder_helpers import segments
from sqlalchemy import Engine

from custodywatch.cli import main
from custodywatch.recorder.signing import load_or_create_key, public_pem
from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.vocabulary import RuleId, Severity


@pytest.fixture
def archive(media: dict[str, Path], data_dir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = data_dir / "archive"  # the default archive: export finds it without --archive
    assert main(["record", str(media["aac"]), "--out", str(out), "--seconds", "30", "--segment-s", "2",
                 "--camera", "cam-f"]) == 0
    capsys.readouterr()
    return out


@pytest.fixture
def pubkey(data_dir: Path) -> str:
    return str(data_dir / "keys" / "box_ed25519.pub.pem")


@pytest.fixture
def package(archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    pkg = tmp_path / "pkg"
    assert main(["export", "--camera", "cam-f", "--from", "2.5", "--to", "5.5", "-o", str(pkg)]) == 0
    assert capsys.readouterr().out.startswith(f"{pkg}: 2 segments, 0 gaps")
    return pkg


def verify(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    code = main(["verify", str(path), *extra])
    out = capsys.readouterr()
    return code, (out.out + out.err).splitlines()


def writable(path: Path) -> Path:
    path.chmod(0o644)
    return path


def test_a_package_holds_the_original_segments_of_the_range_and_verifies(
        archive: Path, package: Path, pubkey: str, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = json.loads((package / "manifest.json").read_text())
    s1, s2, s3, s4 = segments(archive)
    assert [s["sha256"] for s in manifest["segments"]] == [s2.sha256, s3.sha256]
    for seg in (s2, s3):
        assert (package / "segments" / seg.path).read_bytes() == (archive / seg.path).read_bytes()
    assert manifest["cameras"] == ["cam-f"]
    assert manifest["signed_heads"]["index_bytes"] == (archive / "index.jsonl").stat().st_size
    assert manifest["chain"]["cam-f"]["first_prev"] == s1.hash, "the run links into the archive's chain"
    code, out = verify(package, capsys, "--pubkey", pubkey)
    assert code == 0 and out[0].startswith("OK: 2 segments, 0 gaps")


def test_a_changed_segment_manifest_or_chain_is_caught(package: Path, pubkey: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    seg = next((package / "segments").rglob("*.mp4"))
    data = bytearray(seg.read_bytes())
    data[-10] ^= 0xFF
    writable(seg).write_bytes(bytes(data))
    code, out = verify(package, capsys, "--pubkey", pubkey)
    assert code == 1 and out == [f"ALTERED {seg.relative_to(package)}: {out[0].split(': ', 1)[1]}"]
    assert out[0].split(": ", 1)[1].startswith("SHA-256")

    manifest = writable(package / "manifest.json")
    manifest.write_text(manifest.read_text().replace('"cam-f"', '"cam-x"', 1))
    code, out = verify(package, capsys, "--pubkey", pubkey)
    assert code == 1 and out[0].startswith("BAD_SIGNATURE manifest.json: signature does not verify")


def test_a_removed_chain_record_breaks_the_chain(package: Path, pubkey: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    records = writable(package / "records.jsonl")
    lines = records.read_text().splitlines()
    records.write_text(lines[0] + "\n")
    code, out = verify(package, capsys, "--pubkey", pubkey)
    assert code == 1 and any(line.startswith("CHAIN_BROKEN ") for line in out)


def test_an_extra_file_or_another_key(package: Path, tmp_path: Path, pubkey: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.pub.pem"
    other.write_bytes(public_pem(load_or_create_key(tmp_path / "other").public_key()))
    code, out = verify(package, capsys, "--pubkey", str(other))
    assert code == 1 and out[0].startswith("BAD_SIGNATURE manifest.json")
    planted = package / "segments" / "cam-f" / "planted.mp4"
    writable(planted.parent)
    planted.write_bytes(b"x")
    code, out = verify(package, capsys, "--pubkey", pubkey)
    assert (code, out) == (1, ["UNINDEXED segments/cam-f/planted.mp4: file that the manifest does not list"])


def test_without_a_key_the_signature_is_not_taken_on_trust(package: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out = verify(package, capsys)
    assert code == 0 and "signatures not checked (no public key)" in out[0]


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{data_dir / 'custodywatch.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def test_export_by_alert_takes_its_time_with_the_rolls(
        archive: Path, engine: Engine, tmp_path: Path, pubkey: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    s1, s2, s3, s4 = segments(archive)
    store = AlertStore(engine, "site", "box1")
    for kind in ("fired", "ended"):
        store.apply(AlertEvent(kind=kind, alert_id="a-7", rule=RuleId.SINGLE_OFFICER, room="interrogation-1",
                               camera="cam-f", severity=Severity.ALARM, condition_started_at=s3.start + 0.5,
                               at=s3.start + 1.0))
    pkg = tmp_path / "alert-pkg"
    # Default rolls are 10 s each side: the whole 8 s recording.
    assert main(["export", "--alert", "a-7", "-o", str(pkg)]) == 0
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert manifest["subject"] == {"alert": "a-7"} and len(manifest["segments"]) == 4
    assert verify(pkg, capsys, "--pubkey", pubkey)[0] == 0


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--custody", "c-1"], 2, "--custody c-1: give --config too"),
    (["--camera", "cam-f", "--from", "1"], 2, "give --alert ID, or --camera C with --from T and --to T"),
    (["--camera", "cam-q", "--from", "1", "--to", "2"], 2, "no camera 'cam-q'"),
    (["--camera", "cam-f", "--from", "100", "--to", "200"], 1,
     "no recording of cam-f in the requested range"),
    (["--alert", "nope"], 2, "--alert: no alert 'nope'"),
])
def test_bad_export_requests_are_named(archive: Path, tmp_path: Path, args: list[str], code: int,
                                       message: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", *args, "-o", str(tmp_path / "p")]) == code
    assert message in capsys.readouterr().err
