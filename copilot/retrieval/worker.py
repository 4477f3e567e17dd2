"""The retriever in a process of its own, beside the server's event loop.

A customer turn's search (embedding it, querying Chroma, BM25) is about five milliseconds of
CPU. On a thread it shares the GIL with the event loop, which meanwhile runs the call graphs
of every other call: both run slower than alone and the suggestion waits for both. In its own
process the search runs on the other core, the loop keeps its core, and the two only exchange
the turn's text and a few (entry id, version, score) rows.

Two channels join them. Live searches go over a socket that the event loop itself reads and
writes: no executor threads in between, because under load every thread hop waits for the GIL
that the loop holds. Each query carries an id, so replies are matched to their turns and a
query the child has not started yet can be cancelled (its turn turned out quiet). A prefetch
(the search of an interim hypothesis) waits until no live search does, unless a final chunk
claims it (`prioritise`). Indexing
(`sync`) goes over a blocking pipe: it runs at start-up, before the loop serves anything, and
later from a worker thread.

The child holds the data dir's only Chroma client, so indexing runs there too. The parent keeps
the live entries, so every `Hit` carries the parent's approved wording. If the child dies (a
crash in native code), a fresh one is started, finds the index on disk, and is synced with the
live entries before it answers the searches that were waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import multiprocessing
import pickle
import signal
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Literal, cast

from copilot.knowledge.models import Answer
from copilot.knowledge.store import LiveEntry
from copilot.retrieval.retriever import Hit, Mode, Retriever, ServedEntries

log = logging.getLogger("copilot.retrieval")

#: What a search sends back: (entry id, version, fused score, shown as related).
Row = tuple[str, int, float, bool]
#: A query: (text, direction, mode, limit).
Query = tuple[str, str, Mode, int]

#: `multiprocessing.connection`'s frame header (a signed 32-bit length), so the child reads and
#: writes the query socket with a plain `Connection`. Its queries and rows are a few hundred bytes.
_HEADER = struct.Struct("!i")


class RetrievalError(Exception):
    """The child could not answer (the message is the child's exception)."""


class RetrievalProcess(ServedEntries):
    """`Retriever`'s query and indexing paths, run by one child process."""

    def __init__(self, data_dir: Path, embedding_model: str) -> None:
        super().__init__()
        self._args = (str(data_dir), embedding_model)
        self._child = _Child(self._args)
        self._respawning = threading.Lock()
        self._ids = itertools.count(1)
        #: sent and not yet answered, by query id
        self._waiting: dict[int, _Search] = {}
        #: every search not yet settled, by the future its caller holds
        self._searches: dict[asyncio.Future[list[Hit]], _Search] = {}
        #: searches made while there is no link to a child yet (first use, or the child died)
        self._backlog: list[_Search] = []
        self._connecting: asyncio.Task[None] | None = None
        self._closed = False

    # ----- indexing path -------------------------------------------------------------------
    def sync(self, live_answers: list[LiveEntry[Answer]]) -> int:
        """Serve exactly these versions; returns how many entries were re-embedded."""
        child = self._child
        try:
            changed = child.call(("sync", live_answers))
        except (EOFError, OSError):
            self._respawn(child)
            changed = self._child.call(("sync", live_answers))
        self._live = {e.doc.id: e for e in live_answers}
        return changed

    # ----- query path ----------------------------------------------------------------------
    def asearch(
        self,
        text: str,
        direction: str,
        *,
        mode: Mode = "hybrid",
        limit: int = 3,
        prefetch: bool = False,
    ) -> asyncio.Future[list[Hit]]:
        """The search for this turn, sent to the child now: await it, or cancel it once it is
        not wanted (a quiet turn), and if the child had not started it, it never runs. A
        `prefetch` runs only when no other search waits."""
        if self._closed:
            raise RuntimeError("the retrieval process is closed")
        hits: asyncio.Future[list[Hit]] = asyncio.get_running_loop().create_future()
        search = _Search((text, direction, mode, limit), hits, "prefetch" if prefetch else "search")
        hits.add_done_callback(partial(self._settled, search))
        self._searches[hits] = search
        self._send(search)
        return hits

    def prioritise(self, hits: asyncio.Future[list[Hit]]) -> None:
        """A prefetch is now a live turn's search: the child runs it before other prefetches."""
        search = self._searches.get(hits)
        if search is None or hits.done():
            return
        search.kind = "search"
        if search.sent is not None and not search.sent[0].lost:
            search.sent[0].send(("search", search.sent[1]))

    def _send(self, search: _Search) -> None:
        link = self._child.link
        if link is None or link.lost:
            self._backlog.append(search)
            if self._connecting is None:
                self._connecting = asyncio.ensure_future(self._connect())
            return
        search.sent = (link, next(self._ids))
        self._waiting[search.sent[1]] = search
        link.send((search.kind, search.sent[1], *search.query))

    def _settled(self, search: _Search, hits: asyncio.Future[list[Hit]]) -> None:
        self._searches.pop(hits, None)
        if not hits.cancelled():
            # A search nobody awaited (its turn turned out quiet) must not log "exception
            # never retrieved"; one that is awaited raises its exception there as usual.
            hits.exception()
        elif search.sent is not None:
            link, query_id = search.sent
            if self._waiting.pop(query_id, None) is not None and not link.lost:
                link.send(("cancel", query_id))

    def _reply(self, query_id: int, rows: list[Row] | None, failure: str | None) -> None:
        search = self._waiting.pop(query_id, None)
        if search is None or search.hits.done():
            return
        if failure is not None:
            search.hits.set_exception(RetrievalError(failure))
        else:
            search.hits.set_result(self._hits(rows or []))

    def _lost(self) -> None:
        """The child's socket closed: it died. What it had not answered waits for the next."""
        if self._closed:
            return
        waiting, self._waiting = list(self._waiting.values()), {}
        for search in waiting:
            if not search.hits.done():
                self._send(search)

    async def _connect(self) -> None:
        """Link the event loop to the child (replacing a dead one), then send the backlog."""
        try:
            child = self._child
            if child.link is not None:  # it had a link, which was lost: the child died
                await asyncio.to_thread(self._respawn, child)
            child = self._child
            _, link = await asyncio.get_running_loop().create_connection(
                partial(_Link, self._reply, self._lost), sock=child.queries
            )
            child.link = link
        except Exception as exc:
            log.exception("cannot reach the retrieval process")
            failed, self._backlog = self._backlog, []
            for search in failed:
                if not search.hits.done():
                    search.hits.set_exception(RetrievalError(f"no retrieval process: {exc}"))
            return
        finally:
            self._connecting = None
        backlog, self._backlog = self._backlog, []
        for search in backlog:
            if not search.hits.done():
                self._send(search)

    def _respawn(self, broken: _Child) -> None:
        with self._respawning:
            if self._child is not broken:  # another caller already started the new one
                return
            log.error("the retrieval process died; starting a new one")
            broken.stop()
            child = _Child(self._args)
            child.call(("sync", list(self._live.values())))
            self._child = child

    def _hits(self, rows: list[Row]) -> list[Hit]:
        """Rows become hits with the parent's wording; an entry retired since the child answered
        is dropped rather than shown."""
        return [
            Hit(answer=live.doc, version=version, score=score, related=related)
            for entry_id, version, score, related in rows
            if (live := self._live.get(entry_id)) is not None and live.version == version
        ]

    @property
    def pid(self) -> int | None:
        """The child's process id (for operators and tests)."""
        return self._child.process.pid

    def close(self) -> None:
        self._closed = True
        if self._connecting is not None:
            self._connecting.cancel()
        self._child.stop()
        for search in [*self._waiting.values(), *self._backlog]:
            search.hits.cancel()
        self._waiting.clear()
        self._backlog.clear()


@dataclass
class _Search:
    query: Query
    hits: asyncio.Future[list[Hit]]
    kind: Literal["search", "prefetch"]
    #: the link it was last sent on, and its id there
    sent: tuple[_Link, int] | None = None


class _Child:
    """One child process and the parent's ends of its two channels."""

    def __init__(self, args: tuple[str, str]) -> None:
        # spawn, not fork: the parent has threads (aiosqlite, the event loop's executors).
        context = multiprocessing.get_context("spawn")
        self.control, control_end = context.Pipe()
        self.queries, queries_end = socket.socketpair()
        self.process = context.Process(
            target=_serve,
            args=(*args, control_end, queries_end),
            name="copilot-retrieval",
            daemon=True,
        )
        self.process.start()
        control_end.close()  # the child holds its own copies: EOF here means it is gone
        queries_end.close()
        self._calling = threading.Lock()
        #: the event loop's end of `queries`, once a search connected it
        self.link: _Link | None = None

    def call(self, request: tuple[Any, ...]) -> Any:
        """One request on the control pipe, waited for (EOFError or OSError: the child died)."""
        with self._calling:
            self.control.send(request)
            ok, value = self.control.recv()
        if not ok:
            raise RetrievalError(value)
        return value

    def stop(self) -> None:
        with contextlib.suppress(OSError), self._calling:  # OSError: it is already gone
            self.control.send(("stop",))
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.control.close()
        if self.link is not None and not self.link.lost:
            self.link.close()
        self.queries.close()


class _Link(asyncio.Protocol):
    """The event loop's end of the query socket: frames out, replies handed back by id."""

    def __init__(
        self,
        on_reply: Callable[[int, list[Row] | None, str | None], None],
        on_lost: Callable[[], None],
    ) -> None:
        self._on_reply = on_reply
        self._on_lost = on_lost
        self._buffer = bytearray()
        self._transport: asyncio.WriteTransport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.WriteTransport, transport)  # asyncio's or uvloop's

    def send(self, message: tuple[Any, ...]) -> None:
        """Buffered by the transport: a stalled child never blocks the loop."""
        assert self._transport is not None
        body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._transport.write(_HEADER.pack(len(body)) + body)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer)
            end = _HEADER.size + size
            if len(self._buffer) < end:
                return
            reply = pickle.loads(self._buffer[_HEADER.size : end])  # from our own child
            del self._buffer[:end]
            self._on_reply(*reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._on_lost()

    def close(self) -> None:
        self.lost = True  # closed on purpose: nothing is resent
        if self._transport is not None:
            with contextlib.suppress(RuntimeError):  # its event loop is already closed
                self._transport.close()


# ----- the child process ---------------------------------------------------------------------
def _serve(data_dir: str, embedding_model: str, control: Connection, sock: socket.socket) -> None:
    """The child's loop: control requests as they come; searches one at a time, live ones
    before prefetches, oldest first, after reading every message waiting, so that a cancel or
    a promotion that arrived in time is honoured."""
    # Ctrl-C reaches the whole process group: the parent decides when this process stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    retriever = Retriever.open(Path(data_dir), embedding_model)
    gc.freeze()  # the model and index live as long as the process: keep them out of full GCs
    queries = Connection(sock.detach())
    live: dict[int, Query] = {}
    spare: dict[int, Query] = {}  # prefetches
    try:
        while True:
            ready = wait([control, queries], timeout=0 if live or spare else None)
            if control in ready:
                request = control.recv()
                if request[0] == "stop":
                    return
                control.send(_control(retriever, request))
            while queries in ready and queries.poll(0):
                kind, query_id, *query = queries.recv()
                if kind == "cancel":
                    live.pop(query_id, None)
                    spare.pop(query_id, None)
                elif not query:  # a prefetch promoted to a live search
                    if query_id in spare:
                        live[query_id] = spare.pop(query_id)
                else:
                    (live if kind == "search" else spare)[query_id] = tuple(query)  # type: ignore[assignment]
            queue = live or spare
            if queue:
                query_id = next(iter(queue))
                queries.send((query_id, *_search(retriever, queue.pop(query_id))))
    except (EOFError, BrokenPipeError):
        return  # the parent is gone


def _control(retriever: Retriever, request: tuple[Any, ...]) -> tuple[bool, Any]:
    kind, *args = request
    try:
        if kind != "sync":
            raise ValueError(f"unknown request {kind!r}")
        changed = retriever.sync(*args)
        gc.freeze()
        return True, changed
    except Exception as exc:
        log.exception("retrieval request %s failed", kind)
        return False, f"{type(exc).__name__}: {exc}"


def _search(retriever: Retriever, query: Query) -> tuple[list[Row] | None, str | None]:
    text, direction, mode, limit = query
    try:
        hits = retriever.search(text, direction, mode=mode, limit=limit)
    except Exception as exc:
        log.exception("search failed")
        return None, f"{type(exc).__name__}: {exc}"
    return [(h.answer.id, h.version, h.score, h.related) for h in hits], None
