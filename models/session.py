"""Open an onnxruntime session with the house settings."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnxruntime as ort

from custodywatch import paths

from .providers import PROVIDER_NAMES, select_providers

log = logging.getLogger(__name__)


def _provider_options(name: str) -> dict[str, Any]:
    if name == PROVIDER_NAMES["tensorrt"]:
        # Building a TensorRT engine takes minutes; the cache makes it a one-off per model and shape.
        cache = paths.data_dir() / "tensorrt-cache"
        cache.mkdir(parents=True, exist_ok=True)
        return {
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache),
        }
    return {}


def open_session(model: Path, providers: Sequence[str], threads: int) -> ort.InferenceSession:
    """`providers` are short names (tensorrt, cuda, cpu) in order of preference."""
    chosen = select_providers(providers, ort.get_available_providers())
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(
        str(model), sess_options=options, providers=[(name, _provider_options(name)) for name in chosen]
    )
    # onnxruntime drops a provider it cannot initialise (missing CUDA libraries) without raising.
    log.info("detector %s runs on %s with %d thread(s)",
             model.name, ", ".join(session.get_providers()), threads)
    return session
