"""The retriever in a process of its own, beside the server's event loop.

A customer turn's search (embedding it, querying Chroma, BM25) is about five milliseconds of
CPU. On a thread it shares the GIL with the event loop, which meanwhile runs the call graphs
of every other call: both run slower than alone and the suggestion waits for both. In its own
process the search runs on the other core, the loop keeps its core, and the two only exchange
the turn's text and a few (entry id, version, score) rows.

The child process holds the only Chroma client of the data dir, so indexing (`sync`) runs there
too. The parent keeps the live entries, so every `Hit` carries the parent's approved wording.
If the child dies (a crash in native code), the next search starts a fresh one, which finds
the index on disk and is synced with the live entries before it answers.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

from copilot.knowledge.models import Answer
from copilot.knowledge.store import LiveEntry
from copilot.retrieval.retriever import Hit, Mode, Retriever, ServedEntries

log = logging.getLogger("copilot.retrieval")

T = TypeVar("T")

#: What a search sends back: (entry id, version, fused score, shown as related).
Row = tuple[str, int, float, bool]


class RetrievalProcess(ServedEntries):
    """`Retriever`'s query and indexing paths, run by one child process."""

    def __init__(self, data_dir: Path, embedding_model: str) -> None:
        super().__init__()
        self._args = (str(data_dir), embedding_model)
        self._pool = self._spawn()
        self._respawning = threading.Lock()

    def _spawn(self) -> ProcessPoolExecutor:
        # spawn, not fork: the parent has threads (aiosqlite, the event loop's executors).
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(1, context, initializer=_open, initargs=self._args)

    # ----- indexing path -------------------------------------------------------------------
    def sync(self, live_answers: list[LiveEntry[Answer]]) -> int:
        """Serve exactly these versions; returns how many entries were re-embedded."""
        changed = self._wait(_sync, live_answers)
        self._live = {e.doc.id: e for e in live_answers}
        return changed

    # ----- query path ----------------------------------------------------------------------
    def search(
        self, text: str, direction: str, *, limit: int = 3, mode: Mode = "hybrid"
    ) -> list[Hit]:
        """`Retriever.search`, waited for (editors' previews; the live path uses `asearch`)."""
        return self._hits(self._wait(_search, text, direction, mode, limit))

    def asearch(
        self, text: str, direction: str, *, mode: Mode = "hybrid", limit: int = 3
    ) -> asyncio.Future[list[Hit]]:
        """The search for a live turn, sent to the child now: await it, or cancel it once it
        is not wanted (a quiet turn), and if it was still queued it never runs."""
        query = (text, direction, mode, limit)
        pool = self._pool
        try:
            rows = asyncio.wrap_future(pool.submit(_search, *query))
        except BrokenProcessPool:  # the child died before this query: the task respawns it
            rows = asyncio.get_running_loop().create_future()
            rows.set_exception(BrokenProcessPool())
        hits = asyncio.ensure_future(self._await_hits(pool, rows, query))
        hits.add_done_callback(_consume)
        return hits

    async def _await_hits(
        self,
        pool: ProcessPoolExecutor,
        rows: asyncio.Future[list[Row]],
        query: tuple[str, str, Mode, int],
    ) -> list[Hit]:
        try:
            return self._hits(await rows)
        except BrokenProcessPool:
            # The child died: a fresh one answers this query, and those after it.
            await asyncio.to_thread(self._respawn, pool)
            return self._hits(await asyncio.wrap_future(self._pool.submit(_search, *query)))

    def _wait(self, work: Callable[..., T], *args: Any) -> T:
        pool = self._pool
        try:
            return pool.submit(work, *args).result()
        except BrokenProcessPool:
            self._respawn(pool)
            return self._pool.submit(work, *args).result()

    def _respawn(self, broken: ProcessPoolExecutor) -> None:
        with self._respawning:
            if self._pool is not broken:  # another query already started the new one
                return
            log.error("the retrieval process died; starting a new one")
            broken.shutdown(wait=False, cancel_futures=True)
            pool = self._spawn()
            pool.submit(_sync, list(self._live.values())).result()
            self._pool = pool

    def _hits(self, rows: list[Row]) -> list[Hit]:
        """Rows become hits with the parent's wording; an entry retired since the child answered
        is dropped rather than shown."""
        return [
            Hit(answer=live.doc, version=version, score=score, related=related)
            for entry_id, version, score, related in rows
            if (live := self._live.get(entry_id)) is not None and live.version == version
        ]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _consume(search: asyncio.Future[list[Hit]]) -> None:
    """A search nobody awaited (its turn turned out quiet) must not log "exception never
    retrieved"; one that is awaited raises its exception there as usual."""
    if not search.cancelled():
        search.exception()


# ----- the child process ---------------------------------------------------------------------
#: The child's one retriever, opened by the pool's initializer (a process has one of these, as
#: the server process has one Copilot).
_retriever: Retriever | None = None


def _open(data_dir: str, embedding_model: str) -> None:
    global _retriever
    # Ctrl-C reaches the whole process group: the parent decides when this process stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _retriever = Retriever.open(Path(data_dir), embedding_model)
    gc.freeze()  # the model and index live as long as the process: keep them out of full GCs


def _child() -> Retriever:
    if _retriever is None:
        raise RuntimeError("the retrieval process was not opened")
    return _retriever


def _sync(live_answers: list[LiveEntry[Answer]]) -> int:
    changed = _child().sync(live_answers)
    gc.freeze()
    return changed


def _search(text: str, direction: str, mode: Mode, limit: int) -> list[Row]:
    return [
        (h.answer.id, h.version, h.score, h.related)
        for h in _child().search(text, direction, mode=mode, limit=limit)
    ]
