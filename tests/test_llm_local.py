"""A real local model (optional): llama.cpp's server from the `local-llm` extra, with the GGUF
that `copilot llm fetch-model` verified. Skipped, with the reason, wherever either is absent."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from copilot.app import Copilot
from copilot.llm import local_model
from copilot.llm.claims import claims, stated, supported
from copilot.settings import LLMSettings, Settings
from tests.conftest import free_port

MODEL = Path(os.environ.get("COPILOT_LOCAL_MODEL", "models/qwen.gguf"))

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        importlib.util.find_spec("xllamacpp") is None,
        reason="the local-llm extra is not installed (uv sync --extra local-llm)",
    ),
    pytest.mark.skipif(
        not MODEL.exists(),
        reason=f"no verified model at {MODEL} (copilot llm fetch-model; COPILOT_LOCAL_MODEL)",
    ),
]

QUESTIONS = ["你们怎么知道我电话的", "这个铃音盒一个月多少钱", "我不想要了怎么取消"]


async def test_a_real_model_rephrases_and_nothing_unchecked_gets_through(tmp_path: Path) -> None:
    port = free_port()
    server = local_model.serve(MODEL, port)
    llm = LLMSettings(
        base_url=f"http://127.0.0.1:{port}/v1",
        model=local_model.MODEL_NAME,
        rephrase_timeout_s=60,
    )
    try:
        async with Copilot(Settings(data_dir=tmp_path, llm=llm)) as app:
            later: list[dict] = []

            async def deliver(messages: list[dict]) -> None:
                later.extend(messages)

            await app.start_call("local", "ringback-box", "outbound")
            for seq, question in enumerate(QUESTIONS, 1):
                await app.turn("local", seq, "customer", question, deliver)
                await app.settle("local")
            assert app.llm is not None
            stats = app.llm.rephraser.stats
            assert stats["asked"] >= 2 and stats["unavailable"] == 0
            campaign = app._campaigns["ringback-box"]
            for message in later:
                item = message["items"][0]
                sources = app.llm.rephraser.sources(item["approved"], campaign).text
                known = stated(sources)
                assert all(supported(c, known) for c in claims(item["text"])), item
    finally:
        del server
