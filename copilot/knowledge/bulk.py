"""`copilot kb list | show | history | export | approve`: knowledge kept in git, reviewed as PRs.

Export writes the YAML format the importer reads, one file per kind, so `kb export` followed by
`kb import --approve` on the same data dir changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from copilot.knowledge.store import Kind, SqliteKnowledgeStore, StoreError
from copilot.settings import Settings

KINDS: tuple[Kind, ...] = ("answer", "campaign")


def run(settings: Settings, args: argparse.Namespace) -> int:
    store = SqliteKnowledgeStore(settings.data_dir / "knowledge.sqlite3")
    try:
        return {
            "list": _list,
            "show": _show,
            "history": _history,
            "export": _export,
            "approve": _approve,
        }[args.kb](store, args)
    except StoreError as exc:
        print(f"copilot kb {args.kb}: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _list(store: SqliteKnowledgeStore, args: argparse.Namespace) -> int:
    for kind in KINDS:
        for v in store.search(kind):
            title = v.body.get("title") or v.body.get("name")
            print(f"{kind:8} {v.body['id']:40} {v.status:8} v{v.version:<3} {title}")
    return 0


def _find(store: SqliteKnowledgeStore, entry_id: str) -> Kind:
    for kind in KINDS:
        if store.versions(kind, entry_id):
            return kind
    raise StoreError("not_found", f"no entry {entry_id}", 404)


def _show(store: SqliteKnowledgeStore, args: argparse.Namespace) -> int:
    latest = store.versions(_find(store, args.id), args.id)[-1]
    print(f"# version {latest.version}, {latest.status}, by {latest.author}")
    print(_dump([latest.body]), end="")
    return 0


def _history(store: SqliteKnowledgeStore, args: argparse.Namespace) -> int:
    for row in store.audit_log(args.id):
        print(f"{row['at']}  v{row['version']:<3} {row['action']:16} {row['actor']}")
    return 0


def _export(store: SqliteKnowledgeStore, args: argparse.Namespace) -> int:
    out: Path = args.dir
    out.mkdir(parents=True, exist_ok=True)
    live = {"answer": store.live_answers(), "campaign": store.live_campaigns()}
    for kind, entries in live.items():
        bodies = [e.doc.model_dump(mode="json") for e in entries]
        if not bodies:
            continue  # an empty file would be an import fault
        (out / f"{kind}s.yaml").write_text(_dump(bodies), encoding="utf-8")
        print(f"{len(bodies)} {kind}s -> {out / f'{kind}s.yaml'}")
    return 0


def _approve(store: SqliteKnowledgeStore, args: argparse.Namespace) -> int:
    version = store.approve(_find(store, args.id), args.id, args.by)
    print(f"{args.id} v{version.version} approved by {args.by}")
    return 0


def _dump(bodies: list[dict]) -> str:
    return yaml.safe_dump_all(bodies, allow_unicode=True, sort_keys=False, width=100)
