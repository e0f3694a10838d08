"""Open an onnxruntime session with the house settings."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
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


ACCELERATORS = (PROVIDER_NAMES["tensorrt"], PROVIDER_NAMES["cuda"])


class BatchRunner:
    """Runs a one-input network on a float32 NCHW batch and returns its first output.

    On a GPU provider it uses IO binding: the input goes into a device buffer kept per batch shape
    (updated in place, not allocated per call) and the output is bound on the device and copied
    back once, instead of onnxruntime staging both through fresh buffers on every run. On the CPU
    plain run() is cheapest. `bound` forces either path, so the binding code runs in CPU tests.
    """

    def __init__(self, session: ort.InferenceSession, bound: bool | None = None):
        self._session = session
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name
        accelerated = session.get_providers()[0] in ACCELERATORS
        self.device = "cuda" if accelerated else "cpu"
        self.bound = accelerated if bound is None else bound
        self._inputs: dict[tuple[int, ...], ort.OrtValue] = {}

    def run(self, blob: np.ndarray) -> np.ndarray:
        if not self.bound:
            output: np.ndarray = self._session.run([self._output], {self._input: blob})[0]
            return output
        value = self._inputs.get(blob.shape)
        if value is None:
            value = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(blob), self.device, 0)
            self._inputs[blob.shape] = value
        else:
            value.update_inplace(np.ascontiguousarray(blob))
        binding = self._session.io_binding()
        binding.bind_ortvalue_input(self._input, value)
        binding.bind_output(self._output, self.device)
        self._session.run_with_iobinding(binding)
        bound_output: np.ndarray = binding.copy_outputs_to_cpu()[0]
        return bound_output
