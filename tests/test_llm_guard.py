"""The guard's bars on labelled rephrasings written without seeing the guard: no invented number,
price, date, duration or phone number passes; good rephrasings pass at least 90% of the time."""

from __future__ import annotations

from copilot.evaluation.guard_set import NUMERIC, score_guard
from tests.conftest import ROOT

DATASETS = ROOT / "eval" / "datasets"
KNOWLEDGE = ROOT / "knowledge"


def test_the_held_out_rephrasings_meet_the_bars() -> None:
    score = score_guard(DATASETS / "rephrase_guard.jsonl", KNOWLEDGE)
    right, bad = score.bad_rejected
    assert bad >= 50 and sum(score.by_category[c]["right"] for c in NUMERIC) >= 40
    assert score.numeric_leaks == 0, [c.text for c, _ in score.wrong if c.category in NUMERIC]
    assert score.good_pass_rate >= 0.9
    assert right / bad >= 0.9


def test_the_development_rephrasings_are_all_judged_right() -> None:
    score = score_guard(DATASETS / "rephrase_guard_dev.jsonl", KNOWLEDGE)
    assert score.wrong == []
