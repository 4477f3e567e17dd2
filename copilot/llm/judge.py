"""The LLM as a judge where the rules are unsure, its verdicts validated before they count.

- A disclosure said in words the cues do not know: the judge must quote the agent's own words,
  and the quote must be in the turn and agree with the product facts (numbers by value).
- A second opinion on the disposition: the code must be one the campaign allows, and the
  evidence must name turns of this call.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from copilot.codes import DISPOSITION_LABELS, DISPOSITION_MEANINGS
from copilot.knowledge.models import Campaign
from copilot.llm.claims import claims, stated, supported
from copilot.llm.client import LLMClient, LLMUnavailable
from copilot.llm.prompts import PromptTemplate, load_prompt
from copilot.privacy import redact
from copilot.retrieval.text import plain

_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
MIN_QUOTE_CHARS = 4


@dataclass
class SecondOpinion:
    code: str
    evidence: list[int]
    rationale: str

    def applied_to(self, proposal: dict[str, Any]) -> dict[str, Any]:
        """The `disposition` message with this opinion beside the rules' code, which stands: a
        disagreement leads the alternatives and lowers the confidence."""
        agrees = self.code == proposal["code"]
        opinion = {
            "code": self.code,
            "label": DISPOSITION_LABELS[self.code],
            "agrees": agrees,
            "evidence": self.evidence,
            "rationale": self.rationale,
        }
        result = {**proposal, "second_opinion": opinion}
        if not agrees:
            confidence = round(proposal["confidence"] * 0.8, 2)
            others = [a for a in proposal["alternatives"] if a["code"] != self.code]
            lead = {
                "code": self.code,
                "label": opinion["label"],
                "confidence": round(1 - confidence, 2),
            }
            result.update(confidence=confidence, alternatives=[lead, *others])
        return result


class Judge:
    def __init__(self, client: LLMClient) -> None:
        self.client = client
        self.disclosure_prompt = load_prompt("judge_disclosure.v1")
        self.disposition_prompt = load_prompt("judge_disposition.v1")
        self.stats: Counter[str] = Counter()

    async def disclosure(
        self, item: str, requirement: str, agent_turn: str, campaign: Campaign
    ) -> str | None:
        """The agent's words that state `item`, if the judge finds them and they hold up."""
        facts = campaign.fact_lines()
        answer = await self._ask(
            self.disclosure_prompt,
            item=item,
            requirement=requirement,
            facts="\n".join(facts) or "（无）",
            agent_turn=redact(agent_turn),
        )
        if answer is None or answer.get("said") is not True:
            return None
        quote = answer.get("quote")
        if not isinstance(quote, str) or len(plain(quote)) < MIN_QUOTE_CHARS:
            return self._invalid("disclosure quote missing")
        if plain(quote) not in plain(agent_turn):
            return self._invalid("disclosure quote not in the turn")
        known = stated("\n".join(facts))
        if not all(supported(c, known) for c in claims(quote)):
            return self._invalid("disclosure contradicts the product facts")
        self.stats["disclosure_confirmed"] += 1
        return quote

    async def disposition(
        self, allowed: frozenset[str], proposal: dict[str, Any], turns: list[dict[str, Any]]
    ) -> SecondOpinion | None:
        """Another reading of the whole call; None when unavailable or not a valid answer."""
        codes = "\n".join(
            f"{c}（{DISPOSITION_LABELS[c]}）：{DISPOSITION_MEANINGS[c]}" for c in sorted(allowed)
        )
        transcript = "\n".join(
            f"[{t['seq']}] {'坐席' if t['speaker'] == 'agent' else '客户'}：{redact(t['text'])}"
            for t in turns
        )
        answer = await self._ask(
            self.disposition_prompt,
            codes=codes,
            proposal=f"{proposal['code']}（{proposal['label']}）：{proposal['rationale']}",
            transcript=transcript,
        )
        if answer is None:
            return None
        code, evidence = answer.get("code"), answer.get("evidence", [])
        if code not in allowed:
            return self._invalid("disposition code not allowed")
        seqs = {t["seq"] for t in turns}
        if not isinstance(evidence, list) or not all(e in seqs for e in evidence):
            return self._invalid("disposition evidence names no turn of the call")
        rationale = str(answer.get("rationale", ""))[:200]
        self.stats["second_opinion"] += 1
        return SecondOpinion(code, sorted(set(evidence)), rationale)

    async def _ask(self, prompt: PromptTemplate, **values: str) -> dict[str, Any] | None:
        try:
            raw = await self.client.complete(
                prompt, timeout=self.client.settings.judge_timeout_s, **values
            )
        except LLMUnavailable:
            self.stats["unavailable"] += 1
            return None
        found = _OBJECT.search(raw)
        try:
            answer = json.loads(found.group()) if found else None
        except json.JSONDecodeError:
            answer = None
        if not isinstance(answer, dict):
            return self._invalid("not a JSON object")
        return answer

    def _invalid(self, why: str) -> None:
        self.stats[f"invalid: {why}"] += 1
        return None
