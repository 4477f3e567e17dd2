"""End to end: a real `copilot serve` process and real WebSocket clients (contract §1, §2)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import ServerProcess, recv, run_copilot, send


async def nothing_within(ws: Any, seconds: float = 0.3) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except TimeoutError:
        return True
    return False


async def test_healthz(server: ServerProcess) -> None:
    async with httpx.AsyncClient() as client:
        reply = await client.get(f"{server.http}/healthz")
    assert reply.status_code == 200 and reply.json()["answers"] >= 80


async def test_healthz_reports_the_latency_of_the_answers_it_sent(server: ServerProcess) -> None:
    before = httpx.get(f"{server.http}/healthz").json()["suggestion_latency"]["count"]
    call_id = f"lat-{uuid.uuid4().hex[:6]}"
    async with websockets.connect(server.url) as ws:
        await send(ws, {"type": "call.start", "call_id": call_id})
        assert (await recv(ws))["type"] == "call.started"
        for seq, (speaker, text) in enumerate(
            [("customer", "嗯"), ("customer", "你们是怎么知道我手机号的"), ("agent", "好的")], 1
        ):
            await send(
                ws,
                {
                    "type": "transcript",
                    "call_id": call_id,
                    "seq": seq,
                    "speaker": speaker,
                    "text": text,
                },
            )
        assert (await recv(ws))["in_reply_to"] == 2
        await send(ws, {"type": "call.end", "call_id": call_id})
        while (await recv(ws))["type"] != "disposition":
            pass
    latency = httpx.get(f"{server.http}/healthz").json()["suggestion_latency"]
    # the answered question counts; the quiet "嗯" and the agent's turn do not
    assert latency["count"] == before + 1
    assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["max_ms"]


async def test_an_interim_repeated_by_its_final_is_searched_ahead_with_the_same_answer(
    server: ServerProcess,
) -> None:
    question = "哎那个你们是怎么知道我手机号的"

    async def answer_to(ws: Any, call_id: str, seq: int, interims: list[str]) -> dict[str, Any]:
        chunk = {"type": "transcript", "call_id": call_id, "seq": seq, "speaker": "customer"}
        for text in interims:
            await send(ws, {**chunk, "text": text, "final": False})
        assert await nothing_within(ws, 0.2)  # nothing is shown for an interim
        await send(ws, {**chunk, "text": question, "final": True})
        suggestion = await recv(ws)
        assert suggestion["type"] == "suggestion" and suggestion["in_reply_to"] == seq
        return suggestion

    before = httpx.get(f"{server.http}/healthz").json()["prefetch"]
    call_id = f"pre-{uuid.uuid4().hex[:6]}"
    async with websockets.connect(server.url) as ws:
        await send(ws, {"type": "call.start", "call_id": call_id})
        assert (await recv(ws))["type"] == "call.started"
        plain = await answer_to(ws, call_id, 1, [])
        ahead = await answer_to(ws, call_id, 2, ["哎那个", "哎那个你们是怎么", question])
        # the last interim said something else: the final is searched afresh
        missed = await answer_to(ws, call_id, 3, ["哎那个你们是怎么知道我手机的"])
    assert ahead["items"] == plain["items"] == missed["items"]
    assert plain["items"][0]["source"]["id"] == "kb-how-got-my-number"
    after = httpx.get(f"{server.http}/healthz").json()["prefetch"]
    assert after == {"used": before["used"] + 1, "missed": before["missed"] + 1}


async def test_a_call_streams_suggestions_and_ends_with_a_disposition(
    server: ServerProcess,
) -> None:
    async with websockets.connect(server.url) as ws:
        await send(
            ws,
            {
                "type": "call.start",
                "call_id": "e-1",
                "campaign": "ringback-box",
                "agent_id": "a-17",
                "direction": "outbound",
            },
        )
        assert await recv(ws) == {"type": "call.started", "call_id": "e-1"}
        assert (await recv(ws))["type"] == "checklist"
        next_step = await recv(ws)
        assert (
            next_step["kind"] == "next_step" and next_step["items"][0]["code"] == "identity_check"
        )
        await send(
            ws,
            {
                "type": "transcript",
                "call_id": "e-1",
                "seq": 1,
                "speaker": "agent",
                "text": "您好，我是移动公司客户经理，请问您是机主吗？",
                "final": True,
            },
        )
        await send(
            ws,
            {
                "type": "transcript",
                "call_id": "e-1",
                "seq": 2,
                "speaker": "customer",
                "text": "你们怎么知道我",
                "final": False,
            },
        )
        await send(
            ws,
            {
                "type": "transcript",
                "call_id": "e-1",
                "seq": 2,
                "speaker": "customer",
                "text": "你们怎么知道我电话的",
                "final": True,
            },
        )
        suggestion = await recv(ws)
        assert suggestion["type"] == "suggestion" and suggestion["in_reply_to"] == 2
        assert suggestion["items"][0]["source"]["id"] == "kb-how-got-my-number"
        await send(
            ws,
            {
                "type": "feedback",
                "call_id": "e-1",
                "suggestion_id": suggestion["suggestion_id"],
                "action": "accepted",
            },
        )
        await send(
            ws,
            {
                "type": "transcript",
                "call_id": "e-1",
                "seq": 2,
                "speaker": "customer",
                "text": "你们怎么知道我电话的",
                "final": True,
            },
        )  # resent: ignored
        assert await nothing_within(ws)
        await send(ws, {"type": "call.end", "call_id": "e-1", "reason": "hangup"})
        disposition = await recv(ws)
        assert disposition["type"] == "disposition" and disposition["call_id"] == "e-1"
        assert disposition["code"] == "intent_declined"
        assert {
            "label",
            "confidence",
            "rationale",
            "evidence",
            "alternatives",
            "refusal_reason",
        } <= disposition.keys()


async def test_calls_are_multiplexed_on_one_connection(server: ServerProcess) -> None:
    async with websockets.connect(server.url) as ws:
        for call_id in ("m-1", "m-2"):
            await send(ws, {"type": "call.start", "call_id": call_id})
            assert (await recv(ws))["call_id"] == call_id
        await send(
            ws,
            {
                "type": "transcript",
                "call_id": "m-2",
                "seq": 1,
                "speaker": "customer",
                "text": "我在国外呢，接你们电话收费吗",
            },
        )
        reply = await recv(ws)
        assert reply["call_id"] == "m-2" and reply["items"][0]["source"]["id"].startswith("kb-")
        await send(ws, {"type": "call.end", "call_id": "m-1"})
        assert (await recv(ws))["call_id"] == "m-1"
        await send(ws, {"type": "call.end", "call_id": "m-2"})
        assert (await recv(ws))["call_id"] == "m-2"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("this is not json", "invalid_json"),
        ("[1, 2]", "bad_request"),
        (json.dumps({"type": "dance", "call_id": "b-1"}), "unknown_type"),
        (json.dumps({"type": "transcript", "call_id": "b-1", "seq": 9}), "bad_request"),
        (
            json.dumps(
                {"type": "transcript", "call_id": "b-1", "seq": 9, "speaker": "robot", "text": "x"}
            ),
            "bad_request",
        ),
        (
            json.dumps(
                {
                    "type": "transcript",
                    "call_id": "nobody",
                    "seq": 1,
                    "speaker": "customer",
                    "text": "你好",
                }
            ),
            "unknown_call",
        ),
        (json.dumps({"type": "call.end", "call_id": "nobody"}), "unknown_call"),
        (
            json.dumps({"type": "call.start", "call_id": "b-2", "campaign": "nope"}),
            "unknown_campaign",
        ),
        (
            json.dumps(
                {
                    "type": "transcript",
                    "call_id": "b-1",
                    "seq": 9,
                    "speaker": "customer",
                    "text": "长" * 40000,
                }
            ),
            "too_large",
        ),
        (b"\x00\x01binary", "bad_request"),
    ],
)
async def test_bad_frames_get_an_error_and_disturb_nothing(
    server: ServerProcess, frame: str | bytes, code: str
) -> None:
    call_id = f"b-{uuid.uuid4().hex[:8]}"
    async with websockets.connect(server.url) as ws:
        await send(ws, {"type": "call.start", "call_id": call_id})
        await recv(ws)
        await ws.send(frame)
        error = await recv(ws)
        assert error["type"] == "error" and error["code"] == code, error
        # The connection and the call on it are still up.
        await send(
            ws,
            {
                "type": "transcript",
                "call_id": call_id,
                "seq": 1,
                "speaker": "customer",
                "text": "你们怎么知道我电话的",
            },
        )
        assert (await recv(ws))["type"] == "suggestion"


async def test_a_frame_far_over_the_limit_closes_only_its_own_connection(
    server: ServerProcess,
) -> None:
    """Frames over the contract's size get an error; one beyond any sane size (16 MiB) is not
    even read: that connection closes with 1009 and every other call goes on."""
    async with websockets.connect(server.url) as bystander:
        await send(bystander, {"type": "call.start", "call_id": "big-1"})
        await recv(bystander)
        async with websockets.connect(server.url, max_size=None) as abuser:
            await abuser.send("长" * (6 * 1024 * 1024))  # 18 MiB of UTF-8
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await recv(abuser)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        await send(
            bystander,
            {
                "type": "transcript",
                "call_id": "big-1",
                "seq": 1,
                "speaker": "customer",
                "text": "你们怎么知道我电话的",
            },
        )
        assert (await recv(bystander))["type"] == "suggestion"


async def test_tokens_are_enforced(data_dir: Path) -> None:
    secured = ServerProcess(data_dir, env={"COPILOT_TOKENS": "agent:t-agent,editor:t-ed"}).start()
    try:
        url = secured.url
        for bad in (url, f"{url}?token=wrong", f"{url}?token=t-ed"):
            async with websockets.connect(bad) as ws:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await recv(ws)
                assert closed.value.rcvd.code == 4401
        async with websockets.connect(
            url, additional_headers={"Authorization": "Bearer t-agent"}
        ) as ws:
            await send(ws, {"type": "call.start", "call_id": "t-1"})
            assert (await recv(ws))["type"] == "call.started"
        async with websockets.connect(f"{url}?token=t-agent") as ws:
            await send(ws, {"type": "call.start", "call_id": "t-2"})
            assert (await recv(ws))["type"] == "call.started"
    finally:
        secured.stop()


async def _until_recorded(server: ServerProcess, call_id: str, turns: int) -> None:
    """Wait until the call's checkpoint holds `turns` turns (agent turns get no reply to wait
    for), so that the restart is mid-call, not mid-turn."""
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            record = await http.get(f"{server.http}/v1/calls/{call_id}")
            if record.status_code == 200 and len(record.json()["turns"]) >= turns:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{call_id} never recorded {turns} turns")


async def test_a_server_restart_mid_call_continues_the_call(data_dir: Path) -> None:
    first = ServerProcess(data_dir).start()
    try:
        async with websockets.connect(first.url) as ws:
            await send(ws, {"type": "call.start", "call_id": "rs-1", "campaign": "ringback-box"})
            await recv(ws)
            await recv(ws)  # the checklist
            for seq, (speaker, text) in enumerate(
                [
                    ("agent", "请问您是机主吗"),
                    ("customer", "是我"),
                    ("agent", "我们推出主叫铃音盒优惠活动，1元/月，向您介绍一下"),
                ],
                start=1,
            ):
                await send(
                    ws,
                    {
                        "type": "transcript",
                        "call_id": "rs-1",
                        "seq": seq,
                        "speaker": speaker,
                        "text": text,
                    },
                )
            await _until_recorded(first, "rs-1", turns=3)
    finally:
        first.stop()
    second = ServerProcess(data_dir)
    second.port = first.port
    second.start()
    try:
        async with websockets.connect(second.url) as ws:
            await send(ws, {"type": "call.start", "call_id": "rs-1", "campaign": "ringback-box"})
            resumed = await recv(ws)
            assert resumed["resumed"] is True and resumed["last_seq"] == 3
            checklist = await recv(ws)
            assert checklist["type"] == "checklist"
            assert {"code": "identity_check", "done": True, "at": 2} in checklist["items"]
            await send(
                ws,
                {
                    "type": "transcript",
                    "call_id": "rs-1",
                    "seq": 4,
                    "speaker": "customer",
                    "text": "不需要，没兴趣",
                },
            )
            await send(ws, {"type": "call.end", "call_id": "rs-1"})
            disposition = await recv(ws)
            assert disposition["code"] == "declined"  # the offer heard before the restart counts
            assert 3 in disposition["evidence"]
    finally:
        second.stop()


def test_open_server_refuses_a_public_address(tmp_path: Path) -> None:
    run = run_copilot("--data-dir", str(tmp_path), "serve", "--host", "0.0.0.0", timeout=60)
    assert run.returncode == 2 and "COPILOT_TOKENS" in run.stderr


def test_the_demo_streams_a_recorded_call(server: ServerProcess) -> None:
    run = run_copilot("demo", "--port", str(server.port), "--pace", "0", "--wait", "0", timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"http://127.0.0.1:{server.port}/?call=demo-" in run.stdout
    assert "call ended" in run.stdout


def test_eval_replay_over_the_websocket_with_interim_chunks(
    server: ServerProcess, tmp_path: Path
) -> None:
    datasets = Path(__file__).resolve().parent.parent / "eval" / "datasets"
    lines = (datasets / "calls.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    small = tmp_path / "small.jsonl"
    small.write_text("".join(lines[:4]), encoding="utf-8")
    run = run_copilot(
        "eval",
        "replay",
        str(small),
        "--url",
        server.url,
        "--interim",
        "--concurrency",
        "2",
        "--json",
        str(tmp_path / "r.json"),
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["disposition_total"] == 4
    assert report["latency_ms"]["call_end"]["n"] == 4
    assert report["disposition_accuracy"] is not None
