"""The offline bundle: everything a box with no network needs to install or upgrade custodywatch.

Made on a connected machine of the same Debian release, architecture and Python as the boxes:
the project and every dependency as wheels (installed with `pip --no-index`), the Debian packages
the box needs with their dependencies (minus the base system every Debian box has), the models,
the install script, the systemd unit, an example config and the docs, plus a manifest of SHA-256
sums that install.sh checks before touching anything.
"""
from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from custodywatch.paths import project_root

# What the box runs on besides the wheels: Python's venv, time sync (the clock offset is evidence),
# and sqlite3 for looking at the embedded database by hand.
BOX_PACKAGES = ("python3-venv", "chrony", "sqlite3")
# Present on every Debian install; bundling them would only risk downgrades.
BASE_PRIORITIES = ("required", "important")


class BundleError(RuntimeError):
    pass


@dataclass(frozen=True)
class BundleManifest:
    version: str
    created_at: str
    python: str  # major.minor the wheels were made for
    machine: str
    files: dict[str, str]  # relative path -> SHA-256

    def write(self, directory: Path) -> None:
        (directory / "manifest.json").write_text(json.dumps(vars(self), indent=1, sort_keys=True) + "\n")


def build_bundle(out: Path, model_files: list[Path], deb_packages: tuple[str, ...] | None = BOX_PACKAGES,
                 source: Path | None = None) -> BundleManifest:
    """Writes the bundle into `out` (which must not exist or be empty) and returns its manifest.

    `deb_packages=None` leaves the Debian packages out (a box that has them already).
    """
    source = source or project_root()
    if not (source / "pyproject.toml").is_file():
        raise BundleError(f"{source}: not a custodywatch source tree (no pyproject.toml): "
                          "make the bundle from a checkout")
    if out.exists() and any(out.iterdir()):
        raise BundleError(f"{out}: exists and is not empty")
    for model in model_files:
        if not model.is_file():
            raise BundleError(f"{model}: model file not found")
    out.mkdir(parents=True, exist_ok=True)
    _wheels(source, out / "wheels")
    if deb_packages:
        _debs(deb_packages, out / "debs")
    (out / "models").mkdir()
    for model in model_files:
        shutil.copy2(model, out / "models" / model.name)
    deploy = resources.files("custodywatch") / "deploy"
    for name in ("install.sh", "custodywatch.service"):
        (out / name).write_bytes((deploy / name).read_bytes())
    (out / "install.sh").chmod(0o755)
    shutil.copy2(source / "cameras.yaml", out / "cameras.example.yaml")
    if (source / "docs").is_dir():
        shutil.copytree(source / "docs", out / "docs")
    manifest = BundleManifest(
        version=_version(out / "wheels"),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        python=f"{sys.version_info.major}.{sys.version_info.minor}",
        machine=platform.machine(),
        files={str(f.relative_to(out)): _sha256(f) for f in sorted(out.rglob("*")) if f.is_file()},
    )
    manifest.write(out)
    return manifest


def _wheels(source: Path, wheels: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--prefer-binary", "--wheel-dir",
                          str(wheels), str(source)], capture_output=True, text=True)
    if run.returncode != 0:
        raise BundleError(f"pip wheel failed: {run.stderr.strip()[-2000:]}")


def _debs(packages: tuple[str, ...], debs: Path) -> None:
    if shutil.which("apt-get") is None:
        raise BundleError("apt-get not found: Debian packages can only be bundled on Debian "
                          "(use --no-debs for a box that has them)")
    names = _with_dependencies(packages)
    debs.mkdir()
    run = subprocess.run(["apt-get", "download", *names], cwd=debs, capture_output=True, text=True)
    if run.returncode != 0:
        raise BundleError(f"apt-get download failed: {run.stderr.strip()[-2000:]}")
    (debs / "PACKAGES").write_text("\n".join(names) + "\n")


def _with_dependencies(packages: tuple[str, ...]) -> list[str]:
    run = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                          "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *packages],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise BundleError(f"apt-cache depends: {run.stderr.strip()}")
    # Top-level lines are real packages; virtual ones are shown in <angle brackets>.
    names = sorted({line.strip() for line in run.stdout.splitlines()
                    if line and not line[0].isspace() and not line.startswith("<")})
    shown = subprocess.run(["apt-cache", "show", "--no-all-versions", *names], capture_output=True, text=True)
    base: set[str] = set()
    current = ""
    for line in shown.stdout.splitlines():
        if line.startswith("Package: "):
            current = line.split(": ", 1)[1]
        elif line.startswith("Priority: ") and line.split(": ", 1)[1] in BASE_PRIORITIES:
            base.add(current)
    return [n for n in names if n not in base or n in packages]


def _version(wheels: Path) -> str:
    found = sorted(wheels.glob("custodywatch-*.whl"))
    if not found:
        raise BundleError(f"{wheels}: pip made no custodywatch wheel")
    return found[-1].name.split("-")[1]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
