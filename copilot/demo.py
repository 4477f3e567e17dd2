"""`copilot demo`: stream a bundled recorded call into a running server at speaking pace, as a
telephony/ASR bridge would, so a newcomer sees the side panel work without any telephony.

    uv run copilot serve            # in one terminal
    uv run copilot demo             # in another; open the URL it prints
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import websockets

from copilot.evaluation.dataset import Dialogue, load_dialogues
from copilot.evaluation.replay import interim_hypotheses
from copilot.frames import frame, transcript

DEMO_FILE = Path(__file__).resolve().parent.parent / "eval" / "datasets" / "calls.jsonl"
DEMO_CALL = "call-001"  # 000 案例1: the graded bad marketing call, with its warnings


def demo_dialogue() -> Dialogue:
    return next(d for d in load_dialogues(DEMO_FILE) if d.id == DEMO_CALL)


async def stream(url: str, panel: str, token: str | None, pace: float, wait: float) -> str:
    dialogue = demo_dialogue()
    call_id = f"demo-{uuid.uuid4().hex[:6]}"
    query = f"&token={token}" if token else ""
    print(f"open the side panel: {panel}?call={call_id}{query}", flush=True)
    await asyncio.sleep(wait)  # time to open the page
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.send(
            frame(
                "call.start",
                call_id=call_id,
                campaign=dialogue.campaign,
                direction=dialogue.direction,
            )
        )
        for seq, turn in enumerate(dialogue.turns, start=1):
            for partial in interim_hypotheses(turn.text):
                await ws.send(transcript(call_id, seq, turn.speaker, partial, final=False))
                await asyncio.sleep(pace / 4)
            await ws.send(transcript(call_id, seq, turn.speaker, turn.text))
            print(f"{seq:2} {turn.speaker}: {turn.text}", flush=True)
            await asyncio.sleep(pace)
        await ws.send(json.dumps({"type": "call.end", "call_id": call_id, "reason": "hangup"}))
        while json.loads(await ws.recv())["type"] != "disposition":
            pass
    print("call ended: the panel shows the proposed disposition", flush=True)
    return call_id
