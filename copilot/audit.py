"""The audit log in the data dir: agents' feedback on suggestions, for quality review."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    at            TEXT NOT NULL,
    call_id       TEXT NOT NULL,
    suggestion_id TEXT NOT NULL,
    action        TEXT NOT NULL,
    text          TEXT
);
"""


class AuditLog:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    async def feedback(
        self, call_id: str, suggestion_id: str, action: str, text: str | None
    ) -> None:
        await asyncio.to_thread(self._insert, call_id, suggestion_id, action, text)

    def feedback_for(self, call_id: str) -> list[tuple[str, str, str | None]]:
        with self._lock:
            return self._db.execute(
                "SELECT suggestion_id, action, text FROM feedback WHERE call_id = ? ORDER BY rowid",
                (call_id,),
            ).fetchall()

    def close(self) -> None:
        self._db.close()

    def _insert(self, call_id: str, suggestion_id: str, action: str, text: str | None) -> None:
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._lock:
            self._db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?, ?)",
                (at, call_id, suggestion_id, action, text),
            )
