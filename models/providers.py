"""Choose onnxruntime execution providers from the configured short names."""
from __future__ import annotations

import logging
from collections.abc import Sequence

log = logging.getLogger(__name__)

PROVIDER_NAMES: dict[str, str] = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
CPU = PROVIDER_NAMES["cpu"]


class ProviderUnavailableError(RuntimeError):
    """None of the requested execution providers exists in the installed onnxruntime."""


def select_providers(requested: Sequence[str], available: Sequence[str]) -> list[str]:
    """Requested providers that `available` has, in the requested order, CPU last.

    CPU goes last whatever its place in the request: onnxruntime gives each graph node to the
    first provider that can run it, and the CPU provider can run them all.
    """
    unknown = [name for name in requested if name not in PROVIDER_NAMES]
    if unknown:
        raise ValueError(f"unknown execution provider(s) {unknown} (known: {', '.join(PROVIDER_NAMES)})")
    wanted = list(dict.fromkeys(PROVIDER_NAMES[name] for name in requested))
    if CPU in wanted:
        wanted.remove(CPU)
        wanted.append(CPU)
    chosen = [name for name in wanted if name in available]
    missing = [name for name in wanted if name not in available]
    if not chosen:
        raise ProviderUnavailableError(
            f"none of the requested execution providers {list(requested)} is available in this onnxruntime "
            f"(it has {', '.join(available) or 'none'}); add 'cpu' to detector.providers, or install "
            "onnxruntime-gpu with CUDA/TensorRT for 'cuda'/'tensorrt'"
        )
    if missing:
        log.warning("execution providers %s are not available; using %s", missing, chosen)
    return chosen

