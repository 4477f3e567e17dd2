"""The one application object: knowledge, retrieval and the call graph, wired from settings.

The server, the evaluation harness and the CLI all drive calls through `Copilot.handle`, so an
in-process replay exercises exactly the pipeline a live WebSocket client does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from copilot.audit import AuditLog
from copilot.calls import open_checkpointer
from copilot.codes import DISPOSITION_LABELS, DISPOSITIONS_BY_CAMPAIGN_TYPE
from copilot.compliance.checker import Checker
from copilot.compliance.rules import ComplianceRules
from copilot.cues import CueBook
from copilot.graph.build import build_call_graph
from copilot.graph.context import CallContext
from copilot.knowledge.loader import load_path
from copilot.knowledge.models import Campaign
from copilot.knowledge.store import SqliteKnowledgeStore
from copilot.latency import LatencyWindow
from copilot.llm.service import LLMService
from copilot.retrieval.retriever import Hit
from copilot.retrieval.text import clean
from copilot.retrieval.worker import RetrievalProcess
from copilot.settings import Settings
from copilot.watchers import Watchers

log = logging.getLogger("copilot")

BUNDLED_MARK = "bundled_knowledge_imported"


class CallError(Exception):
    """A client message that cannot be applied to its call (reported, never fatal)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


#: Where messages produced after a run returned (the LLM's phase two) are sent.
Deliver = Callable[[list[dict[str, Any]]], Awaitable[None]]


@dataclass
class _Call:
    campaign_id: str | None
    direction: str
    lock: asyncio.Lock
    #: LLM work beside the call: cancelled when it is no longer wanted, awaited by `settle`.
    background: set[asyncio.Task[None]] = field(default_factory=set)
    rephrasing: asyncio.Task[None] | None = None
    #: the search of the customer's latest interim hypothesis: (seq, cleaned text, hits)
    prefetch: tuple[int, str, asyncio.Future[list[Hit]]] | None = None


class Copilot:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = SqliteKnowledgeStore(settings.data_dir / "knowledge.sqlite3")
        self.retriever = RetrievalProcess(settings.data_dir, settings.embedding_model)
        self.cues = CueBook.load(settings.rules_dir / "turn_cues.yaml")
        self.checker = Checker(ComplianceRules.load(settings.rules_dir / "compliance.yaml"))
        self.audit = AuditLog(settings.data_dir / "audit.sqlite3")
        self.llm = (
            LLMService.connect(
                settings.llm, settings.rules_dir, [p for p, _ in self.checker.rules.forbidden]
            )
            if settings.llm
            else None
        )
        self._calls: dict[str, _Call] = {}
        self.watchers = Watchers()
        #: final chunk received → its suggestion sent, as the server measured it
        self.latency = LatencyWindow()
        #: final customer chunks whose search was their interim's (used), or not (missed)
        self.prefetch = {"used": 0, "missed": 0}
        self._campaigns: dict[str, Campaign] = {}
        self._change_mark = -1
        self._exit = AsyncExitStack()
        self._checkpointer: BaseCheckpointSaver | None = None
        self.graph: CompiledStateGraph | None = None

    # ----- lifecycle -------------------------------------------------------------------------
    async def open(self) -> Copilot:
        self.import_bundled_once()
        # The store is the truth: whatever a crash left half-done, the index is repaired here.
        reindexed = self.refresh_knowledge()
        log.info(
            "index ready: %d live answers (%d re-embedded)", self.retriever.entry_count, reindexed
        )
        self._checkpointer = await self._exit.enter_async_context(open_checkpointer(self.settings))
        self.graph = build_call_graph(self._checkpointer)
        return self

    async def close(self) -> None:
        for call in self._calls.values():
            for task in call.background:
                task.cancel()
        if self.llm:
            await self.llm.close()
        await self._exit.aclose()
        self.retriever.close()
        self.store.close()
        self.audit.close()

    async def __aenter__(self) -> Copilot:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def refresh_knowledge(self) -> int:
        """Serve exactly the store's live versions; re-embeds only entries that changed."""
        self._change_mark = self.store.change_mark()
        self._campaigns = {e.doc.id: e.doc for e in self.store.live_campaigns()}
        return self.retriever.sync(self.store.live_answers())

    async def watch_knowledge(self, interval: float = 0.25) -> None:
        """Pick up changes written by any process (another instance, `kb import`) within
        `interval`: the store's change mark is one indexed read."""
        while True:
            await asyncio.sleep(interval)
            if self.store.change_mark() != self._change_mark:
                changed = await asyncio.to_thread(self.refresh_knowledge)
                log.info("knowledge changed: %d entries re-indexed", changed)

    def import_bundled_once(self) -> None:
        """The first serve of a data dir imports the bundled knowledge as approved, keeping any
        entry that `kb import` or an editor already put there."""
        if self.store.get_meta(BUNDLED_MARK):
            return
        result = load_path(self.settings.knowledge_dir)
        if result.faults:
            raise RuntimeError(
                "bundled knowledge is invalid:\n" + "\n".join(str(f) for f in result.faults)
            )
        report = self.store.import_docs(result.docs, approve=True, by="bundled", keep_existing=True)
        self.store.set_meta(BUNDLED_MARK, "1")
        log.info(
            "imported bundled knowledge: %d entries (%d kept)",
            len(report.created),
            len(report.kept),
        )

    # ----- calls -----------------------------------------------------------------------------
    async def start_call(
        self, call_id: str, campaign_id: str | None, direction: str
    ) -> list[dict[str, Any]]:
        """Open a call, or resume it when its state survived a reconnect or a server restart."""
        if campaign_id is not None and campaign_id not in self._campaigns:
            raise CallError("unknown_campaign", f"no approved campaign {campaign_id!r}")
        previous = await self._graph.aget_state(_thread(call_id))
        if previous.values:
            if previous.values.get("stage") == "ended":
                raise CallError("call_ended", f"call {call_id} has already ended")
            self._calls.setdefault(
                call_id, _Call(campaign_id, previous.values["direction"], asyncio.Lock())
            )
            resumed = {
                "type": "call.started",
                "call_id": call_id,
                "resumed": True,
                "last_seq": previous.values.get("last_seq", 0),
            }
            # The client may have lost what it showed: resend the current checklist.
            checklist = previous.values.get("checklist")
            if not checklist:
                return [resumed]
            return [resumed, {"type": "checklist", "call_id": call_id, "items": checklist}]
        self._calls[call_id] = _Call(campaign_id, direction, asyncio.Lock())
        state = await self._run(
            call_id,
            {
                "call_id": call_id,
                "campaign": campaign_id,
                "direction": direction,
                "event": {"kind": "start"},
                "last_seq": 0,
                "facts": {},
                "refusal_reason": None,
                "stage": "opening",
                "checklist": [],
            },
        )
        return [{"type": "call.started", "call_id": call_id}, *_outputs(state)]

    def is_open(self, call_id: str) -> bool:
        return call_id in self._calls

    def interim(self, call_id: str, seq: int, speaker: str, text: str) -> None:
        """A customer's interim hypothesis is searched ahead, at low priority: when its final
        chunk says the same words, the answer is already there. Nothing is shown for it, and
        a newer hypothesis replaces it (if the child had not started it, it never runs)."""
        call = self._calls.get(call_id)
        if call is None or speaker != "customer" or not text.strip():
            return
        if call.prefetch is not None:
            call.prefetch[2].cancel()
        hits = self.retriever.asearch(
            text, call.direction, mode=self.settings.retrieval_mode, prefetch=True
        )
        call.prefetch = (seq, clean(text), hits)

    def _search_for(self, call: _Call, seq: int, text: str) -> asyncio.Future[list[Hit]]:
        """The final chunk's search: its interim's, when that searched the same words (the
        child cleans every query the same way, so the hits are the same), else a new one."""
        prefetch, call.prefetch = call.prefetch, None
        if prefetch is not None:
            prefetched_seq, prefetched_text, hits = prefetch
            usable = not hits.cancelled() and not (hits.done() and hits.exception())
            if usable and prefetched_seq == seq and prefetched_text == clean(text):
                self.retriever.prioritise(hits)
                self.prefetch["used"] += 1
                return hits
            hits.cancel()
            self.prefetch["missed"] += 1
        return self.retriever.asearch(text, call.direction, mode=self.settings.retrieval_mode)

    async def turn(
        self,
        call_id: str,
        seq: int,
        speaker: str,
        text: str,
        deliver: Deliver | None = None,
        early: Deliver | None = None,
    ) -> list[dict[str, Any]]:
        """Phase one, returned at once: what retrieval and the rules say. With `early`, the
        answer goes out through it the moment it is decided, before the compliance check and
        the checkpoint: the agent is waiting for it, not for them. With an LLM and a `deliver`,
        phase two follows through it: the rephrased answer, judged disclosures.

        A customer turn's search starts here, before the run loads the call's state: most turns
        are questions, and one that turns out quiet (or a duplicate) only cancels it."""
        call = self._calls.get(call_id)
        search = (
            self._search_for(call, seq, text)
            if call is not None and speaker == "customer"
            else None
        )
        try:
            state = await self._run(
                call_id,
                {"event": {"kind": "turn", "turn": {"seq": seq, "speaker": speaker, "text": text}}},
                early,
                search,
            )
        finally:
            if search is not None:
                search.cancel()  # a no-op once it ran; skips it while it still waits its turn
        if self.llm and deliver and not state.get("duplicate"):
            self._follow_up(call_id, state, speaker, text, deliver)
        messages = _outputs(state)
        return messages[1:] if early and state.get("suggestion") else messages

    def _follow_up(
        self, call_id: str, state: dict[str, Any], speaker: str, text: str, deliver: Deliver
    ) -> None:
        call = self._calls[call_id]
        campaign = self._campaign_of(call)
        if speaker == "customer" and call.rephrasing is not None:
            call.rephrasing.cancel()  # the customer spoke again: that rephrasing is stale
        if state.get("suggestion"):
            call.rephrasing = self._beside(
                call, self._rephrase(state["suggestion"], text, campaign, deliver)
            )
        if speaker == "agent" and campaign is not None and self.llm.settings.judge_disclosures:
            seq = state["event"]["turn"]["seq"]
            for item in self.checker.unsure(text, state.get("facts", {}), campaign):
                self._beside(call, self._judge_disclosure(call_id, item, seq, text, deliver))

    async def _rephrase(
        self, suggestion: dict[str, Any], text: str, campaign: Campaign | None, deliver: Deliver
    ) -> None:
        assert self.llm is not None
        message = await self.llm.rephraser.follow_up(suggestion, text, campaign)
        if message is not None:
            await deliver([message])

    async def _judge_disclosure(
        self, call_id: str, item: str, seq: int, text: str, deliver: Deliver
    ) -> None:
        """Said in words the cues missed? Then the fact is recorded at that turn, and the
        checklist (and next step) follow as they would for any fact."""
        assert self.llm is not None
        call = self._calls.get(call_id)
        campaign = self._campaign_of(call) if call else None
        if campaign is None:
            return
        requirement = self.checker.requirement(item, campaign)
        quote = await self.llm.judge.disclosure(item, requirement, text, campaign)
        if quote is None or not self.is_open(call_id):
            return
        event = {"kind": "judged", "fact": f"said:{item}", "seq": seq}
        messages = _outputs(await self._run(call_id, {"event": event}))
        if messages:
            await deliver(messages)

    def _beside(self, call: _Call, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        call.background.add(task)
        task.add_done_callback(call.background.discard)
        task.add_done_callback(_log_failure)
        return task

    async def settle(self, call_id: str) -> None:
        """Wait for the call's LLM work (replays do, so phase two is scored with its turn)."""
        call = self._calls.get(call_id)
        if call and call.background:
            await asyncio.gather(*call.background, return_exceptions=True)

    async def crm_event(self, call_id: str, name: str) -> list[dict[str, Any]]:
        return _outputs(await self._run(call_id, {"event": {"kind": "crm", "name": name}}))

    async def end_call(self, call_id: str, reason: str) -> list[dict[str, Any]]:
        call = self._calls.get(call_id)
        for task in call.background if call else ():
            task.cancel()  # nothing said during the call matters to the panel any more
        if call and call.prefetch:
            call.prefetch[2].cancel()
        state = await self._run(call_id, {"event": {"kind": "end", "reason": reason}})
        self._calls.pop(call_id, None)
        confidence = state["disposition"]["confidence"]
        if self.llm and confidence < self.llm.settings.second_opinion_below:
            state["disposition"] = await self._second_opinion(state)
        await self.audit.call_ended(call_id, state["disposition"], state.get("raised") or [])
        return _outputs(state)

    async def _second_opinion(self, state: dict[str, Any]) -> dict[str, Any]:
        """The rules were unsure: ask the LLM, within its deadline. Its code never replaces the
        rules' one; a disagreement leads the alternatives and lowers the confidence."""
        assert self.llm is not None
        proposal = state["disposition"]
        campaign = self._campaigns.get(state.get("campaign") or "")
        allowed = DISPOSITIONS_BY_CAMPAIGN_TYPE[campaign.type if campaign else None]
        opinion = await self.llm.judge.disposition(allowed, proposal, state.get("turns", []))
        return proposal if opinion is None else opinion.applied_to(proposal)

    async def confirm_disposition(self, call_id: str, code: str) -> dict[str, Any]:
        """The agent's final code (one click, or a change), kept beside the proposal."""
        result = self.audit.call_result(call_id)
        if result is None:
            raise CallError("unknown_call", f"no ended call {call_id!r} to confirm")
        state = (await self._graph.aget_state(_thread(call_id))).values
        campaign = self._campaigns.get(state.get("campaign") or "")
        allowed = DISPOSITIONS_BY_CAMPAIGN_TYPE[campaign.type if campaign else None]
        if code not in allowed:
            raise CallError("bad_request", f"{code} does not apply to this call's campaign type")
        await self.audit.confirm(call_id, code)
        return {
            "type": "disposition.confirmed",
            "call_id": call_id,
            "code": code,
            "label": DISPOSITION_LABELS[code],
            "overridden": code != result["proposed"]["code"],
        }

    async def snapshot(self, call_id: str) -> dict[str, Any]:
        """What a panel that starts watching needs to catch up: transcript, checklist, stage."""
        state = (await self._graph.aget_state(_thread(call_id))).values or {}
        return {
            "type": "call.watching",
            "call_id": call_id,
            "turns": state.get("turns", []),
            "checklist": state.get("checklist", []),
            "stage": state.get("stage"),
            "campaign": state.get("campaign"),
        }

    async def call_record(self, call_id: str) -> dict[str, Any] | None:
        """What quality review sees of a call: transcript, warnings, proposed and final code."""
        state = (await self._graph.aget_state(_thread(call_id))).values
        if not state:
            return None
        return {
            "call_id": call_id,
            "campaign": state.get("campaign"),
            "direction": state.get("direction"),
            "stage": state.get("stage"),
            "turns": state.get("turns", []),
            "facts": state.get("facts", {}),
            "result": self.audit.call_result(call_id),
        }

    async def feedback(
        self, call_id: str, suggestion_id: str, action: str, text: str | None
    ) -> None:
        """Feedback may come after hang-up (the agent clicks late), so any known call is fine."""
        if not (await self._graph.aget_state(_thread(call_id))).values:
            raise CallError("unknown_call", f"no call {call_id!r}")
        await self.audit.feedback(call_id, suggestion_id, action, text)

    async def _run(
        self,
        call_id: str,
        update: dict[str, Any],
        early: Deliver | None = None,
        search: asyncio.Future[list[Hit]] | None = None,
    ) -> dict[str, Any]:
        call = self._calls.get(call_id)
        if call is None:
            raise CallError("unknown_call", f"no open call {call_id!r}: send call.start first")
        context = CallContext(
            retriever=self.retriever,
            cues=self.cues,
            checker=self.checker,
            # Looked up per run: an approved change to the campaign applies to running calls.
            campaign=self._campaign_of(call),
            answer_threshold=self.settings.answer_threshold,
            max_suggestions=self.settings.max_suggestions,
            search=search,
        )
        async with call.lock:  # one run at a time per call: the checkpoint is its memory
            if early is None:
                return await self._graph.ainvoke(
                    update, _thread(call_id), context=context, durability="exit"
                )
            state: dict[str, Any] = {}
            async for mode, chunk in self._graph.astream(
                update,
                _thread(call_id),
                context=context,
                durability="exit",
                stream_mode=["updates", "values"],
            ):
                if mode == "values":
                    state = chunk
                elif suggestion := (chunk.get("suggest") or {}).get("suggestion"):
                    await early([suggestion])
            return state

    def _campaign_of(self, call: _Call) -> Campaign | None:
        return self._campaigns.get(call.campaign_id) if call.campaign_id else None

    @property
    def _graph(self) -> CompiledStateGraph:
        if self.graph is None:
            raise RuntimeError("Copilot.open() was not awaited")
        return self.graph


def _thread(call_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": call_id}}


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("LLM follow-up failed: %r", exc)


def _outputs(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The server messages one run produced, in the order the contract wants them."""
    messages: list[dict[str, Any]] = []
    if state.get("suggestion"):
        messages.append(state["suggestion"])
    messages.extend(state.get("warnings") or [])
    if state.get("checklist_update"):
        messages.append(state["checklist_update"])
    if state.get("next_step_update"):
        messages.append(state["next_step_update"])
    if state.get("disposition"):
        messages.append(state["disposition"])
    return messages
