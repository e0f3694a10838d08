"""Running `custodywatch analyze` over the suite's scenes, as a user runs it (custody file included)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import yaml

from custodywatch.scenes.catalog import ScenePaths

# Each analysis runs on one core (one detector thread); CI has two.
WORKERS = max(1, min(2, os.cpu_count() or 1))
ANALYZE_TIMEOUT_S = 600


@dataclass(frozen=True)
class Analysis:
    """What `custodywatch analyze` printed for a scene, beside the scene's truth."""

    name: str
    truth: list[dict[str, Any]]
    predicted: list[dict[str, Any]]
    exit_code: int
    stderr: str

    def why(self) -> str:
        return f"analyze exited {self.exit_code}: {self.stderr.strip()[-600:]}"


def read_jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def analyze_command(paths: ScenePaths) -> list[str]:
    camera = yaml.safe_load(paths.config.read_text())["cameras"][0]["id"]
    argv = [sys.executable, "-m", "custodywatch.cli", "analyze", str(paths.video),
            "--config", str(paths.config), "--camera", camera]
    if paths.custody is not None:
        argv += ["--custody", str(paths.custody)]
    return argv


def analyse(name: str, paths: ScenePaths) -> Analysis:
    res = subprocess.run(analyze_command(paths), capture_output=True, text=True, timeout=ANALYZE_TIMEOUT_S)
    predicted = read_jsonl(res.stdout) if res.returncode == 0 else []
    return Analysis(name, read_jsonl(paths.truth.read_text()), predicted, res.returncode, res.stderr)


def analyse_all(names: Sequence[str], write: Callable[[str], ScenePaths]) -> dict[str, Analysis]:
    """Writes and analyses scenes, WORKERS at a time: rendering and encoding release the GIL for
    most of their work and each analysis is its own process. `write` must be safe to call from
    several threads for different names once one scene is written (the cut-outs are cached)."""
    first, *rest = names
    first_paths = write(first)
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {first: pool.submit(analyse, first, first_paths)}
        futures.update({name: pool.submit(lambda n: analyse(n, write(n)), name) for name in rest})
        return {name: future.result() for name, future in futures.items()}
