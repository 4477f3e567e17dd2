"""BM25 over Chinese tokens (jieba words + character bigrams) of the indexed phrasings.

Built in memory from the live answers in milliseconds, so it is simply rebuilt when an entry
changes; only the dense index is persistent and updated entry by entry.
"""

from __future__ import annotations

import bm25s
import numpy as np

from copilot.knowledge.models import Answer
from copilot.retrieval.text import Tokenizer


class LexicalIndex:
    def __init__(self, tokenizer: Tokenizer, answers: list[Answer]) -> None:
        self._tokenizer = tokenizer
        self._entry_of: list[str] = []
        corpus: list[list[str]] = []
        for answer in answers:
            for question in answer.questions:
                corpus.append(tokenizer.tokens(question))
                self._entry_of.append(answer.id)
        self._bm25 = bm25s.BM25()
        if corpus:
            self._bm25.index(corpus, show_progress=False)

    def best_per_entry(self, query: str) -> dict[str, float]:
        """The best BM25 score of each entry's phrasings for this query (entries with score > 0)."""
        tokens = self._tokenizer.tokens(query)
        if not self._entry_of or not tokens:
            return {}
        scores = self._bm25.get_scores(tokens)
        best: dict[str, float] = {}
        for i in np.flatnonzero(scores > 0):
            entry = self._entry_of[i]
            best[entry] = max(best.get(entry, 0.0), float(scores[i]))
        return best
