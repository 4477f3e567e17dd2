"""The evaluation data stays honest, and a smoke replay catches a broken pipeline."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

from copilot.app import Copilot
from copilot.evaluation.dataset import load_dialogues
from copilot.evaluation.metrics import score
from copilot.evaluation.replay import replay_in_process
from copilot.knowledge.loader import load_path
from copilot.knowledge.models import Answer
from copilot.retrieval.text import bare
from copilot.settings import BUNDLED_KNOWLEDGE

DATASETS = Path(__file__).resolve().parent.parent / "eval" / "datasets"
#: Sets whose answer turns were indexed (eval/absorb.py) after their first measurement.
ABSORBED = (
    "heldout.jsonl",
    "heldout2.jsonl",
    "heldout3.jsonl",
    "heldout4.jsonl",
    "heldout6.jsonl",
    "heldout7.jsonl",
    "heldout8.jsonl",
    "heldout9.jsonl",
    "heldout10.jsonl",
    "heldout11.jsonl",
    "heldout12.jsonl",
)
#: Sets that must stay unseen by the index: the dev split and the held-out sets not yet absorbed.
UNSEEN = (
    "dev.jsonl",
    "heldout13.jsonl",
    "heldout14.jsonl",
    "heldout15.jsonl",
    "heldout16.jsonl",
)


def test_unseen_utterances_are_never_indexed() -> None:
    indexed = {
        bare(q)
        for doc in load_path(BUNDLED_KNOWLEDGE).docs
        if doc.kind == "answer"
        for q in doc.questions
    }
    for name in UNSEEN:
        for dialogue in load_dialogues(DATASETS / name):
            for turn in dialogue.turns:
                if turn.speaker == "customer" and turn.expect_answer:
                    assert bare(turn.text) not in indexed, (name, dialogue.id, turn.text)


def test_every_expected_phrase_is_approved_wording() -> None:
    """A turn whose expected wording no approved answer contains could never be a hit."""
    answers = [doc.answer for doc in load_path(BUNDLED_KNOWLEDGE).docs if doc.kind == "answer"]
    for name in ABSORBED + UNSEEN:
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

    for name in ABSORBED + UNSEEN:
        if name != "dev.jsonl":
            assert not texts(name) & texts("dev.jsonl"), name


async def test_smoke_replay_runs_the_whole_pipeline(copilot: Copilot) -> None:
    dialogues = load_dialogues(DATASETS / "heldout.jsonl")[:12]
    report = score(await replay_in_process(copilot, dialogues, run_id="smoke"))
    assert report.answer_turns + report.quiet_turns == sum(
        1 for d in dialogues for t in d.turns if t.expect_answer or t.expect_no_answer
    )
    assert report.latency_ms["final_chunk"]["n"] == sum(len(d.turns) for d in dialogues)
    assert report.latency_ms["call_end"]["n"] == len(dialogues)


def test_absorbing_a_measured_set_indexes_its_unambiguous_turns(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("absorb", DATASETS.parent / "absorb.py")
    assert spec and spec.loader
    absorb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(absorb)
    before = {d.id: d for d in load_path(BUNDLED_KNOWLEDGE).docs}
    known = before["kb-how-got-my-number"]
    assert isinstance(known, Answer)
    knowledge = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, knowledge)
    turns = [
        ("我这儿炒着菜呢: 油锅都冒烟了 #等会儿", ["我半个小时之后再联系您可以吗"]),  # YAML-unsafe
        ("我这儿炒着菜呢: 油锅都冒烟了 #等会儿", ["我半个小时之后再联系您可以吗"]),  # repeated
        (known.questions[1], [known.answer[:12]]),  # already indexed
        ("这个词谁都没有", ["没有哪条答案有这句话"]),  # no entry
    ]
    dataset = tmp_path / "set.jsonl"
    dataset.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"t-{i}",
                    "turns": [{"speaker": "customer", "text": text, "expect_answer": expected}],
                },
                ensure_ascii=False,
            )
            for i, (text, expected) in enumerate(turns)
        )
    )
    assert absorb.absorb(dataset, knowledge) == (1, 3)
    loaded = load_path(knowledge)
    assert not loaded.faults
    [busy] = [d for d in loaded.docs if d.id == "kb-sit-customer-busy"]
    assert busy.questions[-1] == "我这儿炒着菜呢: 油锅都冒烟了 #等会儿"
    changed = [d.id for d in loaded.docs if d != before[d.id]]
    assert changed == ["kb-sit-customer-busy"]
