"""The typed state of one call, as the checkpointer stores it between chunks."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired, TypedDict

Speaker = Literal["agent", "customer"]
Stage = Literal["opening", "offer", "decision", "verification", "closing", "ended"]


class Turn(TypedDict):
    seq: int
    speaker: Speaker
    text: str


class Event(TypedDict):
    """What one graph run is about: the call's start, a final chunk, a CRM event, a fact the LLM
    judge confirmed, or its end."""

    kind: Literal["start", "turn", "crm", "judged", "end"]
    turn: NotRequired[Turn]
    name: NotRequired[str]  # crm: verification.passed, econtract.valid, ...
    fact: NotRequired[str]  # judged: said:fee_disclosure, ...
    seq: NotRequired[int]  # judged: the turn that said it
    reason: NotRequired[str]  # end: hangup, ...


def first_seen(old: dict[str, int], new: dict[str, int]) -> dict[str, int]:
    """Facts remember the first turn that established them; later mentions change nothing."""
    return {**new, **old}


def latest(old: dict[str, int], new: dict[str, int]) -> dict[str, int]:
    """The last turn that said each thing (the customer's final word decides a refusal)."""
    return {**old, **new}


class CallState(TypedDict):
    call_id: str
    campaign: str | None
    direction: Literal["outbound", "inbound"]
    event: Event
    turns: Annotated[list[Turn], operator.add]
    last_seq: int
    #: fact name (a cue of knowledge/rules/turn_cues.yaml, or a CRM event) -> seq first seen.
    facts: Annotated[dict[str, int], first_seen]
    #: fact name -> seq last seen.
    last_seen: Annotated[dict[str, int], latest]
    #: the customer's own reason when they refused, as they said it.
    refusal_reason: str | None
    stage: Stage
    #: the disclosure checklist as last sent to the client
    checklist: list[dict[str, Any]]
    #: the required step last suggested to the agent (a warning code), or None
    next_step: str | None
    # ---- outputs of the current run (reset by ingest) ----
    duplicate: bool
    quiet: bool
    #: cues this run's turn matched (facts keeps only the first time each was heard)
    turn_facts: list[str]
    checklist_update: dict[str, Any] | None
    next_step_update: dict[str, Any] | None
    candidates: list[dict[str, Any]]
    suggestion: dict[str, Any] | None
    warnings: list[dict[str, Any]]
    disposition: dict[str, Any] | None
    #: warning (code, seq) pairs already raised: the same code is not raised twice for a moment.
    raised: Annotated[list[str], operator.add]
