"""`/v1/calls`: the WebSocket endpoint. Frames in, messages out; the copilot does the thinking.

Every bad frame is answered with an `error` and nothing else happens: the connection and the
other calls multiplexed on it stay up. Close codes: 4401 bad or missing token (before any call
message is read); 1011 only if the server itself fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from functools import partial
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from copilot.app import CallError, Copilot
from server.auth import role_of
from server.protocol import (
    CallEnd,
    CallEvent,
    CallStart,
    CallWatch,
    ClientMessage,
    DispositionConfirm,
    Feedback,
    ProtocolError,
    Transcript,
    error_message,
    parse_frame,
)

log = logging.getLogger("copilot.ws")

CLOSE_UNAUTHORIZED = 4401


async def calls_endpoint(websocket: WebSocket) -> None:
    copilot: Copilot = websocket.app.state.copilot
    await websocket.accept()
    if role_of(websocket, copilot.settings) not in ("agent", "admin"):
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="unauthorized")
        return
    session = CallsSession(copilot, websocket)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            await session.handle_frame(message.get("text", message.get("bytes")))
    except WebSocketDisconnect:
        pass
    finally:
        session.stop_watching()
        log.info("connection closed with %d open calls", len(session.calls))


class CallsSession:
    """One connection: the calls it opened, and the dispatch of its frames."""

    def __init__(self, copilot: Copilot, websocket: WebSocket) -> None:
        self.copilot = copilot
        self.websocket = websocket
        self.calls: set[str] = set()
        self.watching: dict[str, tuple[asyncio.Queue[dict[str, Any]], asyncio.Task[None]]] = {}

    async def send(self, message: dict[str, Any]) -> None:
        await self.websocket.send_text(json.dumps(message, ensure_ascii=False))

    async def handle_frame(self, frame: str | bytes | None) -> None:
        received = time.perf_counter()
        try:
            message = parse_frame(frame, self.copilot.settings.max_frame_bytes)
            if isinstance(message, Transcript):  # panels show the words, interim ones too
                self.copilot.watchers.publish(message.call_id, message.model_dump())
            replies = await self.dispatch(message, received)
        except ProtocolError as exc:
            replies = [exc.message()]
        await self.emit(replies)

    async def emit(self, messages: list[dict[str, Any]]) -> None:
        """To this client, and to the panels watching the call. Phase two (the LLM's rephrasing,
        judged disclosures) arrives here later, from the call's background work."""
        for message in messages:
            try:
                await self.send(message)
            except (WebSocketDisconnect, RuntimeError):
                return  # the client left while the LLM was thinking: nothing to tell
            if message.get("call_id") and message["type"] not in ("error", "call.watching"):
                self.copilot.watchers.publish(message["call_id"], message)

    async def emit_answer(self, received: float, messages: list[dict[str, Any]]) -> None:
        """The answer to a customer's final chunk, the moment it is decided: what the agent
        waits for, so its latency is recorded from the frame's receipt to here."""
        await self.emit(messages)
        self.copilot.latency.record(time.perf_counter() - received)

    async def watch(self, call_id: str) -> dict[str, Any]:
        if call_id not in self.watching:
            queue = self.copilot.watchers.subscribe(call_id)
            task = asyncio.create_task(self._forward(queue))
            self.watching[call_id] = (queue, task)
        return await self.copilot.snapshot(call_id)

    async def _forward(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            await self.send(await queue.get())

    def stop_watching(self) -> None:
        for call_id, (queue, task) in self.watching.items():
            task.cancel()
            self.copilot.watchers.unsubscribe(call_id, queue)
        self.watching.clear()

    async def dispatch(self, message: ClientMessage, received: float) -> list[dict[str, Any]]:
        call_id = message.call_id
        try:
            if isinstance(message, CallStart):
                replies = await self.copilot.start_call(
                    call_id, message.campaign, message.direction
                )
                self.calls.add(call_id)
                return replies
            if isinstance(message, CallWatch):
                return [await self.watch(call_id)]
            if isinstance(message, DispositionConfirm):
                return [await self.copilot.confirm_disposition(call_id, message.code)]
            if isinstance(message, Feedback):
                await self.copilot.feedback(
                    call_id, message.suggestion_id, message.action, message.text
                )
                return []
            if call_id not in self.calls or not self.copilot.is_open(call_id):
                raise CallError("unknown_call", f"no open call {call_id!r} on this connection")
            if isinstance(message, Transcript):
                if not message.final:  # superseded by the final with the same seq
                    self.copilot.interim(call_id, message.seq, message.speaker, message.text)
                    return []
                return await self.copilot.turn(
                    call_id,
                    message.seq,
                    message.speaker,
                    message.text,
                    deliver=self.emit,
                    early=partial(self.emit_answer, received),
                )
            if isinstance(message, CallEvent):
                return await self.copilot.crm_event(call_id, message.event)
            if isinstance(message, CallEnd):
                self.calls.discard(call_id)
                return await self.copilot.end_call(call_id, message.reason)
        except CallError as exc:
            return [error_message(exc.code, str(exc), call_id)]
        raise ProtocolError("unknown_type", f"unhandled message {message.type}", call_id)
