"""Hybrid retrieval: dense similarity and BM25 fused into one calibrated score per entry.

The fused score is absolute, not a rank: it is what decides "no answer", so a turn that nothing
in the knowledge base answers (plain agreement, small talk, a number) stays quiet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from copilot.knowledge.models import Answer
from copilot.knowledge.store import LiveEntry
from copilot.retrieval.embedding import Embedder, load_embedder
from copilot.retrieval.lexical import LexicalIndex
from copilot.retrieval.text import Tokenizer, clean
from copilot.retrieval.vector_index import VectorIndex, open_chroma

Mode = Literal["hybrid", "dense", "lexical"]

#: The search a start-up runs once the index is served, so the first customer's is not cold.
_WARM_UP = "你好，请问你们是哪里"


@dataclass(frozen=True)
class Fusion:
    """How the two rankers combine; fitted on the dev split (eval/tune_retrieval.py)."""

    dense_weight: float = 0.6
    #: BM25 scores are unbounded; s / (s + saturation) maps them onto [0, 1).
    lexical_saturation: float = 10.0
    #: An entry's dense score is the mean of its best `dense_top_k` phrasings: several close
    #: phrasings are stronger evidence than one lucky neighbour.
    dense_top_k: int = 3
    #: Phrasings fetched from the vector index per query; an entry's phrasings that did not
    #: make the cut count as the weakest one fetched.
    dense_candidates: int = 40

    def dense(self, similarities: list[float], floor: float) -> float:
        best = sorted(similarities, reverse=True)[: self.dense_top_k]
        return (sum(best) + floor * (self.dense_top_k - len(best))) / self.dense_top_k

    def lexical(self, bm25: float) -> float:
        return bm25 / (bm25 + self.lexical_saturation)

    def score(self, dense: float, lexical: float) -> float:
        return self.dense_weight * dense + (1.0 - self.dense_weight) * self.lexical(lexical)


#: An entry phrased many ways has, by chance alone, more phrasings close to any turn (the mean of
#: its best three rises with their number), so its answer must score higher to be shown. Above
#: THIN_ENTRY phrasings the threshold rises by RICHNESS_MARGIN per natural-log unit: an entry of 56
#: needs 0.036 more than one an editor has just written with five. Chosen by leave-one-set-out over
#: heldout7-12 (each set measured against an index holding the other five).
RICHNESS_MARGIN = 0.015
THIN_ENTRY = 5


def entry_threshold(threshold: float, phrasings: int) -> float:
    """The answer threshold for an entry indexed with `phrasings` customer phrasings."""
    return threshold + RICHNESS_MARGIN * max(0.0, math.log(phrasings / THIN_ENTRY))


@dataclass(frozen=True)
class Hit:
    answer: Answer
    version: int
    score: float
    #: shown because the best hit links to it (`Answer.related`), whatever its own score
    related: bool = False


class ServedEntries:
    """The approved versions being served, by entry id (the retriever's and its process's)."""

    def __init__(self) -> None:
        self._live: dict[str, LiveEntry[Answer]] = {}

    def live(self, entry_id: str) -> LiveEntry[Answer] | None:
        """The served version of one entry, if it is live."""
        return self._live.get(entry_id)

    def answers(self) -> dict[str, Answer]:
        return {entry_id: live.doc for entry_id, live in self._live.items()}

    @property
    def entry_count(self) -> int:
        return len(self._live)


class Retriever(ServedEntries):
    """Answers the question "which approved answer fits this customer turn, if any?"."""

    def __init__(
        self,
        embedder: Embedder,
        vectors: VectorIndex,
        tokenizer: Tokenizer,
        fusion: Fusion | None = None,
    ) -> None:
        super().__init__()
        self._embedder = embedder
        self._vectors = vectors
        self._tokenizer = tokenizer
        self._fusion = fusion or Fusion()
        self._lexical = LexicalIndex(tokenizer, [])
        #: whether the warm-up search ran: a process's first search loads the model's weights and
        #: the Chroma segment (1.6 s on a data dir indexed before); no customer should wait for it
        self._warm = False

    @classmethod
    def open(cls, data_dir: Path, embedding_model: str) -> Retriever:
        """The retriever over the data dir's persistent Chroma index, with the named model."""
        embedder = load_embedder(embedding_model)
        return cls(embedder, VectorIndex(open_chroma(data_dir), embedder), Tokenizer())

    # ----- indexing path -------------------------------------------------------------------
    def sync(self, live_answers: list[LiveEntry[Answer]]) -> int:
        """Make the index serve exactly these versions; returns how many entries it re-embedded."""
        wanted = {e.doc.id: e for e in live_answers}
        indexed = self._vectors.indexed_versions()
        changed = 0
        for entry_id in indexed.keys() - wanted.keys():
            self._vectors.remove(entry_id)
            changed += 1
        stale = [(e.doc, e.version) for e in wanted.values() if indexed.get(e.doc.id) != e.version]
        self._vectors.upsert(stale)
        changed += len(stale)
        self._live = wanted
        self._lexical = LexicalIndex(self._tokenizer, [e.doc for e in live_answers])
        if not self._warm and wanted:
            self.search(_WARM_UP, "outbound")
            self._warm = True
        return changed

    # ----- query path ----------------------------------------------------------------------
    def raw_scores(self, text: str, direction: str) -> tuple[dict[str, float], dict[str, float]]:
        """Per-entry dense score and BM25 score, for the entries serving `direction`."""
        query = clean(text)
        nearest = self._vectors.search(
            self._embedder.encode([query])[0], n=self._fusion.dense_candidates
        )
        per_entry: dict[str, list[float]] = {}
        for hit in nearest:
            per_entry.setdefault(hit.entry_id, []).append(hit.similarity)
        floor = nearest[-1].similarity if nearest else 0.0
        lexical = self._lexical.best_per_entry(query)
        serving = {
            e
            for e in per_entry.keys() | lexical.keys()
            if e in self._live and self._live[e].doc.serves(direction)
        }
        dense = {e: self._fusion.dense(per_entry.get(e, []), floor) for e in serving}
        return dense, {e: lexical.get(e, 0.0) for e in serving}

    def search(
        self, text: str, direction: str, *, limit: int = 3, mode: Mode = "hybrid"
    ) -> list[Hit]:
        """Live answers for `direction`, best first, with fused scores (no threshold applied)."""
        dense, lexical = self.raw_scores(text, direction)
        if mode == "dense":
            scores = dense
        elif mode == "lexical":
            scores = {e: self._fusion.lexical(s) for e, s in lexical.items()}
        else:
            scores = {e: self._fusion.score(dense[e], lexical[e]) for e in dense}
        ranked = sorted(scores, key=scores.__getitem__, reverse=True)
        related = self._related(ranked[0], direction) if ranked else []
        order = ranked[:1] + related + [e for e in ranked[1:] if e not in related]
        return [
            Hit(
                answer=self._live[e].doc,
                version=self._live[e].version,
                # a linked entry neither ranker fetched scores as the weakest one fetched
                score=scores.get(e, self._fusion.score(min(dense.values(), default=0.0), 0.0)),
                related=e in related,
            )
            for e in order[:limit]
        ]

    def _related(self, entry_id: str, direction: str) -> list[str]:
        """The live entries `entry_id` links to that serve this call's direction."""
        return [
            e
            for e in self._live[entry_id].doc.related
            if e in self._live and self._live[e].doc.serves(direction)
        ]
