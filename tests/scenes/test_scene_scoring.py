"""Scoring a suite: matching predictions to truth, precision, recall, onset error."""
from __future__ import annotations

import pytest

from custodywatch.scenes.scoring import report, score_scene, suite_figures


def alert(rule: str, severity: str, start_s: float, camera: str = "cam-h1") -> dict[str, object]:
    return {"rule": rule, "camera": camera, "room": "holding-1", "severity": severity, "start_s": start_s,
            "condition_start_s": start_s - 10, "end_s": None}


WARN = alert("guard_absent", "warning", 30.0)


@pytest.mark.parametrize(("predicted", "matched", "missed", "false"), [
    ([alert("guard_absent", "warning", 33.0)], 1, 0, 0),
    ([alert("guard_absent", "warning", 40.0)], 1, 0, 0),  # exactly at the 10 s tolerance
    ([alert("guard_absent", "warning", 40.5)], 0, 1, 1),  # too late
    ([alert("guard_absent", "alarm", 30.0)], 0, 1, 1),  # wrong severity
    ([alert("guard_asleep", "warning", 30.0)], 0, 1, 1),  # wrong rule
    ([alert("guard_absent", "warning", 30.0, camera="cam-h2")], 0, 1, 1),  # wrong camera
    ([], 0, 1, 0),
    ([alert("guard_absent", "warning", 31.0), alert("guard_absent", "warning", 29.0)], 1, 0, 1),
])
def test_a_prediction_matches_truth_of_the_same_rule_severity_and_camera_near_its_onset(
        predicted: list[dict[str, object]], matched: int, missed: int, false: int) -> None:
    score = score_scene("s", [WARN], predicted)
    assert (len(score.matched), len(score.missed), len(score.false)) == (matched, missed, false)


def test_the_closest_prediction_is_matched_first() -> None:
    truth = [alert("video_loss", "alarm", 20.0), alert("video_loss", "alarm", 90.0)]
    predicted = [alert("video_loss", "alarm", 88.0), alert("video_loss", "alarm", 21.0)]
    score = score_scene("s", truth, predicted)
    assert sorted(error for _, _, error in score.matched) == [1.0, 2.0]


def test_suite_figures_add_up_over_scenes() -> None:
    scores = [
        score_scene("a", [WARN], [alert("guard_absent", "warning", 32.0)]),
        score_scene("b", [WARN, alert("guard_absent", "alarm", 60.0)],
                    [alert("guard_absent", "warning", 34.0)]),
        score_scene("c", [], [alert("video_loss", "alarm", 5.0)]),
    ]
    figures = suite_figures(scores)
    assert (figures.true_alerts, figures.predicted_alerts, figures.matched) == (3, 3, 2)
    assert figures.precision == pytest.approx(2 / 3) and figures.recall == pytest.approx(2 / 3)
    assert figures.median_onset_error_s == pytest.approx(3.0)
    text = report(figures)
    assert "missed guard_absent/alarm@60.0s" in text and "false video_loss/alarm@5.0s" in text


def test_an_empty_suite_misses_nothing_and_raises_nothing_false() -> None:
    figures = suite_figures([score_scene("quiet", [], [])])
    assert (figures.precision, figures.recall, figures.median_onset_error_s) == (1.0, 1.0, None)
