"""The offline bundle: made here, installed into a fresh prefix with pip --no-index and nothing
from the network, and the installed box comes up with its keys, certificate, database and models."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from custodywatch.bundle import _with_dependencies
from custodywatch.cli import main
from custodywatch.paths import project_root
from custodywatch.recorder.signing import PRIVATE_NAME

MODEL = "yolox_nano_coco_dynamic.onnx"
# Any attempt to reach an index or a proxy fails at once.
OFFLINE = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_EXTRA_INDEX_URL": "",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "PIP_NO_CACHE_DIR": "1"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "custodywatch-bundle"
    assert main(["bundle", "-o", str(out), "--no-debs", "--model", MODEL]) == 0
    return out


def test_the_bundle_holds_wheels_models_script_and_a_manifest(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    files = manifest["files"]
    assert any(f.startswith("wheels/custodywatch-") for f in files)
    assert any(f.startswith("wheels/onnxruntime-") for f in files)
    assert f"models/{MODEL}" in files and "install.sh" in files and "custodywatch.service" in files
    assert manifest["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert os.access(bundle / "install.sh", os.X_OK)


def test_install_from_the_bundle_alone_gives_a_working_box(bundle: Path, tmp_path: Path) -> None:
    box = tmp_path / "box"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path), **OFFLINE}
    run = subprocess.run(["bash", str(bundle / "install.sh"), "--prefix", str(box / "opt"), "--data",
                          str(box / "data"), "--config", str(box / "etc" / "cameras.yaml"), "--logs",
                          str(box / "log"), "--no-debs", "--no-systemd"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "bundle verified" in run.stderr
    cw = box / "opt" / "venv" / "bin" / "custodywatch"
    check = subprocess.run([str(cw), "check-config", str(box / "etc" / "cameras.yaml")],
                           capture_output=True, text=True, env=env, timeout=120)
    assert check.returncode == 0 and ": OK:" in check.stdout
    data = box / "data"
    assert (data / "models" / MODEL).read_bytes() == (bundle / "models" / MODEL).read_bytes()
    private = data / "keys" / PRIVATE_NAME
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (data / "tls" / "cert.pem").exists() and (data / "custodywatch.db").exists()
    assert "password" in run.stdout.lower()  # the first admin's password is printed once

    # Re-running it (an upgrade) keeps the data and the keys, and keeps the previous venv for a rollback.
    key_before = private.read_bytes()
    again = subprocess.run(["bash", str(bundle / "install.sh"), "--prefix", str(box / "opt"), "--data",
                            str(data), "--config", str(box / "etc" / "cameras.yaml"), "--logs",
                            str(box / "log"), "--no-debs", "--no-systemd"],
                           capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert private.read_bytes() == key_before
    assert (box / "opt" / "venv.previous" / "bin" / "custodywatch").exists()
    assert "password" not in again.stdout.lower()  # no second admin


def test_a_damaged_bundle_is_refused_before_anything_is_installed(bundle: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(bundle, damaged)
    model = damaged / "models" / MODEL
    blob = bytearray(model.read_bytes())
    blob[1000] ^= 0xFF
    model.write_bytes(bytes(blob))
    run = subprocess.run(["bash", str(damaged / "install.sh"), "--prefix", str(tmp_path / "opt"), "--data",
                          str(tmp_path / "data"), "--no-debs", "--no-systemd"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and f"models/{MODEL}" in run.stderr
    assert not (tmp_path / "opt").exists()


def test_the_unit_file_is_valid_for_systemd(bundle: Path, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = (bundle / "custodywatch.service").read_text()
    for key, value in {"@PREFIX@": str(tmp_path), "@DATA@": str(tmp_path), "@CONFIGDIR@": str(tmp_path),
                       "@CONFIG@": "/etc/cw.yaml", "@LOGDIR@": str(tmp_path), "@USER@": "root"}.items():
        unit = unit.replace(key, value)
    assert "@" not in unit
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    exe = tmp_path / "venv" / "bin" / "custodywatch"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    path = tmp_path / "custodywatch.service"
    path.write_text(unit)
    run = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    problems = [line for line in run.stderr.splitlines() if "custodywatch.service" in line]
    assert problems == [], problems


def test_debian_packages_are_resolved_with_their_dependencies() -> None:
    if shutil.which("apt-cache") is None:
        pytest.skip("not a Debian box")
    names = _with_dependencies(("sqlite3",))
    assert "sqlite3" in names and "libsqlite3-0" in names


def test_bundle_refuses_a_non_empty_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "old").write_text("x")
    assert main(["bundle", "-o", str(tmp_path), "--no-debs"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert project_root().joinpath("pyproject.toml").exists()
