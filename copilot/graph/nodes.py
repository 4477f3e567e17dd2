"""The nodes of the call graph: each a small function of the state returning a partial update."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langgraph.runtime import Runtime

from copilot.cues import DIALECT, REPLY, CueBook
from copilot.disposition.rules import propose
from copilot.graph.context import CallContext
from copilot.graph.state import CallState, Stage
from copilot.retrieval.retriever import THIN_ENTRY, entry_threshold

#: Alternatives are shown when they score within this distance of the threshold.
ALTERNATIVE_MARGIN = 0.08
#: A turn that states a decision ("我不办，我流量够用", "那你给我办了吧") is itself what the agent
#: acts on; it gets an answer only when retrieval is this much surer than the threshold.
#: Fitted on the dev split (eval/tune_retrieval.py) like the threshold.
DECISION_MARGIN = 0.08
DECISIONS = frozenset({"consent", "refusal"})


#: A reply to the agent's question that asks nothing back is mostly the customer's own story;
#: chosen on the replies of the dev split and heldout7-12 (heldout13 was written after it).
REPLY_MARGIN = 0.10
#: A reply that confirms the holder (是我 / 我自己身份证办的) and goes on is the customer telling
#: the number's own story (这号我用了十几年了 当时在营业厅办的), which shares its words with the
#: entries about numbers and shops; chosen on the replies of dev and heldout7-14 (heldout15 came
#: after it).
HOLDER_REPLY_MARGIN = 0.16
HOLDER = "identity_confirmed"
#: What a holder may go on to say that the agent must act on (在开车, 在国外, 别再打了): such a
#: reply keeps the plain reply margin.
SITUATIONS = frozenset({"occupied", "busy", "abroad", "bad_line", "do_not_call", "no_password"})


def answer_bar(threshold: float, turn_facts: Iterable[str]) -> float:
    """The score retrieval must reach for this turn to get an answer (the tuner uses it too)."""
    facts = set(turn_facts)
    if REPLY in facts:
        holder_story = HOLDER in facts and not SITUATIONS & facts
        return threshold + (HOLDER_REPLY_MARGIN if holder_story else REPLY_MARGIN)
    return threshold + (DECISION_MARGIN if DECISIONS & facts else 0.0)


async def ingest(state: CallState) -> dict[str, Any]:
    """Record a final turn once; a repeated or stale seq (a client resending) is a duplicate."""
    reset: dict[str, Any] = {
        "duplicate": False,
        "quiet": True,
        "candidates": [],
        "suggestion": None,
        "warnings": [],
        "disposition": None,
        "turn_facts": [],
        "checklist_update": None,
        "next_step_update": None,
    }
    event = state["event"]
    if event["kind"] != "turn":
        return reset
    turn = event["turn"]
    if turn["seq"] <= state.get("last_seq", 0):
        return {**reset, "duplicate": True}
    return {**reset, "turns": [turn], "last_seq": turn["seq"]}


async def understand(state: CallState, runtime: Runtime[CallContext]) -> dict[str, Any]:
    """What the turn establishes (facts), whether it asks for an answer, and the dialogue stage."""
    turn = state["event"]["turn"]
    cues = runtime.context.cues
    names = cues.facts(turn["speaker"], turn["text"])
    form = cues.form_facts(turn["text"]) if turn["speaker"] == "customer" else []
    names += form
    new_facts = {name: turn["seq"] for name in names}
    if turn["speaker"] == "customer":
        new_facts["customer_spoke"] = turn["seq"]
    asked = _agent_asked(state)
    update: dict[str, Any] = {
        "facts": new_facts,
        "last_seen": new_facts,
        # how the turn relates to the agent's question sets the answer bar, it is no call fact
        "turn_facts": names + reply_facts(cues, turn, asked),
        "quiet": turn["speaker"] == "agent"
        or (not form and cues.is_statement(turn["text"], after=asked)),
    }
    # The last refusal that gives a reason is the customer's reason ("不用" to an aside, then
    # "不办了，单位配了随身wifi"); a bare "不要" later does not erase it.
    if "refusal" in names and (reason := cues.refusal_reason(turn["text"])):
        update["refusal_reason"] = reason
    update["stage"] = stage_of({**new_facts, **state.get("facts", {})})
    return update


def reply_facts(cues: CueBook, turn: dict[str, Any], asked: str | None) -> list[str]:
    """[REPLY] when a customer turn replies to the agent's question and asks nothing back (the
    tuner uses it too)."""
    if turn["speaker"] == "customer" and asked is not None and cues.replies_to(turn["text"], asked):
        return [REPLY]
    return []


def _agent_asked(state: CallState) -> str | None:
    """The agent's turn just before this one, if the last thing said before it was the agent's."""
    turns = state.get("turns") or []
    previous = turns[-2] if len(turns) >= 2 else None
    return previous["text"] if previous and previous["speaker"] == "agent" else None


async def record_event(state: CallState) -> dict[str, Any]:
    """A CRM event (verification.passed, econtract.invalid, ...) becomes a fact at the last turn;
    a judged one (the LLM found a disclosure the cues missed) at the turn that said it."""
    event = state["event"]
    if event["kind"] == "judged":
        name, seq = event["fact"], event["seq"]
    else:
        name, seq = event["name"].replace(".", "_"), state.get("last_seq", 0)
    facts = {name: seq}
    return {
        "facts": facts,
        "turn_facts": [name],
        "stage": stage_of({**facts, **state.get("facts", {})}),
    }


async def retrieve(state: CallState, runtime: Runtime[CallContext]) -> dict[str, Any]:
    """The hits of the search `Copilot.turn` started when the customer's chunk arrived."""
    search = runtime.context.search
    if search is None:
        raise RuntimeError("a customer turn's run carries its search (Copilot.turn starts it)")
    hits = await search
    return {
        "candidates": [
            {
                "id": h.answer.id,
                "version": h.version,
                "text": h.answer.answer,
                "score": h.score,
                "related": h.related,
                "phrasings": len(h.answer.questions),
            }
            for h in hits
        ]
    }


#: Customer questions about the campaign's product, and the product fact that answers each.
PRODUCT_QUESTIONS = {
    "asks_fee": "fee",
    "asks_cancel": "cancel_method",
    "asks_rules": "rules",
    "asks_trial": "trial",
}


async def suggest(state: CallState, runtime: Runtime[CallContext]) -> dict[str, Any]:
    """The approved answer when retrieval is confident enough; otherwise stay quiet. On a
    campaign call, a question about its product is answered first from the product's facts."""
    ctx = runtime.context
    threshold = ctx.answer_threshold
    candidates = state.get("candidates") or []
    turn_facts = state.get("turn_facts") or []
    items = _fixed_answers(state, turn_facts, ctx) + _product_answers(turn_facts, ctx)
    if candidates and candidates[0]["score"] >= answer_bar(
        entry_threshold(threshold, candidates[0].get("phrasings", THIN_ENTRY)), turn_facts
    ):
        items += [
            {
                "text": c["text"],
                "source": {"id": c["id"], "version": c["version"]},
                "score": round(c["score"], 3),
            }
            for i, c in enumerate(candidates[: ctx.max_suggestions])
            if i == 0 or c.get("related") or c["score"] >= threshold - ALTERNATIVE_MARGIN
        ]
    if not items:
        return {"suggestion": None}
    seq = state["event"]["turn"]["seq"]
    return {
        "suggestion": {
            "type": "suggestion",
            "call_id": state["call_id"],
            "in_reply_to": seq,
            "suggestion_id": f"s-{state['call_id']}-{seq}",
            "kind": "answer",
            "items": items[: ctx.max_suggestions],
        }
    }


def _fixed_answers(
    state: CallState, turn_facts: list[str], ctx: CallContext
) -> list[dict[str, Any]]:
    """The approved "please repeat that" when the ASR lost the customer's question, and "please
    speak Mandarin" when it wrote a dialect: guessing an answer to words nobody understood would
    be worse than asking. A customer who keeps to the dialect gets 004's next step each time."""
    items = []
    for fact, entry_id in ctx.cues.fixed_answers.items():
        if fact not in turn_facts:
            continue
        if fact == DIALECT:
            times = sum(
                t["speaker"] == "customer" and ctx.cues.speaks_dialect(t["text"])
                for t in state.get("turns") or []
            )
            entry_id = ctx.cues.dialect_step(times) or entry_id
        if (live := ctx.retriever.live(entry_id)) is not None:
            source = {"id": live.doc.id, "version": live.version}
            items.append({"text": live.doc.answer, "source": source, "score": 1.0})
    return items


def _product_answers(turn_facts: list[str], ctx: CallContext) -> list[dict[str, Any]]:
    campaign = ctx.campaign
    if campaign is None or campaign.product is None:
        return []
    items = []
    for cue, field in PRODUCT_QUESTIONS.items():
        if cue in turn_facts and (text := campaign.product.fact(field)):
            source = {"id": campaign.id, "field": f"product.{field}"}
            items.append({"text": text, "source": source, "score": 1.0})
    return items


async def check(state: CallState, runtime: Runtime[CallContext]) -> dict[str, Any]:
    """Compliance at this moment: new warnings, and the checklist when an item changed."""
    ctx = runtime.context
    event = state["event"]
    update: dict[str, Any] = {}
    facts = state.get("facts", {})
    if event["kind"] in ("turn", "crm", "judged"):
        turn = event.get("turn") or {
            "seq": state.get("last_seq", 0),
            "speaker": "agent",
            "text": "",
        }
        finding = ctx.checker.on_turn(
            speaker=turn["speaker"],
            seq=turn["seq"],
            text=turn["text"],
            facts=facts,
            turn_facts=set(state.get("turn_facts") or []),
            campaign=ctx.campaign,
            direction=state["direction"],
            raised=set(state.get("raised") or []),
        )
        facts = {**finding.facts, **facts}
        update["facts"] = finding.facts
        update.update(_warnings(state, finding.warnings))
    step = ctx.checker.next_step(facts, ctx.campaign)
    if step != state.get("next_step"):
        update["next_step"] = step
        if step is not None:
            update["next_step_update"] = _next_step_message(state, step, ctx)
    checklist = ctx.checker.checklist(facts, ctx.campaign)
    if checklist != (state.get("checklist") or []):
        update["checklist"] = checklist
        update["checklist_update"] = {
            "type": "checklist",
            "call_id": state["call_id"],
            "items": checklist,
        }
    return update


async def check_end(state: CallState, runtime: Runtime[CallContext]) -> dict[str, Any]:
    """What was never said: judged once the call is over, before the disposition."""
    ctx = runtime.context
    warnings = ctx.checker.on_end(
        seq=state.get("last_seq", 0),
        facts=state.get("facts", {}),
        campaign=ctx.campaign,
        raised=set(state.get("raised") or []),
    )
    return _warnings(state, warnings)


def _next_step_message(state: CallState, step: str, ctx: CallContext) -> dict[str, Any]:
    """Script guidance in approved words: the campaign's product facts or the rules' seed hint."""
    seq = state.get("last_seq", 0)
    rule = ctx.checker.rules.spec.warnings[step]  # type: ignore[index]
    from_campaign = bool(rule.hint_from and ctx.campaign and ctx.campaign.product)
    source = (
        {"id": ctx.campaign.id, "field": rule.hint_from}  # type: ignore[union-attr]
        if from_campaign
        else {"id": f"rules:{step}", "seed": rule.hint_source}
    )
    return {
        "type": "suggestion",
        "call_id": state["call_id"],
        "in_reply_to": seq,
        "suggestion_id": f"s-{state['call_id']}-{seq}-next",
        "kind": "next_step",
        "items": [
            {
                "text": ctx.checker.rules.hint(step, ctx.campaign),
                "source": source,
                "code": step,
                "score": 1.0,
            }
        ],
    }


def _warnings(state: CallState, warnings: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "warnings": [{**w, "call_id": state["call_id"]} for w in warnings],
        "raised": [w["code"] for w in warnings],
    }


async def dispose(state: CallState, runtime: Runtime[CallContext]) -> dict[str, Any]:
    campaign = runtime.context.campaign
    campaign_type = campaign.type if campaign else None
    proposal = propose(
        state.get("facts", {}),
        state.get("last_seen", {}),
        campaign_type,
        state.get("refusal_reason"),
    )
    return {
        "stage": "ended",
        "disposition": proposal.message(state["call_id"], campaign_type),
    }


def stage_of(facts: dict[str, int]) -> Stage:
    """The furthest stage the call has reached."""
    if any(k in facts for k in ("verification_passed", "econtract_valid", "survey_completed")):
        return "closing"
    if any(k in facts for k in ("verification_started", "econtract_sent", "consent")):
        return "verification"
    if "decision_asked" in facts:
        return "decision"
    if "offer" in facts:
        return "offer"
    return "opening"
