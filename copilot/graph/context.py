"""What every run of a call's graph may consult besides the state: the live knowledge."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from copilot.compliance.checker import Checker
from copilot.cues import CueBook
from copilot.knowledge.models import Campaign
from copilot.retrieval.retriever import Hit, ServedEntries


@dataclass(frozen=True)
class CallContext:
    #: the approved versions being served (fixed answers look theirs up here)
    retriever: ServedEntries
    cues: CueBook
    checker: Checker
    campaign: Campaign | None
    answer_threshold: float
    max_suggestions: int = 3
    #: The search for this run's customer turn, started when its chunk arrived: it runs in the
    #: retrieval process while the graph loads the call's state, so neither waits for the other.
    search: asyncio.Future[list[Hit]] | None = None
