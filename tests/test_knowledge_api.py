"""The knowledge API end to end: a real server, real HTTP and WebSocket clients (contract §3)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.conftest import ServerProcess, launch_chromium, needs_chromium, served_copy

TOKENS = {"agent": "t-agent", "editor": "t-ed", "editor2": "t-ed2", "approver": "t-ap"}
ENV = {"COPILOT_TOKENS": "agent:t-agent,editor:t-ed,editor:t-ed2,approver:t-ap"}
NEW = {
    "id": "kb-test-wifi",
    "title": "客户问家里宽带坏了怎么办",
    "questions": ["我家宽带断网了怎么办", "家里网络连不上了找谁修", "宽带一直掉线你们管不管"],
    "answer": "很抱歉给您带来不便，宽带故障请拨打10086报修，我们会尽快安排师傅上门。",
    "tags": ["business"],
    "direction": "both",
    "source": "test",
}


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


@pytest.fixture(scope="module")
def kb_server(
    served_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data = served_copy(served_template, tmp_path_factory.mktemp("kb"))
    proc = ServerProcess(data, env=ENV).start()
    yield proc
    proc.stop()


async def ask(server: ServerProcess, ws, call_id: str, seq: int, text: str) -> dict | None:
    await ws.send(
        json.dumps(
            {
                "type": "transcript",
                "call_id": call_id,
                "seq": seq,
                "speaker": "customer",
                "text": text,
            },
            ensure_ascii=False,
        )
    )
    try:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
            if message["type"] == "suggestion":
                return message
    except TimeoutError:
        return None


async def test_draft_approve_live_retire(kb_server: ServerProcess) -> None:
    base = f"{kb_server.http}/v1/knowledge/answers"
    async with (
        httpx.AsyncClient() as http,
        websockets.connect(f"{kb_server.url}?token=t-agent") as ws,
    ):
        await ws.send(json.dumps({"type": "call.start", "call_id": "kb-1"}))
        await ws.recv()
        created = await http.post(base, json=NEW, headers=auth("editor"))
        assert created.status_code == 201 and created.json()["status"] == "draft"
        suggestion = await ask(kb_server, ws, "kb-1", 1, "宽带老是断网，咋整啊")
        assert suggestion is None or suggestion["items"][0]["source"]["id"] != "kb-test-wifi"

        own = await http.post(f"{base}/kb-test-wifi/approve", headers=auth("editor"))
        assert own.status_code == 403  # an editor cannot approve at all
        approved = await http.post(f"{base}/kb-test-wifi/approve", headers=auth("approver"))
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        suggestion = await ask(kb_server, ws, "kb-1", 2, "宽带老是断网，咋整啊")
        assert suggestion["items"][0]["source"] == {"id": "kb-test-wifi", "version": 1}

        stale = await http.put(
            f"{base}/kb-test-wifi", json={**NEW, "base_version": 0}, headers=auth("editor")
        )
        assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_edit"
        edited = {
            **NEW,
            "answer": "很抱歉给您带来不便，宽带故障请拨打10086报修。",
            "base_version": 1,
        }
        assert (
            await http.put(f"{base}/kb-test-wifi", json=edited, headers=auth("editor"))
        ).status_code == 200
        entry = (await http.get(f"{base}/kb-test-wifi", headers=auth("agent"))).json()
        assert entry["approved"]["version"] == 1 and entry["drafts"][0]["version"] == 2
        assert (
            await http.post(f"{base}/kb-test-wifi/approve", headers=auth("approver"))
        ).status_code == 200
        history = (await http.get(f"{base}/kb-test-wifi/history", headers=auth("agent"))).json()
        assert [v["version"] for v in history["versions"]] == [1, 2]
        assert history["versions"][1]["changes"]["answer"]["to"].endswith("报修。")
        assert history["versions"][1]["author"].startswith("editor-")
        assert "t-ed" not in json.dumps(history)  # tokens never appear

        assert (
            await http.post(f"{base}/kb-test-wifi/retire", headers=auth("approver"))
        ).status_code == 200
        suggestion = await ask(kb_server, ws, "kb-1", 3, "宽带老是断网，咋整啊")
        assert suggestion is None or suggestion["items"][0]["source"]["id"] != "kb-test-wifi"


async def test_an_author_cannot_approve_their_own_version(data_dir: Path) -> None:
    server = ServerProcess(data_dir, env={"COPILOT_TOKENS": "editor:e1,approver:a1,admin:boss"})
    server.start()
    try:
        base = f"{server.http}/v1/knowledge/answers"
        async with httpx.AsyncClient() as http:
            boss = {"Authorization": "Bearer boss"}
            assert (await http.post(base, json=NEW, headers=boss)).status_code == 201
            own = await http.post(f"{base}/{NEW['id']}/approve", headers=boss)
            assert own.status_code == 403 and own.json()["error"]["code"] == "own_version"
            ok = await http.post(
                f"{base}/{NEW['id']}/approve", headers={"Authorization": "Bearer a1"}
            )
            assert ok.status_code == 200
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "", NEW),
        ("PUT", "/kb-how-got-my-number", {**NEW, "base_version": 1}),
        ("POST", "/kb-how-got-my-number/approve", None),
        ("POST", "/kb-how-got-my-number/retire", None),
        ("POST", "/kb-how-got-my-number/rollback", {"version": 1}),
    ],
)
async def test_agents_cannot_write(kb_server: ServerProcess, method: str, path: str, body) -> None:
    async with httpx.AsyncClient() as http:
        for who, status in (("agent", 403), (None, 401)):
            reply = await http.request(
                method,
                f"{kb_server.http}/v1/knowledge/answers{path}",
                json=body,
                headers=auth(who) if who else {},
            )
            assert reply.status_code == status
            assert reply.json()["error"]["code"] in ("forbidden", "unauthorized")


async def test_validation_and_quality_gates(kb_server: ServerProcess) -> None:
    base = f"{kb_server.http}/v1/knowledge/answers"
    async with httpx.AsyncClient() as http:
        bad = await http.post(
            base, json={**NEW, "id": "Bad Id", "questions": []}, headers=auth("editor")
        )
        assert bad.status_code == 422
        assert (
            "id" in bad.json()["error"]["message"] and "questions" in bad.json()["error"]["message"]
        )
        rude = await http.post(
            base,
            json={**NEW, "id": "kb-rude", "answer": "我不是跟您说得很清楚了吗？"},
            headers=auth("editor"),
        )
        assert rude.status_code == 422 and rude.json()["error"]["code"] == "forbidden_phrase"
        clash = await http.post(
            base,
            json={**NEW, "id": "kb-clash", "questions": ["你们是怎么知道我手机号的"]},
            headers=auth("editor"),
        )
        assert clash.status_code == 201
        assert clash.json()["conflicts"][0]["entry"] == "kb-how-got-my-number"


async def test_concurrent_editors_lose_no_version(kb_server: ServerProcess) -> None:
    base = f"{kb_server.http}/v1/knowledge/answers"
    entry = {**NEW, "id": "kb-busy-entry"}
    async with httpx.AsyncClient() as http:
        assert (await http.post(base, json=entry, headers=auth("editor"))).status_code == 201

        async def edit(i: int) -> int:
            for _ in range(20):
                current = (await http.get(f"{base}/kb-busy-entry", headers=auth("editor"))).json()
                reply = await http.put(
                    f"{base}/kb-busy-entry",
                    json={
                        **entry,
                        "title": f"第{i}位编辑的标题",
                        "base_version": current["latest_version"],
                    },
                    headers=auth("editor" if i % 2 else "editor2"),
                )
                if reply.status_code == 200:
                    return reply.json()["version"]
                assert reply.status_code == 409
            raise AssertionError("an editor never got through")

        versions = await asyncio.gather(*(edit(i) for i in range(20)))
        history = (await http.get(f"{base}/kb-busy-entry/history", headers=auth("agent"))).json()
    assert sorted(versions) == list(range(2, 22))
    assert [v["version"] for v in history["versions"]] == list(range(1, 22))


async def test_a_fee_that_contradicts_the_tiers_is_refused(kb_server: ServerProcess) -> None:
    campaign = {
        "id": "test-pack",
        "name": "测试包",
        "type": "marketing",
        "product": {
            "name": "测试包",
            "tiers": ["5元/月（30M）", "10元/月（70M）"],
            "fee": "8元/月，按月收取",
        },
        "required_disclosures": ["fee_disclosure"],
    }
    async with httpx.AsyncClient() as http:
        bad = await http.post(
            f"{kb_server.http}/v1/knowledge/campaigns", json=campaign, headers=auth("editor")
        )
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "fee_mismatch"
        good = {**campaign, "product": {**campaign["product"], "fee": "5元/月或10元/月"}}
        assert (
            await http.post(
                f"{kb_server.http}/v1/knowledge/campaigns", json=good, headers=auth("editor")
            )
        ).status_code == 201


@needs_chromium
async def test_the_editor_page_in_chromium(kb_server: ServerProcess) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as p:
        browser = await launch_chromium(p)
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{kb_server.http}/editor?token=t-ed")
        await page.click("#new")
        await page.fill("#f-id", "kb-test-roaming-data")
        await page.fill("#f-title", "客户问出国流量怎么收费")
        await page.fill(
            "#f-questions", "出国了流量怎么算钱\n国外上网贵不贵\n我去日本用流量要多少钱"
        )
        await page.fill(
            "#f-answer", "您好，国际及港澳台漫游流量按当地资费标准收取，具体可拨打10086咨询。"
        )
        await page.fill("#f-source", "test")
        await page.click("#preview")
        await expect(page.locator("#preview-table tr")).to_have_count(3)
        await page.click("#entry button[type=submit]")
        await expect(page.locator("#message")).to_contain_text("已保存草稿 v1")
        await expect(page.locator("#drafts")).to_contain_text("kb-test-roaming-data")
        await page.click("#approve")  # an editor may not approve
        await expect(page.locator("#message")).to_contain_text("forbidden")
        await page.fill("#token", "t-ap")
        await page.click("#approve")
        await expect(page.locator("#message")).to_contain_text("已审批")
        await page.click("#history")
        await expect(page.locator("#history-list li")).to_have_count(1)
        await expect(page.locator("#history-list")).to_contain_text("approved")
        await browser.close()
    assert errors == []
    async with httpx.AsyncClient() as http:
        entry = (
            await http.get(
                f"{kb_server.http}/v1/knowledge/answers/kb-test-roaming-data", headers=auth("agent")
            )
        ).json()
    assert entry["approved"]["version"] == 1
