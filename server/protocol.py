"""The client → server messages of `/v1/calls` (contract §2), parsed and validated.

Protocol handling is kept apart from the application: this module turns a frame into a typed
message or a `ProtocolError` with the contract's error code, and knows nothing about calls.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from copilot.codes import DispositionCode

CallId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CallStart(_Message):
    type: Literal["call.start"]
    call_id: CallId
    campaign: str | None = None
    agent_id: str | None = None
    direction: Literal["outbound", "inbound"] = "outbound"


class Transcript(_Message):
    type: Literal["transcript"]
    call_id: CallId
    seq: int = Field(ge=0)
    speaker: Literal["agent", "customer"]
    text: Annotated[str, StringConstraints(max_length=4000)]
    final: bool = True


class CallEnd(_Message):
    type: Literal["call.end"]
    call_id: CallId
    reason: str = "hangup"


class CallEvent(_Message):
    type: Literal["call.event"]
    call_id: CallId
    event: Literal[
        "verification.passed", "verification.failed", "econtract.valid", "econtract.invalid"
    ]


class Feedback(_Message):
    type: Literal["feedback"]
    call_id: CallId
    suggestion_id: str
    action: Literal["accepted", "rejected", "edited"]
    text: str | None = None


class DispositionConfirm(_Message):
    """v1 addition: the agent confirms or changes the proposed code after hang-up."""

    type: Literal["disposition.confirm"]
    call_id: CallId
    code: DispositionCode


class CallWatch(_Message):
    """v1 addition: follow a call's transcript and server messages without streaming it."""

    type: Literal["call.watch"]
    call_id: CallId


ClientMessage = Annotated[
    CallStart | Transcript | CallEnd | CallEvent | Feedback | DispositionConfirm | CallWatch,
    Field(discriminator="type"),
]
_PARSER: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
KNOWN_TYPES = (
    "call.start",
    "transcript",
    "call.end",
    "call.event",
    "feedback",
    "disposition.confirm",
    "call.watch",
)


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, call_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.call_id = call_id

    def message(self) -> dict[str, Any]:
        return error_message(self.code, str(self), self.call_id)


def error_message(code: str, message: str, call_id: str | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if call_id is not None:
        msg["call_id"] = call_id
    return msg


def parse_frame(frame: str | bytes | None, max_bytes: int) -> ClientMessage:
    if not isinstance(frame, str):
        raise ProtocolError("bad_request", "only JSON text frames are accepted")
    if len(frame.encode("utf-8")) > max_bytes:
        raise ProtocolError("too_large", f"frame exceeds {max_bytes} bytes")
    try:
        data = json.loads(frame)
    except json.JSONDecodeError as exc:
        raise ProtocolError("invalid_json", f"not JSON: {exc.msg} at {exc.pos}") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_request", "a message must be a JSON object")
    call_id = data.get("call_id") if isinstance(data.get("call_id"), str) else None
    if data.get("type") not in KNOWN_TYPES:
        raise ProtocolError("unknown_type", f"unknown message type {data.get('type')!r}", call_id)
    try:
        return _PARSER.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'message'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ProtocolError("bad_request", problems, call_id) from None
