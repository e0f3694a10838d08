"""The house tooling as tests, so CI enforces it: ruff over the repo, mypy --strict over the package."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=240)


def test_ruff_is_clean() -> None:
    res = run([sys.executable, "-m", "ruff", "check", "--no-cache", "."])
    assert res.returncode == 0, f"ruff check . failed:\n{res.stdout}{res.stderr}"


def test_mypy_strict_is_clean() -> None:
    res = run(["bash", "scripts/typecheck.sh"])
    assert res.returncode == 0, f"scripts/typecheck.sh failed:\n{res.stdout}{res.stderr}"
