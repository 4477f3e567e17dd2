"""Prompt templates: versioned files in prompts/, never strings in code.

A template is front matter (id, version, inputs, which inputs are untrusted, sampling) and two
sections, `## system` and `## user`, with `{{name}}` placeholders. Every value is data: angle
brackets are made full-width so no value can close the tag it sits in, and untrusted values
(what a caller said) may only appear in the user message.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The project's prompt files (next to copilot/, knowledge/).
PROMPTS_DIR = Path(__file__).resolve().parent.parent.parent / "prompts"

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_SECTIONS = re.compile(r"^## (system|user)\s*$", re.MULTILINE)


class PromptTemplate(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    version: int = Field(ge=1)
    purpose: str
    inputs: list[str]
    untrusted: list[str] = Field(default_factory=list)
    temperature: float = 0.0
    max_tokens: int = Field(default=200, ge=1)
    system: str
    user: str

    @model_validator(mode="after")
    def _placeholders_declared(self) -> PromptTemplate:
        used = set(_PLACEHOLDER.findall(self.system)) | set(_PLACEHOLDER.findall(self.user))
        if used != set(self.inputs):
            raise ValueError(f"placeholders {sorted(used)} differ from inputs {self.inputs}")
        if leaked := set(_PLACEHOLDER.findall(self.system)) & set(self.untrusted):
            raise ValueError(f"untrusted inputs in the system message: {sorted(leaked)}")
        return self

    @property
    def name(self) -> str:
        return f"{self.id}@{self.version}"

    def messages(self, **values: str) -> list[dict[str, str]]:
        if set(values) != set(self.inputs):
            raise ValueError(f"{self.name} needs {self.inputs}, got {sorted(values)}")

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: _as_data(values[m.group(1)]), text)

        return [
            {"role": "system", "content": fill(self.system)},
            {"role": "user", "content": fill(self.user)},
        ]


def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> PromptTemplate:
    """`load_prompt("rephrase.v1")` reads prompts/rephrase.v1.md."""
    text = (directory / f"{name}.md").read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    parts = _SECTIONS.split(body)
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    return PromptTemplate.model_validate({**yaml.safe_load(front), **sections})


def _as_data(value: str) -> str:
    return value.replace("<", "＜").replace(">", "＞").strip()
