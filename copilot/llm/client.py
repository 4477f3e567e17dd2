"""Talking to any OpenAI-compatible server, with limits that protect live calls.

The LLM only ever adds a second opinion, so this client gives up rather than waits: a deadline
per request, a cap on requests in flight (beyond it a request is refused, not queued), and a
circuit breaker that stops asking a failing server for a while. Answers are bounded by the
prompt's max_tokens; streamed (a setting), a runaway one is also cut off at the length the guard
would reject anyway.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import openai

from copilot.llm.prompts import PromptTemplate
from copilot.settings import LLMSettings


class LLMUnavailable(Exception):
    """No answer this time (breaker open, busy, timed out, server error); the caller goes on."""


class CircuitBreaker:
    """Closed until `failures` requests fail in a row; then open for `cooldown` seconds; then
    one trial request (half-open) decides whether it closes again."""

    def __init__(
        self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.cooldown = cooldown
        self.clock = clock
        self.consecutive = 0
        self.opened_at: float | None = None
        self.trial_running = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.cooldown else "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self.trial_running:
            self.trial_running = True
            return True
        return False

    def success(self) -> None:
        self.consecutive, self.opened_at, self.trial_running = 0, None, False

    def failure(self) -> None:
        self.consecutive += 1
        self.trial_running = False
        if self.opened_at is not None or self.consecutive >= self.failures:
            self.opened_at = self.clock()


class LLMClient:
    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self._openai = openai.AsyncOpenAI(
            base_url=settings.base_url, api_key=settings.api_key, max_retries=0
        )
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_s)
        self._in_flight = 0
        self.stats: Counter[str] = Counter()

    async def complete(
        self, prompt: PromptTemplate, *, timeout: float, max_chars: int = 2000, **values: str
    ) -> str:
        """The model's whole answer to `prompt` filled with `values`, or LLMUnavailable."""
        if self._in_flight >= self.settings.max_concurrency:
            self.stats["busy"] += 1
            raise LLMUnavailable("too many requests in flight")
        if not self.breaker.allow():
            self.stats["breaker_open"] += 1
            raise LLMUnavailable("circuit breaker open")
        self._in_flight += 1
        try:
            async with asyncio.timeout(timeout):
                if self.settings.stream:
                    text = await self._stream(prompt, values, max_chars)
                else:
                    text = await self._whole(prompt, values)
        except TimeoutError as exc:
            self._failed("timeout")
            raise LLMUnavailable(f"no answer within {timeout:.1f}s") from exc
        except openai.OpenAIError as exc:
            self._failed("error")
            raise LLMUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except asyncio.CancelledError:
            self.breaker.trial_running = False  # a cancelled trial proves nothing either way
            self.stats["cancelled"] += 1
            raise
        finally:
            self._in_flight -= 1
        self.breaker.success()
        self.stats["ok"] += 1
        return text

    async def _whole(self, prompt: PromptTemplate, values: dict[str, str]) -> str:
        response = await self._openai.chat.completions.create(
            model=self.settings.model,
            messages=prompt.messages(**values),  # type: ignore[arg-type]
            temperature=prompt.temperature,
            max_tokens=prompt.max_tokens,
        )
        return (response.choices[0].message.content or "") if response.choices else ""

    async def _stream(self, prompt: PromptTemplate, values: dict[str, str], max_chars: int) -> str:
        stream = await self._openai.chat.completions.create(
            model=self.settings.model,
            messages=prompt.messages(**values),  # type: ignore[arg-type]
            temperature=prompt.temperature,
            max_tokens=prompt.max_tokens,
            stream=True,
        )
        parts: list[str] = []
        size = 0
        try:
            async for chunk in stream:
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    parts.append(delta)
                    size += len(delta)
                    if size > max_chars:
                        break  # the guard would reject it: stop paying for it
        finally:
            await stream.close()
        return "".join(parts)

    def _failed(self, kind: str) -> None:
        self.breaker.failure()
        self.stats[kind] += 1

    async def close(self) -> None:
        await self._openai.close()
