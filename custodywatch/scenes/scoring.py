"""How well an analysis found a suite's true alerts: precision, recall and onset error.

A predicted alert matches a true one with the same rule, severity and camera whose `start_s` is
within the tolerance (10 s); each alert matches at most once, closest first. Alerts are the
`analyze` output objects (dicts), truth lines the same without `id`.
"""
from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ONSET_TOLERANCE_S = 10.0

Alert = Mapping[str, Any]


def _key(alert: Alert) -> tuple[str, str, str]:
    return str(alert["rule"]), str(alert["severity"]), str(alert["camera"])


@dataclass(frozen=True)
class SceneScore:
    """One scene's matches: (truth, prediction, |onset error|) triples, and what went unmatched."""

    name: str
    matched: tuple[tuple[Alert, Alert, float], ...]
    missed: tuple[Alert, ...]  # true alerts nothing matched
    false: tuple[Alert, ...]  # predictions that match no true alert


def score_scene(name: str, truth: Sequence[Alert], predicted: Sequence[Alert],
                tolerance_s: float = ONSET_TOLERANCE_S) -> SceneScore:
    pairs = sorted(
        ((abs(float(p["start_s"]) - float(t["start_s"])), ti, pi)
         for ti, t in enumerate(truth) for pi, p in enumerate(predicted)
         if _key(t) == _key(p) and abs(float(p["start_s"]) - float(t["start_s"])) <= tolerance_s),
        key=lambda pair: pair[0])
    used_truth: set[int] = set()
    used_predicted: set[int] = set()
    matched: list[tuple[Alert, Alert, float]] = []
    for error, ti, pi in pairs:
        if ti in used_truth or pi in used_predicted:
            continue
        used_truth.add(ti)
        used_predicted.add(pi)
        matched.append((truth[ti], predicted[pi], error))
    return SceneScore(
        name,
        tuple(matched),
        tuple(t for i, t in enumerate(truth) if i not in used_truth),
        tuple(p for i, p in enumerate(predicted) if i not in used_predicted),
    )


@dataclass(frozen=True)
class SuiteFigures:
    scenes: tuple[SceneScore, ...] = field(repr=False)
    true_alerts: int
    predicted_alerts: int
    matched: int
    precision: float
    recall: float
    median_onset_error_s: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {"true_alerts": self.true_alerts, "predicted_alerts": self.predicted_alerts,
                "matched": self.matched, "precision": self.precision, "recall": self.recall,
                "median_onset_error_s": self.median_onset_error_s}


def suite_figures(scores: Sequence[SceneScore]) -> SuiteFigures:
    """Figures over every scene. With nothing predicted precision is 1 (no false alert), with
    nothing true recall is 1 (nothing missed)."""
    matched = sum(len(s.matched) for s in scores)
    true_alerts = matched + sum(len(s.missed) for s in scores)
    predicted = matched + sum(len(s.false) for s in scores)
    errors = [error for s in scores for _, _, error in s.matched]
    return SuiteFigures(
        tuple(scores), true_alerts, predicted, matched,
        precision=matched / predicted if predicted else 1.0,
        recall=matched / true_alerts if true_alerts else 1.0,
        median_onset_error_s=statistics.median(errors) if errors else None,
    )


def report(figures: SuiteFigures) -> str:
    """A plain-text table: one line per scene with its misses and false alerts, then the figures."""

    def brief(alert: Alert) -> str:
        return f"{alert['rule']}/{alert['severity']}@{float(alert['start_s']):.1f}s"

    lines = []
    for s in figures.scenes:
        status = "ok" if not s.missed and not s.false else "MISS"
        detail = "".join([f" missed {', '.join(brief(a) for a in s.missed)};" if s.missed else "",
                          f" false {', '.join(brief(a) for a in s.false)};" if s.false else ""])
        onsets = ", ".join(f"{e:.1f}" for _, _, e in s.matched)
        lines.append(f"{s.name:<34} {status:<4} matched {len(s.matched)}"
                     + (f" (onset error {onsets} s)" if onsets else "") + detail)
    onset = "n/a" if figures.median_onset_error_s is None else f"{figures.median_onset_error_s:.2f} s"
    lines.append(f"precision {figures.precision:.3f}  recall {figures.recall:.3f}  "
                 f"median onset error {onset}  ({figures.matched} matched of {figures.true_alerts} true, "
                 f"{figures.predicted_alerts} predicted)")
    return "\n".join(lines)
