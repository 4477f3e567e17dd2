"""`copilot eval compare A.json B.json`: what got better or worse between two runs.

A quality metric that drops by more than the tolerance, or a p95 latency that grows by more than
the latency tolerance, is a regression: the command then exits 1, so it can gate a release.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Row:
    metric: str
    before: float | None
    after: float | None
    regression: bool

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


def quality_metrics(report: dict[str, Any]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    if report.get("answer_turns"):
        metrics.update(hit1=report["hit1"], hit3=report["hit3"], mrr=report["mrr"])
    if report.get("quiet_turns"):
        metrics["quiet_rate"] = report["quiet_rate"]
    for code, scores in (report.get("warnings") or {}).items():
        metrics[f"warnings.{code}.f1"] = scores["f1"]
    if report.get("disposition_accuracy") is not None:
        metrics["disposition_accuracy"] = report["disposition_accuracy"]
    return metrics


def compare(
    before: dict[str, Any],
    after: dict[str, Any],
    tolerance: float = 0.01,
    latency_tolerance: float = 0.25,
) -> list[Row]:
    rows = []
    a, b = quality_metrics(before), quality_metrics(after)
    for name in sorted(a.keys() | b.keys()):
        old, new = a.get(name), b.get(name)
        worse = old is not None and (new is None or new < old - tolerance)
        rows.append(Row(name, old, new, worse))
    for kind in sorted(
        (before.get("latency_ms") or {}).keys() & (after.get("latency_ms") or {}).keys()
    ):
        old, new = before["latency_ms"][kind]["p95"], after["latency_ms"][kind]["p95"]
        rows.append(Row(f"latency.{kind}.p95_ms", old, new, new > old * (1 + latency_tolerance)))
    return rows
