"""What compliance checking adds to each chunk: the check node's work, timed per turn over the
recorded calls (eval/datasets/calls.jsonl), p50/p95/max in microseconds.

    uv run python bench/compliance_overhead.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from copilot.compliance.checker import Checker
from copilot.compliance.rules import ComplianceRules
from copilot.cues import CueBook
from copilot.evaluation.dataset import load_dialogues
from copilot.knowledge.loader import load_path
from copilot.settings import BUNDLED_KNOWLEDGE


def main() -> None:
    rules = BUNDLED_KNOWLEDGE / "rules"
    checker = Checker(ComplianceRules.load(rules / "compliance.yaml"))
    cues = CueBook.load(rules / "turn_cues.yaml")
    campaigns = {d.id: d for d in load_path(BUNDLED_KNOWLEDGE / "campaigns").docs}
    timings = []
    for _ in range(5):
        for dialogue in load_dialogues(BUNDLED_KNOWLEDGE.parent / "eval/datasets/calls.jsonl"):
            campaign = campaigns.get(dialogue.campaign or "")
            facts: dict[str, int] = {}
            raised: set[str] = set()
            for seq, turn in enumerate(dialogue.turns, start=1):
                names = cues.facts(turn.speaker, turn.text)
                facts = {**{n: seq for n in names}, **facts}
                started = time.perf_counter()
                finding = checker.on_turn(
                    speaker=turn.speaker,
                    seq=seq,
                    text=turn.text,
                    facts=facts,
                    turn_facts=set(names),
                    campaign=campaign,
                    direction=dialogue.direction,
                    raised=raised,
                )
                facts = {**finding.facts, **facts}
                raised |= {w["code"] for w in finding.warnings}
                checker.checklist(facts, campaign)
                timings.append((time.perf_counter() - started) * 1e6)
    timings.sort()
    report = {
        "turns_timed": len(timings),
        "check_us": {
            "p50": round(statistics.median(timings), 1),
            "p95": round(timings[int(0.95 * (len(timings) - 1))], 1),
            "max": round(timings[-1], 1),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
