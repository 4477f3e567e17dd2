"""What every run of a call's graph may consult besides the state: the live knowledge."""

from __future__ import annotations

from dataclasses import dataclass

from copilot.compliance.checker import Checker
from copilot.cues import CueBook
from copilot.knowledge.models import Campaign
from copilot.retrieval.retriever import Mode, Retriever


@dataclass(frozen=True)
class CallContext:
    retriever: Retriever
    cues: CueBook
    checker: Checker
    campaign: Campaign | None
    answer_threshold: float
    max_suggestions: int = 3
    retrieval_mode: Mode = "hybrid"
