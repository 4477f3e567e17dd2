"""The compliance rules file (knowledge/rules/compliance.yaml), validated and compiled."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from copilot.codes import WarningCode
from copilot.knowledge.models import Campaign

AgentCue = Literal[
    "identity_asked",
    "verification_purpose",
    "callback_offered",
    "charged_notice",
    "do_not_call_ack",
    "number_confirmed",
    "privacy",
]
Disclosure = Literal["fee_disclosure", "rules_disclosure", "cancel_method", "trial_terms"]
DISCLOSURES: tuple[Disclosure, ...] = (
    "fee_disclosure",
    "rules_disclosure",
    "cancel_method",
    "trial_terms",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ForbiddenPhrase(_Model):
    phrase: str
    source: str


class WarningText(_Model):
    severity: Literal["low", "medium", "high"]
    message: str
    hint: str | None = None
    hint_source: str | None = None
    #: the hint is this campaign fact instead (product.fee, product.rules, ...)
    hint_from: str | None = None


class ComplianceFile(_Model):
    kind: Literal["compliance"]
    source: str
    agent_cues: dict[AgentCue, list[str]]
    disclosure_defaults: dict[Disclosure, list[list[str]]]
    #: Words showing an agent turn is *about* a disclosure: if the cues did not recognise it as
    #: said, the rules are unsure and the LLM judge (when configured) is asked.
    unsure_cues: dict[Disclosure, list[str]] = Field(default_factory=dict)
    forbidden_phrases: list[ForbiddenPhrase] = Field(min_length=1)
    warnings: dict[WarningCode, WarningText]


class ComplianceRules:
    def __init__(self, spec: ComplianceFile) -> None:
        self.spec = spec
        self.agent_cues = {name: _any(phrases) for name, phrases in spec.agent_cues.items()}
        self.forbidden = [(re.compile(f.phrase), f) for f in spec.forbidden_phrases]
        self._defaults = {
            k: [_any(g) for g in groups] for k, groups in spec.disclosure_defaults.items()
        }
        self.unsure_cues = {item: _any(phrases) for item, phrases in spec.unsure_cues.items()}

    @classmethod
    def load(cls, path: Path) -> ComplianceRules:
        return cls(ComplianceFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))))

    def disclosure_patterns(self, campaign: Campaign, item: Disclosure) -> list[re.Pattern[str]]:
        """All groups must match one turn for `item` to count as said (campaign cues first)."""
        groups = campaign.disclosure_cues.get(item)
        if not groups:
            return self._defaults.get(item, [])
        return [_any_cached(tuple(group)) for group in groups]

    def hint(self, code: str, campaign: Campaign | None) -> str | None:
        text = self.spec.warnings[code]  # type: ignore[index]
        if text.hint_from and campaign and campaign.product:
            fact = campaign.product.fact(text.hint_from.removeprefix("product."))
            if fact is not None:
                return fact
        return text.hint


@functools.lru_cache(maxsize=1024)
def _any_cached(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """Campaign cues compiled once per distinct phrase group, whichever campaign object (each
    knowledge refresh makes new ones) asks for them."""
    return _any(list(phrases))


def _any(phrases: list[str]) -> re.Pattern[str]:
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile("|".join(f"(?:{p})" for p in ordered))
