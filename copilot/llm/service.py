"""The optional LLM as one object the app holds: its client, the rephraser and the judge."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot.llm.client import LLMClient
from copilot.llm.guard import Guard
from copilot.llm.judge import Judge
from copilot.llm.rephrase import Rephraser
from copilot.settings import LLMSettings


@dataclass
class LLMService:
    client: LLMClient
    rephraser: Rephraser
    judge: Judge

    @classmethod
    def connect(
        cls, settings: LLMSettings, rules_dir: Path, forbidden: list[re.Pattern[str]]
    ) -> LLMService:
        client = LLMClient(settings)
        guard = Guard.load(rules_dir / "llm_guard.yaml", forbidden)
        return cls(client, Rephraser(client, guard), Judge(client))

    @property
    def settings(self) -> LLMSettings:
        return self.client.settings

    def stats(self) -> dict[str, Any]:
        """For /healthz: what was asked, what passed, why rephrasings were dropped."""
        return {
            "model": self.client.settings.model,
            "breaker": self.client.breaker.state,
            "requests": dict(self.client.stats),
            "rephrase": dict(self.rephraser.stats),
            "guard_rejections": dict(self.rephraser.reasons),
            "judge": dict(self.judge.stats),
        }

    async def close(self) -> None:
        await self.client.close()
