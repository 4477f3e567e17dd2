"""Where call state lives between chunks: LangGraph checkpointers chosen by settings.

The embedded default is SQLite in the data dir, so a restarted server resumes every open call.
Several server instances share call state by pointing `COPILOT_CHECKPOINTER_URL` at PostgreSQL
(LangGraph's Postgres saver; install the `postgres` extra).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver

from copilot.settings import Settings


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver]:
    url = settings.checkpointer_url
    if url == "sqlite":
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with aiosqlite.connect(settings.data_dir / "calls.sqlite3") as conn:
            # WAL with synchronous=NORMAL: a commit survives a crash of the server process, and
            # no longer waits for an fsync on every chunk of every call.
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            saver = AsyncSqliteSaver(conn)
            await saver.setup()
            yield saver
    elif url.startswith(("postgres://", "postgresql://")):
        try:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        except ImportError as exc:
            raise RuntimeError("a PostgreSQL checkpointer needs: uv sync --extra postgres") from exc
        async with AsyncPostgresSaver.from_conn_string(url) as saver:
            await saver.setup()
            yield saver
    else:
        raise ValueError(
            f"COPILOT_CHECKPOINTER_URL: expected 'sqlite' or a postgres URL, got {url!r}"
        )
