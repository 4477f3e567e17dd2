"""The terminal view of a replay report (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from copilot.evaluation.metrics import Report


def print_report(report: Report, title: str, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    if report.answer_turns:
        table.add_row("answer turns", str(report.answer_turns))
        table.add_row("hit@1", f"{report.hit1:.3f}")
        table.add_row("hit@3", f"{report.hit3:.3f}")
        table.add_row("MRR", f"{report.mrr:.3f}")
    if report.quiet_turns:
        table.add_row("quiet turns", str(report.quiet_turns))
        table.add_row("quiet rate", f"{report.quiet_rate:.3f}")
    if "micro" in report.warnings:
        micro = report.warnings["micro"]
        table.add_row("warnings P / R", f"{micro['precision']:.3f} / {micro['recall']:.3f}")
    if report.disposition_accuracy is not None:
        table.add_row("disposition accuracy", f"{report.disposition_accuracy:.3f}")
    for kind, p in report.latency_ms.items():
        table.add_row(
            f"latency {kind} p50/p95/max ms", f"{p['p50']:.1f} / {p['p95']:.1f} / {p['max']:.1f}"
        )
    llm = report.llm
    if llm:
        rate = llm["guard_pass_rate"]
        table.add_row("LLM rephrase requests", str(llm["rephrase_requests"]))
        table.add_row("LLM guard pass rate", "n/a" if rate is None else f"{rate:.3f}")
        table.add_row("LLM rephrasings shown", str(llm["rephrasings_shown"]))
        if p := llm["rephrase_latency_ms"]:
            table.add_row("LLM rephrase latency p50/p95 ms", f"{p['p50']:.0f} / {p['p95']:.0f}")
        for key in ("source_correct", "numbers_kept"):
            if llm[key] is not None:
                table.add_row(f"LLM rephrasings {key.replace('_', ' ')}", f"{llm[key]:.3f}")
    console.print(table)
    misses = report.misses[:30]
    if misses:
        detail = Table(title=f"misses (first {len(misses)} of {len(report.misses)})")
        for column in ("dialogue", "turn", "kind", "expected", "got"):
            detail.add_column(column, overflow="fold")
        for m in misses:
            detail.add_row(m.dialogue, str(m.turn), m.kind, str(m.expected), str(m.got))
        console.print(detail)
