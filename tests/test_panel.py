"""The side panel in headless Chromium (Debian's, driven by Playwright) against a real server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import websockets

from tests.conftest import ServerProcess, launch_chromium, needs_chromium

pytestmark = needs_chromium
XSS = '<img src=x onerror="window.__xss=1">你好'


async def stream(url: str, call_id: str, turns: list[tuple[str, str]]) -> None:
    async with websockets.connect(url) as ws:
        await ws.send(
            json.dumps({"type": "call.start", "call_id": call_id, "campaign": "ringback-box"})
        )
        for seq, (speaker, text) in enumerate(turns, start=1):
            await ws.send(
                json.dumps(
                    {
                        "type": "transcript",
                        "call_id": call_id,
                        "seq": seq,
                        "speaker": speaker,
                        "text": text[:4],
                        "final": False,
                    },
                    ensure_ascii=False,
                )
            )
            await ws.send(
                json.dumps(
                    {
                        "type": "transcript",
                        "call_id": call_id,
                        "seq": seq,
                        "speaker": speaker,
                        "text": text,
                    },
                    ensure_ascii=False,
                )
            )
            await asyncio.sleep(0.2)
        await ws.send(json.dumps({"type": "call.end", "call_id": call_id}))
        while json.loads(await ws.recv())["type"] != "disposition":
            pass


async def test_the_panel_follows_a_call(data_dir: Path) -> None:
    from playwright.async_api import async_playwright, expect

    server = ServerProcess(data_dir).start()
    try:
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            page = await browser.new_page()
            errors: list[str] = []
            outside: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "request",
                lambda r: outside.append(r.url) if not r.url.startswith(server.http) else None,
            )
            await page.goto(f"{server.http}/?call=panel-1")
            await expect(page.locator("#status")).to_contain_text("已连接")
            await stream(
                server.url,
                "panel-1",
                [
                    ("agent", "您好，我是移动公司客户经理，请问您是机主吗？"),
                    ("customer", XSS),
                    ("customer", "你们怎么知道我电话的"),
                    ("agent", "我们推出了主叫铃音盒，1元/月包月，给您介绍一下"),
                ],
            )
            await expect(page.locator("#next-step")).to_contain_text("身份证")  # confirm the holder
            await expect(page.locator("#suggestion")).to_contain_text("随机抽取")
            await expect(page.locator("#suggestion .source")).to_contain_text(
                "kb-how-got-my-number"
            )
            await expect(page.locator("#checklist li")).to_have_count(6)
            await expect(page.locator("#checklist li.done")).to_have_count(1)  # the fee
            await expect(page.locator("#warnings li.high").first).to_contain_text("机主")
            await expect(page.locator("#transcript")).to_contain_text(XSS)  # shown, not run
            assert await page.evaluate("window.__xss") is None
            await expect(page.locator("#disposition .code")).to_have_text("拒绝办理")
            await page.locator("#disposition select").select_option("intent_declined")
            await page.locator("#disposition button").click()
            await expect(page.locator("#disposition")).to_contain_text("已确认：意向拒绝")
            record = httpx.get(f"{server.http}/v1/calls/panel-1").json()
            assert record["result"]["final"] == "intent_declined" and record["result"]["overridden"]

            # A burst of 100 messages, then a server restart: the panel keeps up and resumes.
            async with websockets.connect(server.url) as ws:
                await ws.send(json.dumps({"type": "call.start", "call_id": "panel-2"}))
                await page.goto(f"{server.http}/?call=panel-2")
                await expect(page.locator("#status")).to_contain_text("已连接")
                for i in range(100):
                    await ws.send(
                        json.dumps(
                            {
                                "type": "transcript",
                                "call_id": "panel-2",
                                "seq": 1,
                                "speaker": "customer",
                                "text": "第" + str(i) + "个字",
                                "final": False,
                            },
                            ensure_ascii=False,
                        )
                    )
                await ws.send(
                    json.dumps(
                        {
                            "type": "transcript",
                            "call_id": "panel-2",
                            "seq": 1,
                            "speaker": "customer",
                            "text": "最后一句话",
                        },
                        ensure_ascii=False,
                    )
                )
                await expect(page.locator("#transcript li")).to_have_text(["客户：最后一句话"])
            server.stop()
            await expect(page.locator("#status")).to_contain_text("重连")
            server.start()
            await expect(page.locator("#status")).to_contain_text("已连接", timeout=30000)
            await expect(page.locator("#transcript li")).to_have_text(["客户：最后一句话"])
            await browser.close()
        assert errors == []
        assert outside == []  # no CDN, nothing from outside the server
    finally:
        if server.proc and server.proc.poll() is None:
            server.stop()


async def test_final_chunk_to_visible_suggestion_latency(data_dir: Path) -> None:
    """Measured in the browser: from sending a customer's final chunk to the suggestion painted."""
    import statistics
    import time

    from playwright.async_api import async_playwright

    questions = [
        "你们怎么知道我电话的",
        "我在国外接你们电话收费吗",
        "你工号多少",
        "你们办公地点在哪",
        "以后别给我打电话了",
        "通话有录音吗",
        "你们是不是10086啊",
    ] * 3
    server = ServerProcess(data_dir).start()
    try:
        async with async_playwright() as p, websockets.connect(server.url) as ws:
            browser = await launch_chromium(p)
            page = await browser.new_page()
            await page.goto(f"{server.http}/?call=lat-1")
            await page.wait_for_function(
                "document.querySelector('#status').textContent.includes('已连接')"
            )
            await ws.send(json.dumps({"type": "call.start", "call_id": "lat-1"}))
            await ws.recv()
            timings = []
            for seq, text in enumerate(questions, start=1):
                started = time.perf_counter()
                await ws.send(
                    json.dumps(
                        {
                            "type": "transcript",
                            "call_id": "lat-1",
                            "seq": seq,
                            "speaker": "customer",
                            "text": text,
                        },
                        ensure_ascii=False,
                    )
                )
                answered = False
                while True:  # the streaming client gets the same replies the panel does
                    try:
                        reply = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
                    except TimeoutError:
                        break
                    answered = reply["type"] == "suggestion" and reply["in_reply_to"] == seq
                    if answered:
                        break
                if not answered:
                    continue  # this question stayed quiet: nothing to paint
                await page.wait_for_function(
                    f"document.querySelector('#suggestion').dataset.inReplyTo === '{seq}'",
                    polling="raf",
                )
                timings.append((time.perf_counter() - started) * 1e3)
            await browser.close()
    finally:
        server.stop()
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(
        f"final chunk -> suggestion visible: p50 {statistics.median(timings):.1f} ms, "
        f"p95 {p95:.1f} ms over {len(timings)}"
    )
    assert len(timings) >= len(questions) - 3  # the answers reached the page


async def test_an_edit_in_the_editor_keeps_the_fields_its_form_does_not_show(
    data_dir: Path,
) -> None:
    """The form shows title, phrasings, wording, direction and source; an entry's note, tags
    and related links must survive an editor's save, or approving the edit would drop them."""
    from playwright.async_api import async_playwright, expect

    server = ServerProcess(data_dir).start()
    entry = f"{server.http}/v1/knowledge/answers/kb-store-complaint-redirect"
    try:
        before = httpx.get(entry).json()["approved"]
        assert before["related"] and before["note"] and before["tags"]
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            page = await browser.new_page()
            await page.goto(f"{server.http}/editor")
            await page.locator("#q").fill("营业厅")
            await page.locator("#search button").first.click()
            await page.locator("#entries li", has_text="kb-store-complaint-redirect").click()
            await expect(page.locator("#f-title")).to_have_value(before["title"])
            await page.locator("#f-title").fill(before["title"] + "（修订）")
            await page.locator(
                "#entry button[type=submit], #entry button:not([type])"
            ).first.click()
            await expect(page.locator("#message")).to_contain_text("已保存草稿")
            await browser.close()
        draft = httpx.get(entry).json()["drafts"][-1]
        assert draft["title"] == before["title"] + "（修订）"
        for kept in ("related", "note", "tags", "questions", "answer", "source"):
            assert draft[kept] == before[kept], kept
    finally:
        server.stop()
