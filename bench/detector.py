"""Detector throughput and CPU cost by model, provider, threads, input size and batch size.

Run with no arguments: `.venv/bin/python bench/detector.py`. Times the whole `Detector.detect`
call (letterbox, inference, decode, NMS) on sub-stream-sized frames (640x360) made from the
shared photographs. CPU ms/image is process CPU time, all threads counted: on a shared box that,
not wall time, is what the other services lose.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from custodywatch import paths
from custodywatch.models.detector import Detector
from custodywatch.models.providers import PROVIDER_NAMES

BATCHES = (1, 4, 8)
SIZES = ((320, 192), (416, 224), (416, 256), (416, 416), (640, 384))
THREADS = (1, 2)
FRAME = (640, 360)


@dataclass(frozen=True)
class Result:
    images_per_s: float
    cpu_ms_per_image: float
    wall_ms_per_batch: float


def model_files() -> list[Path]:
    """Models in the model directory, else the shared test models."""
    for folder in (paths.model_dir(), paths.shared_dir() / "models"):
        found = sorted(folder.glob("*.onnx"))
        if found:
            return found
    raise SystemExit(f"no .onnx models in {paths.model_dir()} or {paths.shared_dir() / 'models'}")


def frames(count: int) -> list[np.ndarray]:
    photos = sorted((paths.shared_dir() / "media" / "photos").glob("*.jpg"))
    images = ([cv2.resize(cv2.imread(str(p)), FRAME) for p in photos]
              or [np.zeros((*FRAME[::-1], 3), np.uint8)])
    return list(itertools.islice(itertools.cycle(images), count))


def measure(detector: Detector, batch: list[np.ndarray], min_seconds: float) -> Result:
    detector.detect(batch)  # first call at a new shape allocates (and on TensorRT builds an engine)
    calls = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while calls < 2 or time.perf_counter() - wall < min_seconds:
        detector.detect(batch)
        calls += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    images = calls * len(batch)
    return Result(images / wall, cpu / images * 1e3, wall / calls * 1e3)


def available_providers() -> list[str]:
    present = set(ort.get_available_providers())
    return [short for short, name in PROVIDER_NAMES.items() if name in present]


def run(models: Sequence[Path], providers: Sequence[str], min_seconds: float) -> None:
    pool = frames(max(BATCHES))
    print(f"{'model':38} {'provider':9} {'thr':>3} {'input':>8} {'batch':>5} {'img/s':>7} "
          f"{'CPU ms/img':>10} {'ms/batch':>8}")
    for model, provider, threads in itertools.product(models, providers, THREADS):
        for width, height in SIZES:
            detector = Detector(model, input_size=(width, height), providers=[provider], threads=threads)
            if detector.providers[0] != PROVIDER_NAMES[provider]:  # onnxruntime fell back silently
                raise SystemExit(f"{provider} did not start (session runs on {detector.providers})")
            for size in BATCHES:
                r = measure(detector, pool[:size], min_seconds)
                print(f"{model.name:38} {provider:9} {threads:3} {f'{width}x{height}':>8} {size:5} "
                      f"{r.images_per_s:7.1f} {r.cpu_ms_per_image:10.1f} {r.wall_ms_per_batch:8.1f}",
                      flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-seconds", type=float, default=0.8, help="timed run per setting (default 0.8)")
    parser.add_argument("--providers", nargs="+", choices=list(PROVIDER_NAMES),
                        help="providers to time (default: every one this onnxruntime has)")
    parser.add_argument("models", nargs="*", type=Path, help="model files (default: all found)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    run(args.models or model_files(), args.providers or available_providers(), args.min_seconds)
    print(f"total {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
