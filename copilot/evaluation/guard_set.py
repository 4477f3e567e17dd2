"""Scoring the guard on labelled rephrasings (eval/datasets/rephrase_guard*.jsonl).

Each line is a candidate rephrasing of one approved answer (with its campaign's facts), labelled
pass or fail with the kind of fault. The guard is judged as it is used: the bar is that no
invented number, price, date, duration or phone number ever passes, and that good rephrasings
do (at least 90%).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from copilot.compliance.rules import ComplianceRules
from copilot.knowledge.loader import load_path
from copilot.knowledge.models import Answer, Campaign
from copilot.llm.guard import Guard, Sources

#: Faults whose leak is a hallucinated number reaching an agent.
NUMERIC = ("invented_price", "changed_number", "invented_date", "invented_duration", "phone_number")


class Candidate(BaseModel):
    id: str
    answer_id: str
    campaign: str | None = None
    customer: str
    text: str
    expect: Literal["pass", "fail"]
    category: str


@dataclass
class GuardScore:
    by_category: dict[str, Counter[str]] = field(default_factory=dict)
    wrong: list[tuple[Candidate, list[str]]] = field(default_factory=list)

    def rate(self, category: str) -> float:
        counts = self.by_category.get(category, Counter())
        total = counts["right"] + counts["wrong"]
        return counts["right"] / total if total else 1.0

    @property
    def good_pass_rate(self) -> float:
        return self.rate("good")

    @property
    def numeric_leaks(self) -> int:
        return sum(self.by_category.get(c, Counter())["wrong"] for c in NUMERIC)

    @property
    def bad_rejected(self) -> tuple[int, int]:
        bad = [c for c in self.by_category if c != "good"]
        right = sum(self.by_category[c]["right"] for c in bad)
        return right, right + sum(self.by_category[c]["wrong"] for c in bad)


def score_guard(file: Path, knowledge: Path, guard: Guard | None = None) -> GuardScore:
    docs = {d.id: d for d in load_path(knowledge).docs}
    if guard is None:
        rules = ComplianceRules.load(knowledge / "rules" / "compliance.yaml")
        guard = Guard.load(knowledge / "rules" / "llm_guard.yaml", [p for p, _ in rules.forbidden])
    result = GuardScore()
    for line in file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        candidate = Candidate.model_validate(json.loads(line))
        answer = docs[candidate.answer_id]
        campaign = docs.get(candidate.campaign or "")
        assert isinstance(answer, Answer)
        facts = campaign.fact_lines() if isinstance(campaign, Campaign) else []
        verdict = guard.check(candidate.text, Sources(answer.answer, facts), candidate.customer)
        right = verdict.ok == (candidate.expect == "pass")
        result.by_category.setdefault(candidate.category, Counter())[
            "right" if right else "wrong"
        ] += 1
        if not right:
            result.wrong.append((candidate, verdict.reasons))
    return result


def print_guard(score: GuardScore, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("category", "right", "wrong", "rate"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for category, counts in sorted(score.by_category.items()):
        rate = f"{score.rate(category):.3f}"
        table.add_row(category, str(counts["right"]), str(counts["wrong"]), rate)
    right, total = score.bad_rejected
    table.add_row("bad rejected", str(right), str(total - right), f"{right / total:.3f}")
    console = Console()
    console.print(table)
    for candidate, reasons in score.wrong:
        console.print(f"{candidate.id} [{candidate.category}] {candidate.text} -> {reasons}")
