"""The versioned knowledge store: every entry's versions with their status and authors.

Only the latest approved version of an entry is live; a draft is never served, and retiring an
entry stops serving it while keeping its history. Every write appends to the audit table in the
same transaction, so the history and the audit log cannot disagree. The embedded default is one
SQLite file in the data dir; `KnowledgeStore` is the interface a PostgreSQL implementation would
provide.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import TypeAdapter

from copilot.knowledge.models import Answer, Campaign, KnowledgeDoc

Status = Literal["draft", "approved", "retired"]
Kind = Literal["answer", "campaign"]
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


@dataclass(frozen=True)
class Version:
    version: int
    status: Status
    author: str
    created_at: str
    approved_by: str | None
    approved_at: str | None
    body: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "status": self.status,
            "author": self.author,
            "created_at": self.created_at,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
            **self.body,
        }


class StoreError(Exception):
    """A write the store refuses; `code` and `status` map onto the knowledge API's errors."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class KnowledgeStore(Protocol):
    def import_docs(
        self, docs: list[Answer | Campaign], *, approve: bool, by: str, keep_existing: bool = False
    ) -> ImportReport: ...
    def live_answers(self) -> list[LiveEntry[Answer]]: ...
    def live_campaigns(self) -> list[LiveEntry[Campaign]]: ...
    def live_campaign(self, campaign_id: str) -> LiveEntry[Campaign] | None: ...
    def create(self, doc: Answer | Campaign, by: str) -> Version: ...
    def update(self, doc: Answer | Campaign, by: str, base_version: int) -> Version: ...
    def approve(self, kind: Kind, entry_id: str, by: str) -> Version: ...
    def retire(self, kind: Kind, entry_id: str, by: str) -> Version: ...
    def rollback(self, kind: Kind, entry_id: str, to_version: int, by: str) -> Version: ...
    def versions(self, kind: Kind, entry_id: str) -> list[Version]: ...
    def search(self, kind: Kind, q: str = "", status: str = "") -> list[Version]: ...
    def change_mark(self) -> int: ...
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
CREATE TABLE IF NOT EXISTS audit (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    kind     TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    version  INTEGER NOT NULL,
    action   TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteKnowledgeStore:
    """Knowledge in `<data dir>/knowledge.sqlite3`; safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    # ----- bulk import ------------------------------------------------------------------------
    def import_docs(
        self, docs: list[Answer | Campaign], *, approve: bool, by: str, keep_existing: bool = False
    ) -> ImportReport:
        """Add a version for every doc that differs from the entry's latest, in one transaction.

        keep_existing: leave entries that already exist as they are (the bundled import on first
        serve must not overwrite what an editor or `kb import` put there).
        """
        report = ImportReport()
        status: Status = "approved" if approve else "draft"
        with self._transaction():
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
                self._insert(doc.kind, doc.id, version, status, body, by, approved=approve)
                self._audit(by, doc.kind, doc.id, version, f"import:{status}")
                (report.created if latest is None else report.updated).append(doc.id)
        return report

    # ----- editors' workflow -----------------------------------------------------------------
    def create(self, doc: Answer | Campaign, by: str) -> Version:
        with self._transaction():
            if self._latest(doc.kind, doc.id) is not None:
                raise StoreError("exists", f"{doc.kind} {doc.id} already exists: edit it", 409)
            self._insert(doc.kind, doc.id, 1, "draft", doc.model_dump_json(), by)
            self._audit(by, doc.kind, doc.id, 1, "create")
        return self.versions(doc.kind, doc.id)[-1]

    def update(self, doc: Answer | Campaign, by: str, base_version: int) -> Version:
        """A new draft on top of `base_version`; an edit based on anything older is stale (409)."""
        with self._transaction():
            latest = self._require(doc.kind, doc.id)
            if base_version != latest[0]:
                raise StoreError(
                    "stale_edit",
                    f"base_version {base_version} is not the latest ({latest[0]}): reload first",
                    409,
                )
            version = latest[0] + 1
            self._insert(doc.kind, doc.id, version, "draft", doc.model_dump_json(), by)
            self._audit(by, doc.kind, doc.id, version, "edit")
        return self.versions(doc.kind, doc.id)[-1]

    def approve(self, kind: Kind, entry_id: str, by: str) -> Version:
        """Four eyes: the approver must not be the author of the draft."""
        with self._transaction():
            version, _, status, author = self._require(kind, entry_id)
            if status != "draft":
                raise StoreError("nothing_to_approve", f"the latest version is {status}", 409)
            if author == by:
                raise StoreError("own_version", "an author cannot approve their own version", 403)
            self._db.execute(
                "UPDATE versions SET status = 'approved', approved_by = ?, approved_at = ? "
                "WHERE kind = ? AND id = ? AND version = ?",
                (by, _now(), kind, entry_id, version),
            )
            self._audit(by, kind, entry_id, version, "approve")
        return self.versions(kind, entry_id)[-1]

    def retire(self, kind: Kind, entry_id: str, by: str) -> Version:
        with self._transaction():
            version, body, status, _ = self._require(kind, entry_id)
            if status == "retired":
                raise StoreError("already_retired", f"{kind} {entry_id} is retired", 409)
            self._insert(kind, entry_id, version + 1, "retired", body, by)
            self._audit(by, kind, entry_id, version + 1, "retire")
        return self.versions(kind, entry_id)[-1]

    def rollback(self, kind: Kind, entry_id: str, to_version: int, by: str) -> Version:
        """An earlier version's content as a new draft, to be approved again."""
        with self._transaction():
            version = self._require(kind, entry_id)[0]
            row = self._db.execute(
                "SELECT body FROM versions WHERE kind = ? AND id = ? AND version = ?",
                (kind, entry_id, to_version),
            ).fetchone()
            if row is None:
                raise StoreError("unknown_version", f"no version {to_version}", 404)
            self._insert(kind, entry_id, version + 1, "draft", row[0], by)
            self._audit(by, kind, entry_id, version + 1, f"rollback:{to_version}")
        return self.versions(kind, entry_id)[-1]

    # ----- reading ----------------------------------------------------------------------------
    def versions(self, kind: Kind, entry_id: str) -> list[Version]:
        rows = self._query(
            "SELECT version, status, author, created_at, approved_by, approved_at, body "
            "FROM versions WHERE kind = ? AND id = ? ORDER BY version",
            (kind, entry_id),
        )
        return [Version(*row[:6], body=json.loads(row[6])) for row in rows]

    def search(self, kind: Kind, q: str = "", status: str = "") -> list[Version]:
        """The latest version of each entry, optionally filtered by text and status."""
        rows = self._query(
            """
            SELECT v.version, v.status, v.author, v.created_at, v.approved_by, v.approved_at,
                   v.body
            FROM versions v JOIN (SELECT id, MAX(version) AS version FROM versions
                                  WHERE kind = ? GROUP BY id) top
              ON v.id = top.id AND v.version = top.version
            WHERE v.kind = ? AND (? = '' OR v.body LIKE '%' || ? || '%')
              AND (? = '' OR v.status = ?)
            ORDER BY v.id
            """,
            (kind, kind, q, q, status, status),
        )
        return [Version(*row[:6], body=json.loads(row[6])) for row in rows]

    def audit_log(self, entry_id: str | None = None) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT seq, at, actor, kind, entry_id, version, action FROM audit "
            "WHERE ? IS NULL OR entry_id = ? ORDER BY seq",
            (entry_id, entry_id),
        )
        keys = ("seq", "at", "actor", "kind", "entry_id", "version", "action")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def change_mark(self) -> int:
        """Grows with every write: a cheap way for any process to notice a change."""
        return int(self._query("SELECT COALESCE(MAX(seq), 0) FROM audit", ())[0][0])

    def live_answers(self) -> list[LiveEntry[Answer]]:
        return self._live("answer")  # type: ignore[return-value]

    def live_campaigns(self) -> list[LiveEntry[Campaign]]:
        return self._live("campaign")  # type: ignore[return-value]

    def live_campaign(self, campaign_id: str) -> LiveEntry[Campaign] | None:
        rows = self._query(
            "SELECT body, version, status FROM versions WHERE kind = 'campaign' AND id = ? "
            "AND status IN ('approved', 'retired') ORDER BY version DESC LIMIT 1",
            (campaign_id,),
        )
        if not rows or rows[0][2] != "approved":
            return None
        return _live(rows[0][0], rows[0][1])  # type: ignore[return-value]

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO meta VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # ----- internals --------------------------------------------------------------------------
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

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _insert(
        self,
        kind: str,
        entry_id: str,
        version: int,
        status: Status,
        body: str,
        by: str,
        approved: bool = False,
    ) -> None:
        now = _now()
        self._db.execute(
            "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                entry_id,
                version,
                status,
                body,
                by,
                now,
                by if approved else None,
                now if approved else None,
            ),
        )

    def _audit(self, actor: str, kind: str, entry_id: str, version: int, action: str) -> None:
        self._db.execute(
            "INSERT INTO audit (at, actor, kind, entry_id, version, action) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (_now(), actor, kind, entry_id, version, action),
        )

    def _latest(self, kind: str, entry_id: str) -> tuple[int, str, str, str] | None:
        row = self._db.execute(
            "SELECT version, body, status, author FROM versions WHERE kind = ? AND id = ? "
            "ORDER BY version DESC LIMIT 1",
            (kind, entry_id),
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def _require(self, kind: str, entry_id: str) -> tuple[int, str, str, str]:
        latest = self._latest(kind, entry_id)
        if latest is None:
            raise StoreError("not_found", f"no {kind} {entry_id}", 404)
        return latest

    def _query(self, sql: str, params: tuple) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()


def diff(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-level changes between two versions' bodies (what the history shows)."""
    old = old or {}
    changes: dict[str, dict[str, Any]] = {}
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) == new.get(key):
            continue
        if isinstance(old.get(key), list) and isinstance(new.get(key), list):
            changes[key] = {
                "added": [x for x in new[key] if x not in old[key]],
                "removed": [x for x in old[key] if x not in new[key]],
            }
        else:
            changes[key] = {"from": old.get(key), "to": new.get(key)}
    return changes


def _live(body: str, version: int) -> LiveEntry:
    return LiveEntry(doc=_DOC.validate_python(json.loads(body)), version=version)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
