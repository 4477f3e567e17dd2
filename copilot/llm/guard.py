"""The guard: nothing an LLM writes reaches an agent unless the approved sources say it too.

Checked, in order of harm: numbers, prices, dates, durations and phone numbers (by value, see
`claims`), time words, promises, product names, the forbidden phrases of the compliance rules,
words out of role (an LLM that obeyed the customer), the topic (enough of the text must come
from the sources), and the length. The claim words are data: knowledge/rules/llm_guard.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from copilot.llm.claims import claims, normalise, stated, supported
from copilot.privacy import PLACEHOLDERS
from copilot.retrieval.text import plain

_CJK_PAIR = re.compile(r"(?=([\u4e00-\u9fff]{2}))")
_LATIN_WORD = re.compile(r"[a-z]{3,}")


class GuardFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["llm_guard"]
    source: str
    time_words: list[list[str]]
    promises: list[list[str]]
    products: list[str]
    product_suffixes: list[str]
    generic_prefixes: list[str]
    off_role: list[str]
    max_foreign_words: int = Field(ge=0)
    min_overlap: float = Field(ge=0, le=1)
    courtesy: list[str]
    max_ratio: float = Field(gt=1)
    max_extra_chars: int = Field(ge=0)
    max_chars: int = Field(gt=0)
    min_chars: int = Field(ge=1)


@dataclass
class Verdict:
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons


@dataclass
class Sources:
    """What a rephrasing may draw on: the approved answer, and the campaign's product facts."""

    approved: str
    facts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join([self.approved, *self.facts])


class Guard:
    def __init__(self, spec: GuardFile, forbidden: list[re.Pattern[str]]) -> None:
        self.spec = spec
        self.forbidden = forbidden
        self.time_words = [[re.compile(p) for p in group] for group in spec.time_words]
        self.promises = [[re.compile(p) for p in group] for group in spec.promises]
        self.off_role = [re.compile(p) for p in spec.off_role]
        self.courtesy = set(spec.courtesy)

    @classmethod
    def load(cls, path: Path, forbidden: list[re.Pattern[str]]) -> Guard:
        spec = GuardFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        return cls(spec, forbidden)

    def check(self, text: str, sources: Sources, customer: str = "") -> Verdict:
        verdict = Verdict()
        reasons = verdict.reasons
        said, allowed = plain(text), plain(sources.text)
        source_claims = stated(sources.text)
        for claim in claims(text):
            if not supported(claim, source_claims):
                reasons.append(f"number not in sources: {claim}")
        for group in self.time_words:
            reasons += _unsupported(group, said, allowed, "time word")
        for group in self.promises:
            reasons += _unsupported(group, said, allowed, "promise")
        reasons += self._products(said, allowed)
        if any(p.search(said) for p in self.forbidden):
            reasons.append("forbidden phrase")
        spoken = normalise(text)
        for pattern in self.off_role:
            if (found := pattern.search(spoken)) and not pattern.search(normalise(sources.text)):
                reasons.append(f"out of role: {found.group()}")
        source_words = set(_LATIN_WORD.findall(normalise(sources.text)))
        foreign = [w for w in _LATIN_WORD.findall(spoken) if w not in source_words]
        if len(foreign) > self.spec.max_foreign_words:
            reasons.append(
                f"out of role: words not in the sources' language ({' '.join(foreign[:4])})"
            )
        if any(p in text for p in PLACEHOLDERS):
            reasons.append("masked placeholder echoed")
        overlap = self.overlap(said, allowed + plain(customer))
        if overlap < self.spec.min_overlap:
            reasons.append(f"off topic: {overlap:.2f} of its words are in the sources")
        reasons += self._length(said, plain(sources.approved))
        return verdict

    def overlap(self, said: str, allowed: str) -> float:
        pairs = [p for p in _CJK_PAIR.findall(said) if p not in self.courtesy]
        if len(pairs) < 3:
            return 1.0
        known = set(_CJK_PAIR.findall(allowed))
        return sum(p in known for p in pairs) / len(pairs)

    def _products(self, said: str, allowed: str) -> list[str]:
        reasons = [
            f"product not in sources: {p}"
            for p in self.spec.products
            if plain(p) in said and plain(p) not in allowed
        ]
        for suffix in self.spec.product_suffixes:
            for match in re.finditer(re.escape(suffix), said):
                prefix = said[max(0, match.start() - 2) : match.start()]
                if len(prefix) < 2 or prefix in allowed:
                    continue
                if any(prefix.endswith(g) for g in self.spec.generic_prefixes):
                    continue
                reasons.append(f"product not in sources: {prefix}{suffix}")
        return reasons

    def _length(self, said: str, approved: str) -> list[str]:
        spec = self.spec
        stretched = max(int(len(approved) * spec.max_ratio), len(approved) + spec.max_extra_chars)
        limit = min(spec.max_chars, stretched)
        if len(said) > limit:
            return [f"too long: {len(said)} characters for a source of {len(approved)}"]
        if len(said) < spec.min_chars:
            return ["too short"]
        return []


def _unsupported(group: list[re.Pattern[str]], said: str, allowed: str, kind: str) -> list[str]:
    found = next((m.group() for p in group if (m := p.search(said))), None)
    if found is None or any(p.search(allowed) for p in group):
        return []
    return [f"{kind} not in sources: {found}"]
