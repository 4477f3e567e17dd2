"""Client frames of the `/v1/calls` protocol, for the copilot's own clients (demo, eval replay,
benchmarks): one place that spells the wire format the server parses in server/protocol.py."""

from __future__ import annotations

import json
from typing import Any


def frame(type_: str, **fields: Any) -> str:
    return json.dumps({"type": type_, **fields}, ensure_ascii=False)


def transcript(call_id: str, seq: int, speaker: str, text: str, final: bool = True) -> str:
    return frame("transcript", call_id=call_id, seq=seq, speaker=speaker, text=text, final=final)
