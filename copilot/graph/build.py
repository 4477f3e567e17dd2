"""The call graph, built in one place.

START → ingest ─┬─ call start / duplicate ─────────────────────────────────────→ END
                ├─ turn → understand ─┬─ customer question → retrieve → suggest → END
                │                     └─ statement / agent turn ─────────────────→ END
                ├─ crm event / judged fact → record_event → check ──────────────→ END
                └─ end → dispose ──────────────────────────────────────────────→ END
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from copilot.graph import nodes
from copilot.graph.context import CallContext
from copilot.graph.state import CallState


def _after_ingest(state: CallState) -> str:
    if state.get("duplicate"):
        return END
    kind = state["event"]["kind"]
    return {
        "start": "check",
        "turn": "understand",
        "crm": "record_event",
        "judged": "record_event",
        "end": "check_end",
    }[kind]


def _after_understand(state: CallState) -> str:
    return "check" if state.get("quiet") else "retrieve"


def build_call_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph:
    graph = StateGraph(CallState, context_schema=CallContext)
    graph.add_node("ingest", nodes.ingest)
    graph.add_node("understand", nodes.understand)
    graph.add_node("record_event", nodes.record_event)
    graph.add_node("retrieve", nodes.retrieve)
    graph.add_node("suggest", nodes.suggest)
    graph.add_node("check", nodes.check)
    graph.add_node("check_end", nodes.check_end)
    graph.add_node("dispose", nodes.dispose)

    graph.add_edge(START, "ingest")
    graph.add_conditional_edges(
        "ingest", _after_ingest, ["check", "understand", "record_event", "check_end", END]
    )
    graph.add_conditional_edges("understand", _after_understand, ["retrieve", "check"])
    graph.add_edge("retrieve", "suggest")
    graph.add_edge("suggest", "check")
    graph.add_edge("record_event", "check")
    graph.add_edge("check", END)
    graph.add_edge("check_end", "dispose")
    graph.add_edge("dispose", END)
    return graph.compile(checkpointer=checkpointer)
