"""Scores of a replay: answers (hit@1, hit@3, MRR), quiet turns, warnings, dispositions, latency."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from copilot.evaluation.replay import DialogueResult


@dataclass
class Miss:
    dialogue: str
    turn: int
    kind: str
    expected: Any
    got: Any


@dataclass
class Report:
    answer_turns: int = 0
    hit1: float = 0.0
    hit3: float = 0.0
    mrr: float = 0.0
    quiet_turns: int = 0
    quiet_rate: float = 0.0
    #: customer turns with no expectation (real transcripts): how often an answer was offered
    unlabeled_turns: int = 0
    unlabeled_answered: int = 0
    unlabeled_examples: list[dict[str, Any]] = field(default_factory=list)
    warnings: dict[str, dict[str, float]] = field(default_factory=dict)
    disposition_total: int = 0
    disposition_accuracy: float | None = None
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    latency_samples: dict[str, list[float]] = field(default_factory=dict)
    #: with --compare-retrievers: the same replay's answer metrics per retriever
    retrievers: dict[str, dict[str, float]] = field(default_factory=dict)
    #: with --llm: guard pass rate, rephrase latency, whether rephrasings keep the answer
    llm: dict[str, Any] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score(results: list[DialogueResult]) -> Report:
    report = Report()
    hits1 = hits3 = 0
    reciprocal = 0.0
    quiet_ok = 0
    latencies: dict[str, list[float]] = {"final_chunk": [], "suggestion": [], "call_end": []}
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    disposition_ok = 0
    for result in results:
        d = result.dialogue
        for turn, got in zip(d.turns, result.turns, strict=True):
            latencies["final_chunk"].append(got.latency_ms)
            answer = next((m for m in got.messages if m.get("kind") == "answer"), None)
            if answer:
                latencies["suggestion"].append(got.latency_ms)
            texts = [item["text"] for item in answer["items"]] if answer else []
            if turn.expect_answer:
                report.answer_turns += 1
                rank = next(
                    (i for i, t in enumerate(texts, 1) if any(p in t for p in turn.expect_answer)),
                    None,
                )
                hits1 += rank == 1
                hits3 += rank is not None and rank <= 3
                reciprocal += 1.0 / rank if rank else 0.0
                if rank != 1:
                    report.misses.append(
                        Miss(
                            d.id,
                            got.seq,
                            "answer",
                            turn.expect_answer,
                            [_short(t) for t in texts] or None,
                        )
                    )
            if turn.speaker == "customer" and not turn.expect_answer and not turn.expect_no_answer:
                report.unlabeled_turns += 1
                if answer is not None:
                    report.unlabeled_answered += 1
                    report.unlabeled_examples.append(
                        {
                            "dialogue": d.id,
                            "turn": got.seq,
                            "text": _short(turn.text, 80),
                            "answer": answer["items"][0]["source"]["id"],
                            "score": answer["items"][0]["score"],
                        }
                    )
            if turn.expect_no_answer:
                report.quiet_turns += 1
                quiet_ok += answer is None
                if answer is not None:
                    report.misses.append(Miss(d.id, got.seq, "quiet", None, _short(texts[0])))
        latencies["call_end"].append(result.end_latency_ms)
        raised = {
            m["code"]
            for m in result.end_messages + [x for t in result.turns for x in t.messages]
            if m["type"] == "warning"
        }
        if d.expect.warnings is not None:
            expected = set(d.expect.warnings)
            for code in raised & expected:
                tp[code] += 1
            for code in raised - expected:
                fp[code] += 1
                report.misses.append(Miss(d.id, 0, "false_warning", None, code))
            for code in expected - raised:
                fn[code] += 1
                report.misses.append(Miss(d.id, 0, "missed_warning", code, None))
        if d.expect.disposition is not None:
            proposed = next(
                (m["code"] for m in result.end_messages if m["type"] == "disposition"), None
            )
            report.disposition_total += 1
            row = report.confusion.setdefault(d.expect.disposition, {})
            row[str(proposed)] = row.get(str(proposed), 0) + 1
            if proposed == d.expect.disposition:
                disposition_ok += 1
            else:
                report.misses.append(Miss(d.id, 0, "disposition", d.expect.disposition, proposed))
    if report.answer_turns:
        report.hit1 = hits1 / report.answer_turns
        report.hit3 = hits3 / report.answer_turns
        report.mrr = reciprocal / report.answer_turns
    if report.quiet_turns:
        report.quiet_rate = quiet_ok / report.quiet_turns
    if report.disposition_total:
        report.disposition_accuracy = disposition_ok / report.disposition_total
    report.warnings = _warning_scores(tp, fp, fn)
    report.latency_ms = {k: _percentiles(v) for k, v in latencies.items() if v}
    report.latency_samples = {k: [round(x, 2) for x in v] for k, v in latencies.items() if v}
    return report


def score_llm(results: list[DialogueResult], stats: dict[str, Any]) -> dict[str, Any]:
    """What the LLM added to a replay. A rephrasing keeps the answer when its approved source
    is the expected one (labelled turns) and it keeps every number of that source."""
    rephrase = stats.get("rephrase", {})
    judged = passed = sourced_right = labelled = 0
    kept: list[float] = []
    latency: list[float] = []
    opinions = {"asked": 0, "agrees_with_rules": 0, "correct": 0, "rules_correct": 0}
    for result in results:
        for turn, got in zip(result.dialogue.turns, result.turns, strict=True):
            for message, ms in zip(got.later, got.later_ms, strict=True):
                item = message["items"][0] if message["type"] == "suggestion" else {}
                if not item.get("rephrased"):
                    judged += message["type"] == "checklist"
                    continue
                passed += 1
                latency.append(ms)
                kept.append(_numbers_kept(item["approved"], item["text"]))
                if turn.expect_answer:
                    labelled += 1
                    sourced_right += any(p in item["approved"] for p in turn.expect_answer)
        disposition = next((m for m in result.end_messages if m["type"] == "disposition"), None)
        if disposition and "second_opinion" in disposition:
            opinion, gold = disposition["second_opinion"], result.dialogue.expect.disposition
            opinions["asked"] += 1
            opinions["agrees_with_rules"] += opinion["agrees"]
            opinions["correct"] += opinion["code"] == gold
            opinions["rules_correct"] += disposition["code"] == gold
    asked = rephrase.get("passed", 0) + rephrase.get("rejected", 0)
    return {
        "rephrase_requests": rephrase.get("asked", 0),
        "rephrase_unavailable": rephrase.get("unavailable", 0),
        "guard_pass_rate": rephrase.get("passed", 0) / asked if asked else None,
        "guard_rejections": stats.get("guard_rejections", {}),
        "rephrasings_shown": passed,
        "rephrase_latency_ms": _percentiles(latency) if latency else {},
        "source_correct": sourced_right / labelled if labelled else None,
        "numbers_kept": sum(kept) / len(kept) if kept else None,
        "disclosures_judged_said": judged,
        "second_opinions": opinions,
        "requests": stats.get("requests", {}),
    }


def _numbers_kept(approved: str, text: str) -> float:
    from copilot.llm.claims import claims

    wanted = {c.value for c in claims(approved)}
    return len(wanted & {c.value for c in claims(text)}) / len(wanted) if wanted else 1.0


def _warning_scores(tp: Counter, fp: Counter, fn: Counter) -> dict[str, dict[str, float]]:
    scores = {}
    for code in sorted(set(tp) | set(fp) | set(fn)):
        scores[code] = _prf(tp[code], fp[code], fn[code])
    if scores:
        scores["micro"] = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return scores


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
        "n": len(ordered),
    }


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
