"""Scene objects (timelines, configs, truth) built from the real cut-outs, once per run."""
from __future__ import annotations

from pathlib import Path

import pytest
from scene_cache import rendering

from custodywatch.paths import shared_dir
from custodywatch.scenes.catalog import SCENES, Scene, build_scene
from custodywatch.scenes.cutouts import Cutout, load_cutouts

YOLOX = shared_dir() / "models" / "yolox_nano_coco_dynamic.onnx"


@pytest.fixture(scope="session")
def cutouts(scene_dir: Path) -> dict[str, Cutout]:
    # The cache `write_scene` uses too, so the clip is cut only once per run.
    with rendering(scene_dir):
        return load_cutouts(scene_dir / "cutouts")


@pytest.fixture(scope="session")
def scenes(cutouts: dict[str, Cutout]) -> dict[str, Scene]:
    return {name: build_scene(name, cutouts) for name in SCENES}


@pytest.fixture(scope="session")
def detector():
    from custodywatch.models.detector import Detector

    if not YOLOX.is_file():
        pytest.skip(f"test model {YOLOX} is not there")
    # The product's defaults: 416x256 input, person threshold 0.3.
    return Detector(YOLOX, providers=["cpu"], input_size=(416, 256), score_threshold=0.3, threads=2)
