"""Recorded dialogues for replay (contract §5), one JSON object per line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class RecordedTurn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    speaker: Literal["agent", "customer"]
    text: str
    expect_answer: list[str] | None = None
    expect_no_answer: bool = False


class Expectations(BaseModel):
    model_config = ConfigDict(extra="ignore")
    warnings: list[str] | None = None
    disposition: str | None = None
    refusal_reason: str | None = None


class Dialogue(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    campaign: str | None = None
    direction: Literal["outbound", "inbound"] = "outbound"
    turns: list[RecordedTurn] = Field(default_factory=list)
    expect: Expectations = Field(default_factory=Expectations)


def load_dialogues(path: Path) -> list[Dialogue]:
    dialogues = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            dialogues.append(Dialogue.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    return dialogues
