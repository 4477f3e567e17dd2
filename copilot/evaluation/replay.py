"""Drive recorded dialogues through the copilot, in-process or over the real WebSocket."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from copilot.app import Copilot
from copilot.evaluation.dataset import Dialogue
from copilot.frames import frame, transcript


@dataclass
class TurnResult:
    seq: int
    messages: list[dict[str, Any]]
    latency_ms: float
    #: phase two (with an LLM): what arrived after the turn returned, and when (ms after it
    #: was sent)
    later: list[dict[str, Any]] = field(default_factory=list)
    later_ms: list[float] = field(default_factory=list)


@dataclass
class DialogueResult:
    dialogue: Dialogue
    turns: list[TurnResult] = field(default_factory=list)
    start_messages: list[dict[str, Any]] = field(default_factory=list)
    end_messages: list[dict[str, Any]] = field(default_factory=list)
    end_latency_ms: float = 0.0


Progress = Callable[[], None]


def interim_hypotheses(text: str) -> list[str]:
    """Growing partial hypotheses an ASR sends before the final (a third, two thirds)."""
    cut = max(1, len(text) // 3)
    return [text[:cut], text[: 2 * cut]] if len(text) >= 6 else []


async def replay_in_process(
    copilot: Copilot,
    dialogues: list[Dialogue],
    run_id: str = "eval",
    progress: Progress | None = None,
) -> list[DialogueResult]:
    """Interim chunks never reach the graph (the server only searches them ahead), so
    in-process replay sends finals only. With an LLM, each turn waits for its phase two before
    the next (a live customer takes seconds to answer; a replay would otherwise cancel every
    one)."""
    results = []
    for dialogue in dialogues:
        call_id = f"{run_id}-{dialogue.id}"
        result = DialogueResult(dialogue)
        result.start_messages = await copilot.start_call(
            call_id, dialogue.campaign, dialogue.direction
        )
        for seq, turn in enumerate(dialogue.turns, start=1):
            started = time.perf_counter()
            later: list[dict[str, Any]] = []
            later_ms: list[float] = []

            async def deliver(
                messages: list[dict[str, Any]],
                later: list[dict[str, Any]] = later,
                later_ms: list[float] = later_ms,
                started: float = started,
            ) -> None:
                later.extend(messages)
                later_ms.extend([(time.perf_counter() - started) * 1e3] * len(messages))

            messages = await copilot.turn(call_id, seq, turn.speaker, turn.text, deliver)
            elapsed = (time.perf_counter() - started) * 1e3
            await copilot.settle(call_id)
            result.turns.append(TurnResult(seq, messages, elapsed, later, later_ms))
        started = time.perf_counter()
        result.end_messages = await copilot.end_call(call_id, "hangup")
        result.end_latency_ms = (time.perf_counter() - started) * 1e3
        results.append(result)
        if progress:
            progress()
    return results


async def replay_over_websocket(
    url: str,
    dialogues: list[Dialogue],
    run_id: str = "eval",
    token: str | None = None,
    concurrency: int = 4,
    interim: bool = False,
    progress: Progress | None = None,
) -> list[DialogueResult]:
    """The same replay against a running server, one connection per dialogue."""
    import websockets

    headers = {"Authorization": f"Bearer {token}"} if token else None
    semaphore = asyncio.Semaphore(concurrency)

    async def one(dialogue: Dialogue) -> DialogueResult:
        call_id = f"{run_id}-{dialogue.id}"
        result = DialogueResult(dialogue)
        async with semaphore, websockets.connect(url, additional_headers=headers) as ws:
            await ws.send(
                frame(
                    "call.start",
                    call_id=call_id,
                    campaign=dialogue.campaign,
                    direction=dialogue.direction,
                )
            )
            await ws.send(json.dumps({"type": "replay.marker", "call_id": call_id}))
            result.start_messages = (await _until(ws, lambda m: m.get("code") == "unknown_type"))[
                :-1
            ]
            for seq, turn in enumerate(dialogue.turns, start=1):
                for partial in interim_hypotheses(turn.text) if interim else []:
                    await ws.send(transcript(call_id, seq, turn.speaker, partial, final=False))
                started = time.perf_counter()
                await ws.send(transcript(call_id, seq, turn.speaker, turn.text))
                # The server handles a connection's frames in order, so the error answering an
                # unknown marker message tells us every reply to this turn has arrived.
                await ws.send(json.dumps({"type": "replay.marker", "call_id": call_id}))
                messages = await _until(ws, lambda m: m.get("code") == "unknown_type")
                result.turns.append(
                    TurnResult(seq, messages[:-1], (time.perf_counter() - started) * 1e3)
                )
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "call.end", "call_id": call_id}))
            result.end_messages = await _until(ws, lambda m: m["type"] in ("disposition", "error"))
            result.end_latency_ms = (time.perf_counter() - started) * 1e3
        if progress:
            progress()
        return result

    return list(await asyncio.gather(*(one(d) for d in dialogues)))


async def _until(ws: Any, done: Any) -> list[dict[str, Any]]:
    messages = []
    while True:
        message = json.loads(await ws.recv())
        messages.append(message)
        if done(message):
            return messages
