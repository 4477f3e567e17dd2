"""Phase two of an answer: the approved wording adapted to the customer's words, if it is safe.

The approved suggestion has already gone out; this only ever adds a second `suggestion` for the
same turn, with `"rephrased": true` and the approved source beside it. A rephrasing the guard
rejects is dropped and counted; an LLM that is slow, failing or busy simply adds nothing.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from copilot.knowledge.models import Campaign
from copilot.llm.client import LLMClient, LLMUnavailable
from copilot.llm.guard import Guard, Sources, Verdict
from copilot.llm.prompts import PromptTemplate, load_prompt
from copilot.privacy import redact

_WRAPPING = re.compile(r"^[\s\"'“”‘’「」]+|[\s\"'“”‘’「」]+$")
_LABEL = re.compile(r"^(改写(后的)?(话术)?|话术|回答|坐席)[:：]\s*")


@dataclass
class Rephrasing:
    """One attempt: the text, what the guard said, and how long it took."""

    text: str | None
    verdict: Verdict | None
    latency_ms: float


class Rephraser:
    def __init__(
        self, client: LLMClient, guard: Guard, prompt: PromptTemplate | None = None
    ) -> None:
        self.client = client
        self.guard = guard
        self.prompt = prompt or load_prompt("rephrase.v1")
        self.stats: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()

    def sources(self, approved: str, campaign: Campaign | None) -> Sources:
        return Sources(approved=approved, facts=campaign.fact_lines() if campaign else [])

    async def attempt(self, approved: str, customer: str, campaign: Campaign | None) -> Rephrasing:
        """Ask, tidy and judge one rephrasing (the evaluation calls this directly)."""
        sources = self.sources(approved, campaign)
        started = time.perf_counter()
        self.stats["asked"] += 1
        try:
            raw = await self.client.complete(
                self.prompt,
                timeout=self.client.settings.rephrase_timeout_s,
                max_chars=self.guard.spec.max_chars * 2,
                approved=approved,
                facts="\n".join(sources.facts) or "（无）",
                customer=redact(customer),
            )
        except LLMUnavailable:
            self.stats["unavailable"] += 1
            return Rephrasing(None, None, (time.perf_counter() - started) * 1e3)
        text = tidy(raw)
        verdict = self.guard.check(text, sources, customer=redact(customer))
        self.stats["passed" if verdict.ok else "rejected"] += 1
        for reason in verdict.reasons:
            self.reasons[reason.split(":")[0]] += 1
        return Rephrasing(text, verdict, (time.perf_counter() - started) * 1e3)

    async def follow_up(
        self, suggestion: dict[str, Any], customer: str, campaign: Campaign | None
    ) -> dict[str, Any] | None:
        """The phase-two message for an approved `suggestion`, or None."""
        top = suggestion["items"][0]
        result = await self.attempt(top["text"], customer, campaign)
        if result.text is None or result.verdict is None or not result.verdict.ok:
            return None
        if result.text == top["text"]:
            return None  # nothing adapted: the approved wording is already on screen
        return {
            **{k: suggestion[k] for k in ("type", "call_id", "in_reply_to", "kind")},
            "suggestion_id": suggestion["suggestion_id"] + "-r",
            "items": [
                {
                    "text": result.text,
                    "rephrased": True,
                    "source": top["source"],
                    "approved": top["text"],
                    "score": top["score"],
                    "prompt": self.prompt.name,
                }
            ],
        }


def tidy(raw: str) -> str:
    """Models wrap answers in quotes or label them ("改写：..."); the agent needs the words."""
    text = _WRAPPING.sub("", raw.strip())
    return _WRAPPING.sub("", _LABEL.sub("", text))
