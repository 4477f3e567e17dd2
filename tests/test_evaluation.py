"""The evaluation harness: reports a quality lead can open, and comparisons that gate releases."""

from __future__ import annotations

import json
from pathlib import Path

from copilot.app import Copilot
from copilot.evaluation.compare import compare
from copilot.evaluation.dataset import load_dialogues
from copilot.evaluation.html import render
from copilot.evaluation.metrics import score
from copilot.evaluation.replay import interim_hypotheses, replay_in_process
from tests.conftest import launch_chromium, needs_chromium, run_copilot

DATASETS = Path(__file__).resolve().parent.parent / "eval" / "datasets"


async def report_for(copilot: Copilot) -> dict:
    dialogues = (
        load_dialogues(DATASETS / "calls.jsonl")[:8]
        + load_dialogues(DATASETS / "heldout.jsonl")[:10]
    )
    return score(await replay_in_process(copilot, dialogues, run_id="html")).as_dict()


@needs_chromium
async def test_html_report_opens_in_chromium_without_errors_or_network(
    copilot: Copilot, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    page_file = tmp_path / "report.html"
    page_file.write_text(render(await report_for(copilot), "测试报告 <script>"), encoding="utf-8")
    requests, errors = [], []
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        page = await browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await page.goto(page_file.as_uri())
        title = await page.title()
        charts = await page.locator("svg").count()
        tables = await page.locator("table").count()
        await page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        await browser.close()
    assert title == "测试报告 <script>"  # escaped, shown as text
    assert charts >= 2 and tables >= 3
    assert errors == []
    assert requests == [page_file.as_uri()]  # nothing but the file itself


def test_compare_flags_regressions_beyond_tolerance() -> None:
    before = {
        "answer_turns": 10,
        "hit1": 0.9,
        "hit3": 0.95,
        "mrr": 0.92,
        "quiet_turns": 5,
        "quiet_rate": 0.96,
        "latency_ms": {"final_chunk": {"p95": 20.0}},
    }
    same = compare(before, {**before, "hit1": 0.895})
    assert not any(r.regression for r in same)
    worse = compare(before, {**before, "hit1": 0.85, "latency_ms": {"final_chunk": {"p95": 40.0}}})
    assert {r.metric for r in worse if r.regression} == {"hit1", "latency.final_chunk.p95_ms"}


def test_eval_compare_command_exits_non_zero_on_regression(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"answer_turns": 1, "hit1": 0.9, "hit3": 1.0, "mrr": 0.9}))
    b.write_text(json.dumps({"answer_turns": 1, "hit1": 0.7, "hit3": 1.0, "mrr": 0.8}))

    def run(x: Path, y: Path) -> int:
        return run_copilot("eval", "compare", str(x), str(y)).returncode

    assert run(a, b) == 1
    assert run(b, a) == 0


def test_interim_hypotheses_grow_towards_the_final() -> None:
    parts = interim_hypotheses("你们是怎么知道我电话的")
    assert len(parts) == 2 and "你们是怎么知道我电话的".startswith(parts[1])
    assert len(parts[0]) < len(parts[1])


def test_replay_command_writes_json_and_html(tmp_path: Path, data_dir: Path) -> None:
    small = tmp_path / "small.jsonl"
    lines = (DATASETS / "calls.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    small.write_text("".join(lines[:3]), encoding="utf-8")
    run = run_copilot(
        "--data-dir",
        str(data_dir),
        "eval",
        "replay",
        str(small),
        "--json",
        str(tmp_path / "r.json"),
        "--html",
        str(tmp_path / "r.html"),
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["disposition_total"] == 3 and "confusion" in report
    assert "<svg" in (tmp_path / "r.html").read_text()
