"""The scene suite: every scene through `custodywatch analyze`, scored against its ground truth.

Each scene has its own test, so a failing rule names itself; the last test scores the whole suite
(precision, recall, median onset error) against the floors in golden.json.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from suite_runs import Analysis

from custodywatch.scenes.catalog import SCENES
from custodywatch.scenes.scoring import report, score_scene, suite_figures

GOLDEN = Path(__file__).with_name("golden.json")
# The first test to ask writes and analyses the whole catalog (about 2 minutes on two idle cores):
# more than the default per-test timeout allows on a busy machine.
SUITE_TIMEOUT_S = 900


@pytest.mark.slow
@pytest.mark.timeout(SUITE_TIMEOUT_S)
@pytest.mark.parametrize("name", list(SCENES))
def test_scene_alerts_match_its_truth(analysed: Callable[[str], Analysis], name: str) -> None:
    analysis = analysed(name)
    assert analysis.exit_code == 0, analysis.why()
    score = score_scene(name, analysis.truth, analysis.predicted)
    assert not score.missed and not score.false, (
        f"{name}: missed {score.missed}, false {score.false}\n(all predicted: {analysis.predicted})")


@pytest.mark.slow
@pytest.mark.timeout(SUITE_TIMEOUT_S)
def test_suite_figures_meet_the_golden_floors(analysed: Callable[[str], Analysis],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    golden = json.loads(GOLDEN.read_text())
    analyses = [analysed(name) for name in SCENES]
    figures = suite_figures([score_scene(a.name, a.truth, a.predicted) for a in analyses])
    text = report(figures)
    refused = [f"{a.name}: {a.why()}" for a in analyses if a.exit_code != 0]
    with capsys.disabled():
        print("\nscene suite\n" + text + "".join(f"\n  {line}" for line in refused))
    assert figures.true_alerts > 0
    assert figures.recall >= golden["recall"], text
    assert figures.precision >= golden["precision"], text
    assert figures.median_onset_error_s is not None
    assert figures.median_onset_error_s <= golden["max_median_onset_error_s"], text
