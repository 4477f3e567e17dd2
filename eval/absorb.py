"""Turn a measured held-out set into indexed phrasings.

    uv run python eval/absorb.py eval/datasets/heldout7.jsonl [...]

A held-out set is measured once, at first sight, and its figure recorded; after that its answer
turns are what they always were, real ways customers put each question, from a writer the
knowledge editors never were. Indexing them widens every entry's vocabulary (leave-one-set-out
on the first five sets: hit@3 +0.4 to +3.4 points on the set left out), and the next fresh set
measures the result. The phrasings are appended to each entry's `questions` in
`knowledge/answers/*.yaml` under a comment naming the set, so a reviewer sees where they came
from; the approved answers themselves are untouched.

A turn goes to the one entry whose approved answer holds its expected wording: the entry that
holds the most of its phrases, then the one whose seed item the turn's `topic` names. A turn
still matching several entries, or equal to a phrasing already indexed, is skipped.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

from copilot.knowledge.loader import load_path
from copilot.knowledge.models import Answer
from copilot.retrieval.text import bare
from copilot.settings import BUNDLED_KNOWLEDGE


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def owner(turn: dict, direction: str, answers: list[Answer]) -> Answer | None:
    """The entry a labelled answer turn belongs to, or None when its label is ambiguous."""
    phrases = [_squeeze(p) for p in turn["expect_answer"]]
    held = {a.id: sum(p in _squeeze(a.answer) for p in phrases) for a in answers}
    candidates = [a for a in answers if held[a.id] and a.serves(direction)]
    if candidates:
        most = max(held[a.id] for a in candidates)
        candidates = [a for a in candidates if held[a.id] == most]
    if len(candidates) > 1 and turn.get("topic"):
        label = re.escape(turn["topic"].split(" ", 1)[-1]) + r"(?!\d)"
        candidates = [a for a in candidates if re.search(label, a.source)] or candidates
    return candidates[0] if len(candidates) == 1 else None


def _yaml_item(text: str) -> str:
    """One list item, quoted only where plain YAML would read it differently."""
    try:
        plain = yaml.safe_load(f"- {text}") == [text]
    except yaml.YAMLError:
        plain = False
    return f"  - {text}" if plain else f"  - {json.dumps(text, ensure_ascii=False)}"


def insert(source: str, entry_id: str, comment: str, texts: list[str]) -> str:
    """`source` (one YAML file) with `texts` appended to the entry's questions list."""
    lines = source.split("\n")
    start = lines.index(f"id: {entry_id}")
    at = next(i for i in range(start, len(lines)) if lines[i] == "questions:") + 1
    while at < len(lines) and (lines[at].startswith("  ") or lines[at].strip() == ""):
        at += 1
    while lines[at - 1].strip() == "":
        at -= 1
    lines[at:at] = [f"  # {comment}", *(_yaml_item(t) for t in texts)]
    return "\n".join(lines)


def absorb(dataset: Path, knowledge: Path = BUNDLED_KNOWLEDGE) -> tuple[int, int]:
    """Append the set's answer turns to their entries; returns (added, skipped)."""
    answers = [d for d in load_path(knowledge).docs if isinstance(d, Answer)]
    indexed = {bare(q) for a in answers for q in a.questions}
    new: dict[str, list[str]] = {}
    skipped = 0
    for line in dataset.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        dialogue = json.loads(line)
        for turn in dialogue["turns"]:
            if turn.get("speaker") != "customer" or not turn.get("expect_answer"):
                continue
            entry = owner(turn, dialogue.get("direction", "outbound"), answers)
            if entry is None or bare(turn["text"]) in indexed:
                skipped += 1
                continue
            indexed.add(bare(turn["text"]))
            new.setdefault(entry.id, []).append(turn["text"].strip())
    added = sum(len(texts) for texts in new.values())
    comment = f"customer turns of eval/datasets/{dataset.name}, indexed after its first measurement"
    for path in sorted((knowledge / "answers").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        for entry_id in [e for e in new if f"\nid: {e}\n" in f"\n{text}"]:
            text = insert(text, entry_id, comment, new.pop(entry_id))
        path.write_text(text, encoding="utf-8")
    assert not new, f"entries not found in {knowledge}/answers: {sorted(new)}"
    faults = load_path(knowledge).faults
    assert not faults, "\n".join(map(str, faults))  # an edit broke a file: do not commit it
    return added, skipped


if __name__ == "__main__":
    for name in sys.argv[1:]:
        added, skipped = absorb(Path(name))
        print(f"{name}: {added} phrasings added, {skipped} turns skipped")
