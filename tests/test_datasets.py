"""The evaluation data stays honest, and a smoke replay catches a broken pipeline."""

from __future__ import annotations

from pathlib import Path

from copilot.app import Copilot
from copilot.evaluation.dataset import load_dialogues
from copilot.evaluation.metrics import score
from copilot.evaluation.replay import replay_in_process
from copilot.knowledge.loader import load_path
from copilot.retrieval.text import bare
from copilot.settings import BUNDLED_KNOWLEDGE

DATASETS = Path(__file__).resolve().parent.parent / "eval" / "datasets"


def test_held_out_and_dev_utterances_are_never_indexed() -> None:
    indexed = {
        bare(q)
        for doc in load_path(BUNDLED_KNOWLEDGE).docs
        if doc.kind == "answer"
        for q in doc.questions
    }
    for name in (
        "heldout.jsonl",
        "heldout2.jsonl",
        "heldout3.jsonl",
        "heldout4.jsonl",
        "heldout6.jsonl",
        "dev.jsonl",
    ):
        for dialogue in load_dialogues(DATASETS / name):
            for turn in dialogue.turns:
                if turn.speaker == "customer" and turn.expect_answer:
                    assert bare(turn.text) not in indexed, (name, dialogue.id, turn.text)


def test_every_expected_phrase_is_approved_wording() -> None:
    """A turn whose expected wording no approved answer contains could never be a hit."""
    answers = [doc.answer for doc in load_path(BUNDLED_KNOWLEDGE).docs if doc.kind == "answer"]
    for name in (
        "heldout.jsonl",
        "heldout2.jsonl",
        "heldout3.jsonl",
        "heldout4.jsonl",
        "heldout6.jsonl",
        "dev.jsonl",
    ):
        for dialogue in load_dialogues(DATASETS / name):
            for turn in dialogue.turns:
                if turn.expect_answer:
                    assert any(p in a for p in turn.expect_answer for a in answers), (
                        name,
                        dialogue.id,
                        turn.expect_answer,
                    )


def test_held_out_and_dev_do_not_overlap() -> None:
    def texts(name: str) -> set[str]:
        return {
            bare(t.text)
            for d in load_dialogues(DATASETS / name)
            for t in d.turns
            if t.expect_answer
        }

    assert not texts("heldout.jsonl") & texts("dev.jsonl")


async def test_smoke_replay_runs_the_whole_pipeline(copilot: Copilot) -> None:
    dialogues = load_dialogues(DATASETS / "heldout.jsonl")[:12]
    report = score(await replay_in_process(copilot, dialogues, run_id="smoke"))
    assert report.answer_turns + report.quiet_turns == sum(
        1 for d in dialogues for t in d.turns if t.expect_answer or t.expect_no_answer
    )
    assert report.latency_ms["final_chunk"]["n"] == sum(len(d.turns) for d in dialogues)
    assert report.latency_ms["call_end"]["n"] == len(dialogues)
