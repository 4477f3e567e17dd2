"""Hybrid retrieval: dense similarity and BM25 fused into one calibrated score per entry.

The fused score is absolute, not a rank: it is what decides "no answer", so a turn that nothing
in the knowledge base answers (plain agreement, small talk, a number) stays quiet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from copilot.knowledge.models import Answer
from copilot.knowledge.store import LiveEntry
from copilot.retrieval.embedding import Embedder
from copilot.retrieval.lexical import LexicalIndex
from copilot.retrieval.text import Tokenizer, clean
from copilot.retrieval.vector_index import VectorIndex

Mode = Literal["hybrid", "dense", "lexical"]


@dataclass(frozen=True)
class Fusion:
    """How the two rankers combine; fitted on the dev split (eval/tune_retrieval.py)."""

    dense_weight: float = 0.5
    #: BM25 scores are unbounded; s / (s + saturation) maps them onto [0, 1).
    lexical_saturation: float = 4.0

    def score(self, dense: float, lexical: float) -> float:
        lexical_part = lexical / (lexical + self.lexical_saturation)
        return self.dense_weight * dense + (1.0 - self.dense_weight) * lexical_part


@dataclass(frozen=True)
class Hit:
    answer: Answer
    version: int
    score: float


class Retriever:
    """Answers the question "which approved answer fits this customer turn, if any?"."""

    def __init__(
        self,
        embedder: Embedder,
        vectors: VectorIndex,
        tokenizer: Tokenizer,
        fusion: Fusion | None = None,
    ) -> None:
        self._embedder = embedder
        self._vectors = vectors
        self._tokenizer = tokenizer
        self._fusion = fusion or Fusion()
        self._live: dict[str, LiveEntry[Answer]] = {}
        self._lexical = LexicalIndex(tokenizer, [])

    # ----- indexing path -------------------------------------------------------------------
    def sync(self, live_answers: list[LiveEntry[Answer]]) -> int:
        """Make the index serve exactly these versions; returns how many entries it re-embedded."""
        wanted = {e.doc.id: e for e in live_answers}
        indexed = self._vectors.indexed_versions()
        changed = 0
        for entry_id in indexed.keys() - wanted.keys():
            self._vectors.remove(entry_id)
            changed += 1
        for entry_id, entry in wanted.items():
            if indexed.get(entry_id) != entry.version:
                self._vectors.upsert(entry.doc, entry.version)
                changed += 1
        self._live = wanted
        self._lexical = LexicalIndex(self._tokenizer, [e.doc for e in live_answers])
        return changed

    # ----- query path ----------------------------------------------------------------------
    def raw_scores(self, text: str, direction: str) -> tuple[dict[str, float], dict[str, float]]:
        """Per-entry dense similarity and BM25 score for the entries serving `direction`."""
        query = clean(text)
        dense: dict[str, float] = {}
        for hit in self._vectors.search(self._embedder.encode([query])[0]):
            dense[hit.entry_id] = max(dense.get(hit.entry_id, 0.0), hit.similarity)
        lexical = self._lexical.best_per_entry(query)
        serves = {
            e
            for e in dense.keys() | lexical.keys()
            if e in self._live and self._live[e].doc.serves(direction)
        }
        return (
            {e: s for e, s in dense.items() if e in serves},
            {e: s for e, s in lexical.items() if e in serves},
        )

    def answers(self) -> dict[str, Answer]:
        return {entry_id: live.doc for entry_id, live in self._live.items()}

    def search(
        self, text: str, direction: str, *, limit: int = 3, mode: Mode = "hybrid"
    ) -> list[Hit]:
        """Live answers for `direction`, best first, with fused scores (no threshold applied)."""
        query = clean(text)
        dense: dict[str, float] = {}
        if mode != "lexical":
            for hit in self._vectors.search(self._embedder.encode([query])[0]):
                dense[hit.entry_id] = max(dense.get(hit.entry_id, 0.0), hit.similarity)
        lexical = self._lexical.best_per_entry(query) if mode != "dense" else {}
        hits = []
        for entry_id in dense.keys() | lexical.keys():
            live = self._live.get(entry_id)
            if live is None or not live.doc.serves(direction):
                continue
            d, lx = dense.get(entry_id, 0.0), lexical.get(entry_id, 0.0)
            if mode == "dense":
                score = d
            elif mode == "lexical":
                score = lx / (lx + self._fusion.lexical_saturation)
            else:
                score = self._fusion.score(d, lx)
            hits.append(Hit(answer=live.doc, version=live.version, score=score))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]

    @property
    def entry_count(self) -> int:
        return len(self._live)
