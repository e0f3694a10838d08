"""The detector on real photographs with the real models in ../shared/models."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import supervision as sv

from custodywatch.config import DetectorConfig
from custodywatch.models.backends import recognise_family
from custodywatch.models.detector import Detector, ModelNotFoundError, fitted_input, resolve_model
from custodywatch.models.providers import ProviderUnavailableError, select_providers
from custodywatch.models.session import BatchRunner
from custodywatch.paths import shared_dir

MODELS = shared_dir() / "models"
YOLOX = "yolox_nano_coco_dynamic.onnx"
YOLOV8 = "yolov8n_coco_fp32_dynamic.onnx"
POSE = "yolo11n_pose_coco_fp32_dynamic.onnx"
SIZES = [(640, 640), (416, 256), (640, 384)]
SURE = 0.5  # the README's scores: full people 0.69-0.85, the cut-off one on bus.jpg 0.26


def model(name: str) -> Path:
    path = MODELS / name
    if not path.is_file():
        pytest.skip(f"test model {path} is not there")
    return path


def image(relative: str) -> np.ndarray:
    path = shared_dir() / "media" / relative
    img = cv2.imread(str(path))
    assert img is not None, f"cannot read {path}"
    return img


@dataclass(frozen=True)
class Person:
    """A person the box must cover (`inner`) without reaching outside `outer`; both xyxy."""

    name: str
    inner: tuple[int, int, int, int]
    outer: tuple[int, int, int, int]

    def matches(self, box: np.ndarray) -> bool:
        covers = box[0] <= self.inner[0] and box[1] <= self.inner[1] and box[2] >= self.inner[2] \
            and box[3] >= self.inner[3]
        inside = box[0] >= self.outer[0] and box[1] >= self.outer[1] and box[2] <= self.outer[2] \
            and box[3] <= self.outer[3]
        return covers and inside


# Boxes measured once with the three models at several sizes, then widened.
PHOTOS = {
    "photos/bus.jpg": [
        Person("beige coat", (80, 450, 200, 850), (0, 330, 290, 960)),
        Person("black jacket", (250, 450, 320, 820), (160, 330, 400, 920)),
        Person("cut at the right edge", (700, 480, 790, 840), (620, 330, 810, 930)),
    ],
    "photos/zidane.jpg": [
        Person("pointing man", (200, 250, 650, 700), (80, 150, 1200, 720)),
        Person("man on the right", (780, 80, 1100, 690), (580, 0, 1200, 720)),
    ],
    "cutouts/empty_room_frame.png": [],
}


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {name: image(name) for name in PHOTOS}


def assert_people(found: sv.Detections, expected: list[Person], where: str) -> None:
    sure = found[found.confidence > SURE]
    assert len(sure) == len(expected), f"{where}: {sure.xyxy.round().tolist()} {sure.confidence.tolist()}"
    for person in expected:
        hits = [box.round().tolist() for box in sure.xyxy if person.matches(box)]
        assert len(hits) == 1, f"{where}: {person.name} not found once in {sure.xyxy.round().tolist()}"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", [YOLOX, YOLOV8, POSE])
def test_finds_the_people_in_photos(name: str, size: tuple[int, int], photos: dict[str, np.ndarray]) -> None:
    detector = Detector(model(name), input_size=size, providers=["cpu"])
    results = detector.detect(list(photos.values()))
    assert len(results) == len(photos)
    for (photo, expected), found in zip(PHOTOS.items(), results, strict=True):
        assert_people(found, expected, f"{name} {size} {photo}")
        assert found.xyxy.dtype == np.float32 and found.confidence.dtype == np.float32
        assert set(found.class_id.tolist()) <= {0}


@pytest.mark.parametrize("name, family", [
    (YOLOX, "yolox"), (YOLOV8, "ultralytics"), (POSE, "ultralytics_pose"),
])
def test_recognises_the_model_family(name: str, family: str) -> None:
    assert Detector(model(name), providers=["cpu"]).family == family


@pytest.mark.parametrize("shape, family", [
    (["batch", "anchors", 85], "yolox"),
    (["batch", "anchors", 6], "yolox"),
    ([1, 3549, 85], "yolox"),
    (["batch", 84, "anchors"], "ultralytics"),
    ([1, 84, 8400], "ultralytics"),
    (["batch", 56, "anchors"], "ultralytics_pose"),
])
def test_family_from_output_shape(shape: list[int | str], family: str) -> None:
    assert recognise_family(shape) == family


@pytest.mark.parametrize("shape", [["batch", "a", "b"], [1, 100], [1, 84, 84]])
def test_unrecognised_output_shape_asks_for_the_family(shape: list[int | str]) -> None:
    with pytest.raises(ValueError, match=r"detector\.family"):
        recognise_family(shape)


# Where each man's nose is on zidane.jpg, in image pixels.
NOSES = [(640, 360), (995, 200)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pose_keypoints_in_image_pixels(size: tuple[int, int], photos: dict[str, np.ndarray]) -> None:
    detector = Detector(model(POSE), input_size=size, providers=["cpu"])
    found, empty = detector.detect([photos["photos/zidane.jpg"], photos["cutouts/empty_room_frame.png"]])
    keypoints = found.data["keypoints"]
    assert keypoints.shape == (2, 17, 3) and keypoints.dtype == np.float32
    assert empty.data["keypoints"].shape == (0, 17, 3)
    assert ((keypoints[..., 2] >= 0) & (keypoints[..., 2] <= 1)).all()
    noses = keypoints[:, 0, :2]
    for expected in NOSES:
        distance = np.linalg.norm(noses - expected, axis=1).min()
        assert distance < 30, f"no nose near {expected}: {noses.round().tolist()}"


@pytest.mark.parametrize("name", [YOLOX, YOLOV8, POSE])
def test_batch_gives_the_same_as_one_by_one(name: str, photos: dict[str, np.ndarray]) -> None:
    detector = Detector(model(name), input_size=(416, 256), providers=["cpu"], score_threshold=0.1)
    images = [*photos.values(), cv2.resize(photos["photos/zidane.jpg"], (320, 180))]
    batched = detector.detect(images)
    for img, together in zip(images, batched, strict=True):
        (alone,) = detector.detect([img])
        assert len(alone) == len(together)
        np.testing.assert_allclose(together.xyxy, alone.xyxy, atol=1e-3)
        np.testing.assert_allclose(together.confidence, alone.confidence, atol=1e-3)
        np.testing.assert_array_equal(together.class_id, alone.class_id)
        if "keypoints" in alone.data:
            np.testing.assert_allclose(together.data["keypoints"], alone.data["keypoints"], atol=1e-3)


@pytest.mark.parametrize(
    "frame, expected",
    [((640, 360), (416, 224)), ((1920, 1080), (416, 224)), ((640, 480), (416, 320)), ((352, 288), (416, 352)),
     ((1080, 1920), (416, 736))],
)
def test_width_alone_fits_the_input_height_to_each_cameras_aspect(frame, expected) -> None:
    assert fitted_input(416, frame) == expected


def test_cameras_of_different_aspects_share_a_call(photos: dict[str, np.ndarray]) -> None:
    detector = Detector(model(YOLOX), input_size=416, providers=["cpu"])
    wide = cv2.resize(photos["photos/zidane.jpg"], (640, 360))
    square = cv2.resize(photos["photos/bus.jpg"], (480, 480))
    together = detector.detect([wide, square, wide])
    for img, found in zip([wide, square, wide], together, strict=True):
        (alone,) = detector.detect([img])
        np.testing.assert_allclose(found.xyxy, alone.xyxy, atol=1e-3)
    assert len(together[1]) >= 3  # the bus photo's people
    assert detector.input_for((640, 360)) == (416, 224)


@pytest.mark.parametrize("name", [YOLOX, POSE])
def test_io_binding_gives_what_plain_run_gives(name: str, photos: dict[str, np.ndarray]) -> None:
    """The GPU path binds inputs and outputs; on the CPU provider the same binding code runs."""
    detector = Detector(model(name), input_size=(416, 256), providers=["cpu"])
    blob, _ = detector._backend((416, 256)).preprocess(list(photos.values()))
    session = detector._runner._session
    plain, bound = BatchRunner(session, bound=False), BatchRunner(session, bound=True)
    assert plain.device == bound.device == "cpu" and not BatchRunner(session).bound
    expected = plain.run(blob)
    np.testing.assert_allclose(bound.run(blob), expected, atol=1e-4)
    # A second batch of the same shape reuses the bound input buffer: no stale data from the first.
    flipped = np.ascontiguousarray(blob[::-1])
    np.testing.assert_allclose(bound.run(flipped), plain.run(flipped), atol=1e-4)


def test_classes_none_keeps_other_classes(photos: dict[str, np.ndarray]) -> None:
    detector = Detector(model(YOLOV8), input_size=(640, 640), providers=["cpu"], classes=None)
    (found,) = detector.detect([photos["photos/bus.jpg"]])
    assert 5 in found.class_id.tolist()  # COCO 5 = bus


def test_empty_list_and_bad_images() -> None:
    detector = Detector(model(YOLOX), providers=["cpu"])
    assert detector.detect([]) == []
    with pytest.raises(ValueError, match="image 1 must be"):
        detector.detect([np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10), np.uint8)])


def test_class_the_model_lacks() -> None:
    detector = Detector(model(YOLOX), providers=["cpu"], classes=[90])
    with pytest.raises(ValueError, match="not all in this 80-class model"):
        detector.warmup()


@pytest.mark.parametrize("size", [(416, 250), (0, 256)])
def test_input_size_must_be_multiples_of_32(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="multiples of 32"):
        Detector(model(YOLOX), input_size=size, providers=["cpu"])


def test_from_config(photos: dict[str, np.ndarray]) -> None:
    cfg = DetectorConfig(model=YOLOX, input=(416, 256), providers=["cpu"])
    detector = Detector.from_config(cfg, model_dir=MODELS)
    detector.warmup()
    assert detector.family == "yolox"
    assert_people(detector.detect([photos["photos/zidane.jpg"]])[0], PHOTOS["photos/zidane.jpg"], "config")


# ---- providers -------------------------------------------------------------------------------

TRT, CUDA, CPU = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"


@pytest.mark.parametrize("requested, available, chosen", [
    (["tensorrt", "cuda", "cpu"], [TRT, CUDA, CPU], [TRT, CUDA, CPU]),
    (["cuda", "tensorrt", "cpu"], [CPU, CUDA, TRT], [CUDA, TRT, CPU]),
    (["cpu", "cuda"], [CUDA, CPU], [CUDA, CPU]),
    (["tensorrt", "cuda", "cpu"], [CUDA, CPU], [CUDA, CPU]),
    (["tensorrt", "cuda", "cpu"], ["AzureExecutionProvider", CPU], [CPU]),
    (["cuda"], [CUDA, CPU], [CUDA]),
])
def test_provider_selection(requested: list[str], available: list[str], chosen: list[str]) -> None:
    assert select_providers(requested, available) == chosen


def test_no_requested_provider_available() -> None:
    with pytest.raises(ProviderUnavailableError, match=r"\['tensorrt', 'cuda'\].*CPUExecutionProvider"):
        select_providers(["tensorrt", "cuda"], [CPU])


def test_unknown_provider_name() -> None:
    with pytest.raises(ValueError, match=r"unknown execution provider.*'gpu'"):
        select_providers(["gpu"], [CPU])


no_cuda = pytest.mark.skipif(CUDA in ort.get_available_providers(), reason="this machine has CUDA")


@no_cuda
def test_falls_back_to_cpu() -> None:
    assert Detector(model(YOLOX), providers=["cuda", "cpu"]).providers == [CPU]


@no_cuda
def test_cuda_only_fails_clearly() -> None:
    with pytest.raises(ProviderUnavailableError, match=r"'cuda'.*add 'cpu'"):
        Detector(model(YOLOX), providers=["cuda"])


# ---- the CUDA path, where this machine has a GPU and onnxruntime-gpu ---------------------------
# The CPU tests above run the same binding code on the CPU provider; these check that on a real GPU
# the session really runs on CUDA (onnxruntime falls back to the CPU silently when the CUDA libraries
# do not load) and that it finds what the CPU finds.

has_cuda = pytest.mark.skipif(CUDA not in ort.get_available_providers(),
                              reason="this onnxruntime has no CUDA")


def sure(found: sv.Detections) -> sv.Detections:
    return found[found.confidence > SURE]


@has_cuda
def test_cuda_session_runs_on_the_gpu_with_bound_buffers() -> None:
    detector = Detector(model(YOLOX), providers=["cuda", "cpu"])
    assert detector.providers[0] == CUDA, f"fell back to {detector.providers}: CUDA libraries not loaded"
    assert detector._runner.bound and detector._runner.device == "cuda"


@has_cuda
@pytest.mark.parametrize("name", [YOLOX, YOLOV8, POSE])
@pytest.mark.parametrize("size", [(640, 640), (416, 256)])
def test_cuda_finds_what_the_cpu_finds(name: str, size: tuple[int, int],
                                       photos: dict[str, np.ndarray]) -> None:
    images = list(photos.values())
    gpu = Detector(model(name), input_size=size, providers=["cuda"])
    cpu = Detector(model(name), input_size=size, providers=["cpu"])
    assert gpu.providers[0] == CUDA
    expected = cpu.detect(images)
    # Twice, the second batch reversed: it reuses the device input buffer of the same shape.
    for batch, reference in ((images, expected), (images[::-1], expected[::-1])):
        for found, want in zip(gpu.detect(batch), reference, strict=True):
            found, want = sure(found), sure(want)
            assert len(found) == len(want)
            order, want_order = np.argsort(found.xyxy[:, 0]), np.argsort(want.xyxy[:, 0])
            np.testing.assert_allclose(found.xyxy[order], want.xyxy[want_order], atol=2.0)
            np.testing.assert_allclose(found.confidence[order], want.confidence[want_order], atol=0.02)


# ---- model files -----------------------------------------------------------------------------


def test_resolve_model_in_model_dir() -> None:
    assert resolve_model(YOLOX, MODELS) == (MODELS / YOLOX).resolve()


def test_resolve_model_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTODYWATCH_MODEL_DIR", str(MODELS))
    assert resolve_model(YOLOX) == (MODELS / YOLOX).resolve()


def test_resolve_model_absolute_path_as_is() -> None:
    path = (MODELS / YOLOX).resolve()
    assert resolve_model(str(path), Path("/nowhere")) == path


def test_missing_model_names_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model("nope.onnx", tmp_path)
    message = str(caught.value)
    assert "nope.onnx" in message and str(tmp_path) in message and "CUSTODYWATCH_MODEL_DIR" in message
    assert isinstance(caught.value, FileNotFoundError)


def test_missing_absolute_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=re.escape(str(tmp_path / "gone.onnx"))):
        resolve_model(str(tmp_path / "gone.onnx"))


def test_detector_with_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"gone\.onnx"):
        Detector(tmp_path / "gone.onnx", providers=["cpu"])
