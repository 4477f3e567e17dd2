"""The versioned knowledge store: every entry's versions with their status and authors.

Only the latest approved version of an entry is live; a draft is never served, and retiring an
entry stops serving it while keeping its history. The embedded default is one SQLite file in the
data dir; `KnowledgeStore` is the interface a PostgreSQL implementation would provide.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, Literal, Protocol, TypeVar

from pydantic import TypeAdapter

from copilot.knowledge.models import Answer, Campaign, KnowledgeDoc

Status = Literal["draft", "approved", "retired"]
_DOC = TypeAdapter(KnowledgeDoc)


D = TypeVar("D", Answer, Campaign)


@dataclass(frozen=True)
class LiveEntry(Generic[D]):
    doc: D
    version: int


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


class KnowledgeStore(Protocol):
    def import_docs(
        self, docs: list[Answer | Campaign], *, approve: bool, by: str, keep_existing: bool = False
    ) -> ImportReport: ...
    def live_answers(self) -> list[LiveEntry[Answer]]: ...
    def live_campaigns(self) -> list[LiveEntry[Campaign]]: ...
    def live_campaign(self, campaign_id: str) -> LiveEntry[Campaign] | None: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    version     INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'retired')),
    body        TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    approved_by TEXT,
    approved_at TEXT,
    PRIMARY KEY (kind, id, version)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteKnowledgeStore:
    """Knowledge in `<data dir>/knowledge.sqlite3`; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def import_docs(
        self, docs: list[Answer | Campaign], *, approve: bool, by: str, keep_existing: bool = False
    ) -> ImportReport:
        """Add a version for every doc that differs from the entry's latest, in one transaction.

        keep_existing: leave entries that already exist as they are (the bundled import on first
        serve must not overwrite what an editor or `kb import` put there).
        """
        report = ImportReport()
        now = _now()
        status = "approved" if approve else "draft"
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for doc in docs:
                    latest = self._latest(doc.kind, doc.id)
                    if latest is not None and keep_existing:
                        report.kept.append(doc.id)
                        continue
                    body = doc.model_dump_json()
                    if latest is not None and latest[1] == body and latest[2] == status:
                        report.unchanged.append(doc.id)
                        continue
                    version = 1 if latest is None else latest[0] + 1
                    self._db.execute(
                        "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            doc.kind,
                            doc.id,
                            version,
                            status,
                            body,
                            by,
                            now,
                            by if approve else None,
                            now if approve else None,
                        ),
                    )
                    (report.created if latest is None else report.updated).append(doc.id)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return report

    def live_answers(self) -> list[LiveEntry[Answer]]:
        return self._live("answer")  # type: ignore[return-value]

    def live_campaigns(self) -> list[LiveEntry[Campaign]]:
        return self._live("campaign")  # type: ignore[return-value]

    def live_campaign(self, campaign_id: str) -> LiveEntry[Campaign] | None:
        return self._live_entry("campaign", campaign_id)  # type: ignore[return-value]

    def _live(self, kind: str) -> list[LiveEntry]:
        rows = self._query(
            """
            SELECT v.body, v.version, v.status FROM versions v
            JOIN (SELECT id, MAX(version) AS version FROM versions
                  WHERE kind = ? AND status IN ('approved', 'retired') GROUP BY id) top
              ON v.id = top.id AND v.version = top.version
            WHERE v.kind = ? ORDER BY v.id
            """,
            (kind, kind),
        )
        return [_live(body, version) for body, version, status in rows if status == "approved"]

    def _live_entry(self, kind: str, entry_id: str) -> LiveEntry | None:
        rows = self._query(
            """
            SELECT body, version, status FROM versions
            WHERE kind = ? AND id = ? AND status IN ('approved', 'retired')
            ORDER BY version DESC LIMIT 1
            """,
            (kind, entry_id),
        )
        if not rows or rows[0][2] != "approved":
            return None
        return _live(rows[0][0], rows[0][1])

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO meta VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def _latest(self, kind: str, entry_id: str) -> tuple[int, str, str] | None:
        row = self._db.execute(
            "SELECT version, body, status FROM versions WHERE kind = ? AND id = ? "
            "ORDER BY version DESC LIMIT 1",
            (kind, entry_id),
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def _query(self, sql: str, params: tuple) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()


def _live(body: str, version: int) -> LiveEntry:
    return LiveEntry(doc=_DOC.validate_python(json.loads(body)), version=version)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
