"""The audit log in the data dir, for quality review: agents' feedback on suggestions, and each
ended call's proposed and confirmed disposition."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS call_results (
    call_id      TEXT PRIMARY KEY,
    ended_at     TEXT NOT NULL,
    proposed     TEXT NOT NULL,
    disposition  TEXT NOT NULL,
    warnings     TEXT NOT NULL,
    confirmed    TEXT,
    confirmed_at TEXT
);
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

    async def call_ended(
        self, call_id: str, disposition: dict[str, Any], warnings: list[str]
    ) -> None:
        await asyncio.to_thread(
            self._write,
            "INSERT INTO call_results (call_id, ended_at, proposed, disposition, warnings) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(call_id) DO NOTHING",
            (
                call_id,
                _now(),
                disposition["code"],
                json.dumps(disposition, ensure_ascii=False),
                json.dumps(warnings),
            ),
        )

    async def confirm(self, call_id: str, code: str) -> None:
        await asyncio.to_thread(
            self._write,
            "UPDATE call_results SET confirmed = ?, confirmed_at = ? WHERE call_id = ?",
            (code, _now(), call_id),
        )

    def call_result(self, call_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT ended_at, proposed, disposition, warnings, confirmed, confirmed_at "
                "FROM call_results WHERE call_id = ?",
                (call_id,),
            ).fetchone()
        if row is None:
            return None
        ended_at, proposed, disposition, warnings, confirmed, confirmed_at = row
        return {
            "ended_at": ended_at,
            "proposed": json.loads(disposition),
            "warnings": json.loads(warnings),
            "confirmed": confirmed,
            "confirmed_at": confirmed_at,
            "final": confirmed or proposed,
            "overridden": confirmed is not None and confirmed != proposed,
        }

    def close(self) -> None:
        self._db.close()

    def _insert(self, call_id: str, suggestion_id: str, action: str, text: str | None) -> None:
        self._write(
            "INSERT INTO feedback VALUES (?, ?, ?, ?, ?)",
            (_now(), call_id, suggestion_id, action, text),
        )

    def _write(self, sql: str, params: tuple) -> None:
        with self._lock:
            self._db.execute(sql, params)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
