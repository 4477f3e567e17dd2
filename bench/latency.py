"""Per-final-chunk latency over the real WebSocket: receipt → suggestion sent, at 1 and 50
concurrent calls on loopback, plus the server's memory. Results are written as JSON.

    uv run python bench/latency.py [--calls 1 50] [--turns 20] [--out bench/results.json]
                                   [--interims 3] [--llm-delay 2.0]

With --llm-delay the server is configured with an LLM (the scripted OpenAI-compatible server of
copilot/evaluation/fake_llm.py) that answers after that many seconds: phase one (the approved
answer) must not wait for it, so its latency should not change.

Each simulated call streams a realistic outbound call (agent and customer turns, questions and
back-channels from the held-out set) at speaking pace: one final chunk every `--pace` seconds
(default 1.0 s, jittered), as a telephony/ASR bridge would. With `--interims K` each final is
preceded by K growing interim hypotheses 0.15 s apart, the last one in the final's words (a
streaming ASR's usual pattern), so the server can search ahead; without it every final's
search starts at the final (an ASR bridge that sends finals only, or whose finals always differ
from their interims: the worst case). Latency is measured twice: at the
client, from sending a customer's final chunk to receiving its suggestion (this includes the
client's own event loop, busy with 50 connections); and by the server itself, from the frame's
receipt to the suggestion sent (`server_side`, read from `/healthz`; a fresh server per run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from copilot.evaluation.dataset import load_dialogues
from copilot.evaluation.fake_llm import FakeLLM, Reply, echo_approved
from copilot.frames import transcript
from copilot.latency import summarise
from tests.conftest import ServerProcess

ROOT = Path(__file__).resolve().parent.parent


#: Between interim hypotheses, and from the last one to the final (the ASR's end-pointing).
INTERIM_GAP_S = 0.15


def customer_questions() -> list[str]:
    dialogues = load_dialogues(ROOT / "eval" / "datasets" / "heldout.jsonl")
    return [
        t.text for d in dialogues for t in d.turns if t.expect_answer and d.direction == "outbound"
    ]


async def one_call(
    url: str,
    call_id: str,
    questions: list[str],
    turns: int,
    pace: float,
    interims: int,
    rng: random.Random,
) -> list[float]:
    latencies = []
    async with websockets.connect(url) as ws:
        await ws.send(
            json.dumps({"type": "call.start", "call_id": call_id, "campaign": "ringback-box"})
        )
        await ws.recv()
        for seq in range(1, turns + 1):
            if seq % 2:
                text, speaker = "好的，我给您介绍一下这个业务", "agent"
            else:
                text, speaker = rng.choice(questions), "customer"
            await asyncio.sleep(pace * rng.uniform(0.5, 1.5) - interims * INTERIM_GAP_S)
            for k in range(1, interims + 1):  # growing hypotheses; the last one is the final's
                interim = text[: max(1, len(text) * k // interims)]
                await ws.send(transcript(call_id, seq, speaker, interim, final=False))
                await asyncio.sleep(INTERIM_GAP_S)
            started = time.perf_counter()
            await ws.send(transcript(call_id, seq, speaker, text))
            if speaker == "customer":
                latency = await suggestion_latency(ws, seq, started, timeout=pace * 0.45)
                if latency is not None:
                    latencies.append(latency)
        await ws.send(json.dumps({"type": "call.end", "call_id": call_id}))
        while json.loads(await ws.recv())["type"] != "disposition":
            pass
    return latencies


async def suggestion_latency(ws, seq: int, started: float, timeout: float) -> float | None:
    """Wait for this turn's suggestion; checklists and warnings of earlier turns are skipped."""
    deadline = time.perf_counter() + timeout
    while (left := deadline - time.perf_counter()) > 0:
        try:
            reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
        except TimeoutError:
            return None  # no suggestion for this turn (below the threshold)
        if reply.get("kind") != "answer" or reply["items"][0].get("rephrased"):
            continue  # phase two of an earlier turn, checklists, warnings
        if reply.get("in_reply_to") == seq:
            return (time.perf_counter() - started) * 1e3
    return None


def server_tree(pid: int) -> list[int]:
    """The server and its children (the retrieval process): the server's cost is all of them."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            todo += [int(c) for c in (task / "children").read_text().split()]
    return pids


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def cpu_steal() -> tuple[int, int]:
    """(steal, total) jiffies of the whole machine: on a shared VM the hypervisor's steal time
    is why the same build measures differently from one hour to the next."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[7], sum(fields)


def rss_mb(pids: list[int]) -> float:
    kib = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                kib += int(line.split()[1])
    return kib / 1024


async def run(calls: int, turns: int, pace: float, interims: int, server: ServerProcess) -> dict:
    questions = customer_questions()
    rng = random.Random(calls)
    pids = server_tree(server.proc.pid)  # type: ignore[union-attr]
    cpu_before, wall_before, steal_before = cpu_seconds(pids), time.perf_counter(), cpu_steal()
    results = await asyncio.gather(
        *(
            one_call(
                server.url,
                f"bench-{calls}-{i}-{time.time_ns()}",
                questions,
                turns,
                pace,
                interims,
                random.Random(rng.random()),
            )
            for i in range(calls)
        )
    )
    cpu_used, wall = cpu_seconds(pids) - cpu_before, time.perf_counter() - wall_before
    steal, total = (after - before for after, before in zip(cpu_steal(), steal_before, strict=True))
    values = sorted(v for r in results for v in r)
    # The server's own figure: frame received → suggestion sent, without this client's loop.
    health = httpx.get(f"{server.http}/healthz").json()
    return {
        "concurrent_calls": calls,
        "suggestions_measured": len(values),
        **summarise(values),
        "server_side": health["suggestion_latency"],
        "prefetch": health["prefetch"],
        "server_cpu_ms_per_chunk": round(cpu_used * 1e3 / (calls * (turns + 2)), 2),
        "server_cpu_utilisation": round(cpu_used / wall, 2),
        "server_processes": len(pids),
        "server_rss_mb": round(rss_mb(pids), 1),
        "machine_cpu_steal_pct": round(100 * steal / max(total, 1), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--pace", type=float, default=1.0)
    parser.add_argument(
        "--interims", type=int, default=0, help="interim hypotheses before each final chunk"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--llm-delay", type=float, help="configure an LLM this slow (seconds)")
    args = parser.parse_args()
    llm, env = None, {}
    if args.llm_delay is not None:
        delay = args.llm_delay
        llm = FakeLLM(lambda request: Reply("您好，" + echo_approved(request).text, delay=delay))
        llm.start()
        env = {"OPENAI_BASE_URL": llm.base_url}
    runs, startups = [], []
    try:
        for n in args.calls:  # a fresh server per run: its latency window holds that run alone
            started = time.perf_counter()
            server = ServerProcess(Path(tempfile.mkdtemp()), env=env).start()
            startups.append(time.perf_counter() - started)
            try:
                runs.append(asyncio.run(run(n, args.turns, args.pace, args.interims, server)))
            finally:
                server.stop()
    finally:
        if llm:
            llm.stop()
    report = {
        "machine": f"{platform.node()} {platform.machine()}, {platform_cpus()} cores, "
        f"Python {platform.python_version()}",
        "startup_empty_data_dir_s": round(max(startups), 1),
        "pace_s": args.pace,
        "interims_per_chunk": args.interims,
        "llm_delay_s": args.llm_delay,
        "turns_per_call": args.turns,
        "runs": runs,
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


def platform_cpus() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
