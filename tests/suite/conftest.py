"""The scene suite's analyses: every scene written and analysed once per run, two at a time."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from suite_runs import Analysis, analyse_all

from custodywatch.models.detector import Detector
from custodywatch.paths import shared_dir
from custodywatch.scenes.catalog import SCENES, ScenePaths

YOLOX = shared_dir() / "models" / "yolox_nano_coco_dynamic.onnx"


@pytest.fixture(scope="session")
def detector() -> Detector:
    """The product's default detector (416x256 input, person threshold 0.3), on the CPU."""
    if not YOLOX.is_file():
        pytest.skip(f"test model {YOLOX} is not there")
    return Detector(YOLOX, providers=["cpu"], input_size=(416, 256), score_threshold=0.3, threads=1)


@pytest.fixture(scope="session")
def analysed(scene: Callable[[str], ScenePaths]) -> Callable[[str], Analysis]:
    """A scene's analysis beside its truth. The first call analyses the whole catalog, in
    parallel; scenes come from the session's `scene` fixture, so tests/scenes reuse them."""
    done: dict[str, Analysis] = {}

    def get(name: str) -> Analysis:
        if not done:
            done.update(analyse_all(list(SCENES), scene))
        return done[name]

    return get
