"""What `copilot eval replay` does: load, replay (in-process or over the WebSocket), score,
optionally once per retriever, and write the reports."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from copilot.app import Copilot
from copilot.evaluation.dataset import load_dialogues
from copilot.evaluation.html import render
from copilot.evaluation.metrics import Report, score, score_llm
from copilot.evaluation.replay import replay_in_process, replay_over_websocket
from copilot.evaluation.table import print_report
from copilot.settings import Settings

RETRIEVERS = ("dense", "lexical", "hybrid")


async def replay_file(
    settings: Settings,
    file: Path,
    *,
    url: str | None = None,
    token: str | None = None,
    interim: bool = False,
    concurrency: int = 4,
    compare_retrievers: bool = False,
    knowledge: Path | None = None,
    llm: bool = False,
    json_out: Path | None = None,
    html_out: Path | None = None,
    console: Console | None = None,
) -> Report:
    console = console or Console()
    if llm and (url or settings.llm is None):
        raise ValueError(
            "--llm replays in-process with the LLM of OPENAI_BASE_URL / OPENAI_API_KEY: "
            "set one of them, and leave out --url"
        )
    if not llm:  # a replay is the retrieval-and-rules baseline unless asked otherwise
        settings = settings.model_copy(update={"llm": None})
    dialogues = load_dialogues(file)
    if knowledge is not None:  # another knowledge base, in a data dir of its own
        settings = settings.model_copy(
            update={"knowledge_dir": knowledge, "data_dir": Path(tempfile.mkdtemp())}
        )
    modes = RETRIEVERS if compare_retrievers and not url else ("hybrid",)
    reports: dict[str, Report] = {}
    for mode in modes:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"replay ({mode})", total=len(dialogues))

            def tick(task: int = task) -> None:
                bar.advance(task)

            if url:
                results = await replay_over_websocket(
                    url,
                    dialogues,
                    token=token,
                    concurrency=concurrency,
                    interim=interim,
                    progress=tick,
                )
            else:
                mode_settings = settings.model_copy(update={"retrieval_mode": mode})
                async with Copilot(mode_settings) as copilot:
                    results = await replay_in_process(
                        copilot, dialogues, run_id=f"eval-{mode}-{_stamp()}", progress=tick
                    )
                    llm_stats = copilot.llm.stats() if copilot.llm else None
        reports[mode] = score(results)
        if llm and llm_stats:
            reports[mode].llm = score_llm(results, llm_stats)
    report = reports["hybrid"]
    if compare_retrievers:
        report.retrievers = {
            mode: {"hit1": r.hit1, "hit3": r.hit3, "mrr": r.mrr, "quiet_rate": r.quiet_rate}
            for mode, r in reports.items()
        }
    title = f"{file.name}: {len(dialogues)} dialogues"
    print_report(report, title=title, console=console)
    if json_out:
        json_out.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    if html_out:
        html_out.write_text(render(report.as_dict(), title), encoding="utf-8")
    return report


def _stamp() -> str:
    import uuid

    return uuid.uuid4().hex[:8]
