"""`custodywatch snapshot`: a camera's frame with its zones and role-coloured detections drawn."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from custodywatch.cli import main
from custodywatch.config import load_config
from custodywatch.models.detector import Detector
from custodywatch.pipeline.snapshot import ROLE_COLOURS, ZONE_COLOURS, grab_frame, people_in_roles
from custodywatch.vocabulary import Role

JPEG_TOLERANCE = 60


def near(pixel: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return int(np.abs(pixel.astype(int) - np.array(colour)).sum()) <= JPEG_TOLERANCE


def test_snapshot_draws_zones_and_role_coloured_people(scene, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    paths = scene("holding_guard_leaves")
    cfg = load_config(paths.config)
    camera = cfg.cameras[0]
    out = tmp_path / "snap.jpg"

    assert main(["snapshot", "--config", str(paths.config), "--camera", camera.id, "-o", str(out),
                 "--zones"]) == 0
    said = capsys.readouterr().out
    assert "detainee" in said and "guard" in said  # the scene opens with both in place

    image = cv2.imread(str(out))
    h, w = image.shape[:2]
    # Every zone edge's midpoint carries the zone's colour.
    for zone, poly in camera.zones.items():
        pts = np.round(np.asarray(poly, np.float64) * [w - 1, h - 1]).astype(int)
        for a, b in zip(pts, np.roll(pts, -1, axis=0), strict=True):
            x, y = (a + b) // 2
            x, y = min(max(x, 1), w - 2), min(max(y, 1), h - 2)
            patch = image[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3)
            assert any(near(p, ZONE_COLOURS[zone]) for p in patch), f"{zone} edge at {(x, y)}"

    # Each person's box outline is drawn in their role's colour, where the detector puts them.
    frame = grab_frame(camera)
    detector = Detector.from_config(cfg.detector)
    people = people_in_roles(cfg, camera, detector.detect([frame])[0], (w, h))
    roles = {p.role for p in people}
    assert {Role.DETAINEE, Role.GUARD} <= roles
    for p in people:
        if p.role is None:
            continue
        x1, y1, x2, y2 = p.box
        left_edge = image[(y1 + y2) // 2 - 2:(y1 + y2) // 2 + 3, max(x1 - 1, 0):x1 + 2].reshape(-1, 3)
        assert any(near(px, ROLE_COLOURS[p.role]) for px in left_edge), f"{p.role} box at {p.box}"
    # The picture itself is left alone away from the drawing: the centre of a box is the frame's.
    p = people[0]
    cx, cy = (p.box[0] + p.box[2]) // 2, (p.box[1] + p.box[3]) // 2
    assert int(np.abs(image[cy, cx].astype(int) - frame[cy, cx].astype(int)).sum()) <= JPEG_TOLERANCE


def test_snapshot_bad_input_exits_2_naming_it(scene, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    paths = scene("holding_guard_leaves")
    assert main(["snapshot", "--config", str(paths.config), "--camera", "nope", "-o",
                 str(tmp_path / "a.jpg")]) == 2
    assert "unknown camera 'nope'" in capsys.readouterr().err
    assert main(["snapshot", "--config", str(paths.config), "--camera", "x", "-o",
                 str(tmp_path / "missing" / "a.jpg")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "cameras.yaml"
    bad.write_text(paths.config.read_text().replace(str(paths.video), str(tmp_path / "gone.mp4")))
    cam = load_config(paths.config).cameras[0].id
    assert main(["snapshot", "--config", str(bad), "--camera", cam, "-o", str(tmp_path / "a.jpg"),
                 "--no-detections"]) == 2
    assert "gone.mp4" in capsys.readouterr().err
    assert not (tmp_path / "a.jpg").exists()
