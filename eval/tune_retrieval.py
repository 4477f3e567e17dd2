"""Fit the retrieval fusion (dense weight, BM25 saturation) and the answer threshold on the dev
split, so the held-out figures are never tuned on.

    uv run python eval/tune_retrieval.py [eval/datasets/dev.jsonl]

Prints the settings with the best hit@1 among those that keep at least 95% of quiet turns quiet
(the bar of the core issue), ties broken by hit@3.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

import numpy as np

from copilot.app import Copilot
from copilot.evaluation.dataset import load_dialogues
from copilot.graph.nodes import ALTERNATIVE_MARGIN, answer_bar, reply_facts
from copilot.retrieval.retriever import Fusion, Retriever, entry_threshold
from copilot.settings import Settings


def main(path: Path) -> None:
    dialogues = load_dialogues(path)
    copilot = Copilot(Settings(data_dir=Path(tempfile.mkdtemp())))
    copilot.import_bundled_once()
    # The retriever itself, in this process: its raw scores are what the fusion is fitted on.
    retriever = Retriever.open(copilot.settings.data_dir, copilot.settings.embedding_model)
    retriever.sync(copilot.store.live_answers())
    cues = copilot.cues
    phrasings = {e: len(a.questions) for e, a in retriever.answers().items()}
    # (dense per entry, lexical per entry, the turn's extra margin, correct entry ids or None
    # for quiet); turns the rules decide without the fusion are counted apart.
    rows = []
    fixed_hits = fixed_quiet = fixed_answer_turns = fixed_quiet_turns = 0
    for d in dialogues:
        for i, turn in enumerate(d.turns):
            previous = d.turns[i - 1] if i else None
            asked = previous.text if previous and previous.speaker == "agent" else None
            if not (turn.expect_answer or turn.expect_no_answer):
                continue
            correct = None
            if turn.expect_answer:
                correct = {
                    entry_id
                    for entry_id, answer in retriever.answers().items()
                    if any(p in answer.answer for p in turn.expect_answer)
                }
            form = cues.form_facts(turn.text)
            # as the graph's understand node decides
            if form or cues.is_statement(turn.text, after=asked):
                shown = [cues.fixed_answers[f] for f in form]
                if correct is None:
                    fixed_quiet_turns += 1
                    fixed_quiet += not shown
                else:
                    fixed_answer_turns += 1
                    fixed_hits += bool(shown) and shown[0] in correct
                continue
            facts = cues.facts("customer", turn.text) + reply_facts(cues, turn.model_dump(), asked)
            margin = answer_bar(0.0, facts)
            rows.append((retriever.raw_scores(turn.text, d.direction), margin, correct))
    n_answer = sum(1 for *_, c in rows if c is not None) + fixed_answer_turns
    n_quiet = sum(1 for *_, c in rows if c is None) + fixed_quiet_turns
    print(f"{n_answer} answer turns, {n_quiet} quiet turns ({fixed_quiet_turns} decided by cues)")
    best = None
    for weight, saturation in itertools.product([0.5, 0.6, 0.7, 0.8, 0.9], [4, 6, 10, 16, 24]):
        fusion = Fusion(dense_weight=weight, lexical_saturation=saturation)
        # raw dense scores were aggregated with the default top-k; only the mix is tuned here
        tops = []
        for (dense, lexical), margin, correct in rows:
            scored = sorted(
                (
                    (fusion.score(dense.get(e, 0.0), lexical.get(e, 0.0)), e)
                    for e in dense.keys() | lexical.keys()
                ),
                reverse=True,
            )
            tops.append((scored[:3], margin, correct))
        for threshold in np.arange(0.30, 0.80, 0.01):
            hit1 = hit3 = fixed_hits
            quiet = fixed_quiet
            for scored, margin, correct in tops:
                shown = (
                    [e for s, e in scored if s >= threshold - ALTERNATIVE_MARGIN]
                    if scored
                    and scored[0][0] >= entry_threshold(threshold, phrasings[scored[0][1]]) + margin
                    else []
                )
                if correct is None:
                    quiet += not shown
                else:
                    hit1 += bool(shown) and shown[0] in correct
                    hit3 += any(e in correct for e in shown[:3])
            quiet_rate = quiet / n_quiet
            key = (quiet_rate >= 0.95, hit1, hit3, quiet)
            if best is None or key > best[0]:
                best = (key, weight, saturation, round(float(threshold), 2))
    (_, hit1, hit3, quiet), weight, saturation, threshold = best  # type: ignore[misc]
    print(
        f"best: dense_weight={weight} saturation={saturation} threshold={threshold}: "
        f"hit@1={hit1 / n_answer:.3f} hit@3={hit3 / n_answer:.3f} "
        f"quiet={quiet / n_quiet:.3f}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "eval/datasets/dev.jsonl"))
