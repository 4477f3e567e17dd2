"""End to end with an LLM: `copilot serve` configured (OPENAI_BASE_URL) for a real local
OpenAI-compatible server, real WebSocket clients, and the side panel in headless Chromium."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from copilot.evaluation.fake_llm import FakeLLM, Reply
from tests.conftest import (
    ServerProcess,
    adapted,
    launch_chromium,
    needs_chromium,
    recv,
    run_copilot,
    send,
    served_copy,
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(adapted) as server:
        yield server


@pytest.fixture(scope="module")
def served(
    fake: FakeLLM, served_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = {
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "test",
        "COPILOT_LLM_MODEL": "m",
        "COPILOT_LLM_STREAM": "1",  # the streamed wire format here; the in-process tests don't
    }
    data = served_copy(served_template, tmp_path_factory.mktemp("llm-served"))
    proc = ServerProcess(data, env=env).start()
    yield proc
    proc.stop()


async def ask(ws: Any, call_id: str, seq: int, text: str) -> dict[str, Any]:
    await send(
        ws,
        {"type": "transcript", "call_id": call_id, "seq": seq, "speaker": "customer", "text": text},
    )
    return await recv(ws)


async def test_phase_two_follows_over_the_websocket(served: ServerProcess, fake: FakeLLM) -> None:
    fake.script = adapted
    async with websockets.connect(served.url) as ws:
        await send(ws, {"type": "call.start", "call_id": "e2e-llm"})
        assert (await recv(ws))["type"] == "call.started"
        first = await ask(ws, "e2e-llm", 1, "你们怎么知道我电话的")
        assert first["kind"] == "answer" and not first["items"][0].get("rephrased")
        second = await recv(ws)
        assert second["in_reply_to"] == 1 and second["items"][0]["rephrased"] is True
        assert second["items"][0]["approved"] == first["items"][0]["text"]
        assert fake.requests[-1]["model"] == "m" and fake.requests[-1]["stream"] is True

        fake.script = lambda request: Reply("您放心，本次优惠每月只要9元，号码是随机抽取的。")
        third = await ask(ws, "e2e-llm", 2, "你们到底是怎么拿到我号码的")
        assert third["kind"] == "answer"
        with pytest.raises(TimeoutError):
            await recv(ws, timeout=1.0)  # the invented price never reaches the agent
        await send(ws, {"type": "call.end", "call_id": "e2e-llm"})
        while (await recv(ws))["type"] != "disposition":
            pass
    health = httpx.get(f"{served.http}/healthz").json()["llm"]
    assert health["rephrase"]["passed"] >= 1 and health["rephrase"]["rejected"] >= 1
    assert health["guard_rejections"]["number not in sources"] >= 1


@needs_chromium
async def test_the_panel_shows_the_checked_rephrasing_above_the_approved_answer(
    served: ServerProcess, fake: FakeLLM
) -> None:
    from playwright.async_api import async_playwright, expect

    fake.script = lambda request: Reply(adapted(request).text, delay=0.3)
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{served.http}/?call=panel-llm")
        await expect(page.locator("#status")).to_contain_text("已连接")
        async with websockets.connect(served.url) as ws:
            await send(ws, {"type": "call.start", "call_id": "panel-llm"})
            await recv(ws)
            await ask(ws, "panel-llm", 1, "你们怎么知道我电话的")
            await expect(page.locator("#suggestion .rephrased")).to_contain_text("您别担心")
            await expect(page.locator("#suggestion .rephrased .badge")).to_contain_text("已核对")
            await expect(page.locator("#suggestion > .answer-text")).to_contain_text("随机抽取")
        await browser.close()
    assert errors == []


def test_eval_replay_with_the_llm_scores_its_rephrasings(
    fake: FakeLLM, tmp_path: Path, data_dir: Path
) -> None:
    """`copilot eval replay --llm`: guard pass rate, rephrase latency, answers kept."""
    fake.script = adapted
    turns = [
        {"speaker": "customer", "text": "你们怎么知道我电话的", "expect_answer": ["随机抽取"]},
        {"speaker": "customer", "text": "你们是哪里打来的"},
    ]
    dialogues = tmp_path / "d.jsonl"
    dialogues.write_text(json.dumps({"id": "q1", "turns": turns}, ensure_ascii=False) + "\n")
    report = tmp_path / "r.json"
    env = {**os.environ, "OPENAI_BASE_URL": fake.base_url}
    done = run_copilot(
        "--data-dir",
        str(data_dir),
        "eval",
        "replay",
        str(dialogues),
        "--llm",
        "--json",
        str(report),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    llm = json.loads(report.read_text())["llm"]
    assert llm["guard_pass_rate"] == 1.0 and llm["rephrasings_shown"] == 2
    assert llm["source_correct"] == 1.0 and llm["rephrase_latency_ms"]["n"] == 2
    assert "LLM guard pass rate" in done.stdout


def test_eval_replay_with_llm_but_none_configured_is_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    done = run_copilot(
        "--data-dir", str(tmp_path), "eval", "replay", "eval/datasets/calls.jsonl", "--llm", env=env
    )
    assert done.returncode == 2 and "OPENAI_BASE_URL" in done.stderr
