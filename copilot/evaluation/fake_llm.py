"""A scripted OpenAI-compatible server: the real chat-completions wire format, streaming
included, over real HTTP on loopback, with answers chosen by a script.

Tests use it to play a good, hallucinating, injected, slow or failing model; the latency
benchmark uses it as "an LLM that takes two seconds". It is not a model: by default it answers
with the approved text it was given (a faithful but unadapted rephrasing).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_APPROVED = re.compile(r"<approved_answer>\s*(.*?)\s*</approved_answer>", re.DOTALL)


@dataclass
class Reply:
    text: str = ""
    #: seconds before the first byte of the answer
    delay: float = 0.0
    #: an HTTP error status instead of an answer
    status: int | None = None
    #: pieces a streamed answer is cut into
    chunk_chars: int = 8


def echo_approved(request: dict[str, Any]) -> Reply:
    """The approved answer back, as a model that changes nothing would give it."""
    found = _APPROVED.search(request["messages"][-1]["content"])
    return Reply(found.group(1) if found else "")


@dataclass
class FakeLLM:
    script: Callable[[dict[str, Any]], Reply] = echo_approved
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLM:
        self.port = self.port or _free_port()
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the scripted LLM server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server and self._thread:
            self._server.should_exit = True
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "scripted", "object": "model"}]})

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        reply = self.script(body)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status:
            error = {"message": "scripted failure", "type": "server_error", "code": None}
            return JSONResponse({"error": error}, status_code=reply.status)
        ident, model = f"chatcmpl-{uuid.uuid4().hex[:12]}", body.get("model", "scripted")
        if not body.get("stream"):
            message = {"role": "assistant", "content": reply.text}
            return JSONResponse(
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                }
            )
        return StreamingResponse(_sse(ident, model, reply), media_type="text/event-stream")


async def _sse(ident: str, model: str, reply: Reply):  # type: ignore[no-untyped-def]
    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        payload = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    text = reply.text
    for start in range(0, len(text), reply.chunk_chars):
        yield chunk({"content": text[start : start + reply.chunk_chars]})
        await asyncio.sleep(0)
    yield chunk({}, finish="stop")
    yield "data: [DONE]\n\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
