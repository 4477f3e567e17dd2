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
        #: entries with phrasings, and where each one's rows start: an entry's phrasings are
        #: consecutive rows, so its best score is one numpy reduction (no loop per phrasing)
        self._entries: list[str] = []
        starts: list[int] = []
        corpus: list[list[str]] = []
        for answer in answers:
            if answer.questions:
                self._entries.append(answer.id)
                starts.append(len(corpus))
                corpus.extend(tokenizer.tokens(q) for q in answer.questions)
        self._starts = np.asarray(starts, dtype=np.int64)
        self._bm25 = bm25s.BM25()
        if corpus:
            self._bm25.index(corpus, show_progress=False)

    def best_per_entry(self, query: str) -> dict[str, float]:
        """The best BM25 score of each entry's phrasings for this query (entries with score > 0)."""
        tokens = self._tokenizer.tokens(query)
        if not self._entries or not tokens:
            return {}
        best = np.maximum.reduceat(self._bm25.get_scores(tokens), self._starts)
        return {self._entries[i]: float(best[i]) for i in np.flatnonzero(best > 0)}
