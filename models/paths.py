"""Find a model file by name, with an error that tells an installer what to do."""
from __future__ import annotations

from pathlib import Path

from custodywatch import paths


class ModelNotFoundError(FileNotFoundError):
    """The model file is not where the configuration points."""


def resolve_model(name: str | Path, model_dir: Path | None = None) -> Path:
    """An absolute path is used as-is; a bare name is looked up in `model_dir`
    (default: `CUSTODYWATCH_MODEL_DIR`, else `$CUSTODYWATCH_DATA/models`)."""
    path = Path(name)
    if path.is_absolute():
        if not path.is_file():
            raise ModelNotFoundError(f"model file {path} not found (looked in {path.parent})")
        return path
    folder = model_dir if model_dir is not None else paths.model_dir()
    candidate = folder / path
    if not candidate.is_file():
        raise ModelNotFoundError(
            f"model file {str(name)!r} not found (looked in {folder.resolve()}); copy it there or set "
            "CUSTODYWATCH_MODEL_DIR to the folder that holds it"
        )
    return candidate.resolve()
