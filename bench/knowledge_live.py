"""How fast an approved edit reaches a running call: p50/p95 over 50 edits, written as JSON.

    uv run python bench/knowledge_live.py [--edits 50] [--out bench/knowledge_live.json]

A real server with tokens; one WebSocket call stays open; each round an editor saves a new draft
of one answer and an approver approves it; the clock runs from sending the approval until a
customer question on the open call is answered with the new version.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import ServerProcess

ENTRY = "kb-how-got-my-number"
QUESTION = "你们到底是从哪儿弄到我这个手机号的"


async def run(server: ServerProcess, edits: int) -> list[float]:
    editor = {"Authorization": "Bearer ed"}
    approver = {"Authorization": "Bearer ap"}
    base = f"{server.http}/v1/knowledge/answers/{ENTRY}"
    latencies = []
    async with (
        httpx.AsyncClient(timeout=30) as http,
        websockets.connect(f"{server.url}?token=ag") as ws,
    ):
        await ws.send(json.dumps({"type": "call.start", "call_id": "live-bench"}))
        await ws.recv()
        seq = 0
        for _ in range(edits):
            current = (await http.get(base, headers=editor)).json()
            body = dict(current["approved"])
            version = current["latest_version"]
            for key in ("version", "status", "author", "created_at", "approved_by", "approved_at"):
                body.pop(key)
            body["note"] = f"bench edit {version}"
            reply = await http.put(base, json={**body, "base_version": version}, headers=editor)
            wanted = reply.json()["version"]
            started = time.perf_counter()
            await http.post(f"{base}/approve", headers=approver)
            while True:
                seq += 1
                await ws.send(
                    json.dumps(
                        {
                            "type": "transcript",
                            "call_id": "live-bench",
                            "seq": seq,
                            "speaker": "customer",
                            "text": QUESTION,
                        },
                        ensure_ascii=False,
                    )
                )
                message = json.loads(await ws.recv())
                while message["type"] != "suggestion":
                    message = json.loads(await ws.recv())
                if message["items"][0]["source"]["version"] == wanted:
                    latencies.append((time.perf_counter() - started) * 1e3)
                    break
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("bench/knowledge_live.json"))
    args = parser.parse_args()
    server = ServerProcess(
        Path(tempfile.mkdtemp()), env={"COPILOT_TOKENS": "agent:ag,editor:ed,approver:ap"}
    ).start()
    try:
        values = sorted(asyncio.run(run(server, args.edits)))
    finally:
        server.stop()
    report = {
        "edits": len(values),
        "approve_to_served_ms": {
            "p50": round(statistics.median(values), 1),
            "p95": round(values[int(0.95 * (len(values) - 1))], 1),
            "max": round(values[-1], 1),
        },
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
