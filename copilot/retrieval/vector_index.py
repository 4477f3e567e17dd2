"""The persistent Chroma collection of every customer phrasing of every live answer.

One record per phrasing, tagged with its entry id and version, so changing one entry re-embeds
that entry's phrasings only. The collection is named after the embedding model: switching the
model setting builds a fresh collection instead of mixing incompatible vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from copilot.knowledge.models import Answer
from copilot.retrieval.embedding import Embedder
from copilot.retrieval.text import clean


@dataclass(frozen=True)
class DenseHit:
    entry_id: str
    similarity: float


def open_chroma(data_dir: Path, server_url: str | None = None) -> chromadb.ClientAPI:
    """Embedded persistent Chroma in the data dir, or a Chroma server when one is configured."""
    settings = ChromaSettings(anonymized_telemetry=False)
    if server_url:
        host, _, port = server_url.removeprefix("http://").partition(":")
        return chromadb.HttpClient(host=host, port=int(port or 8000), settings=settings)
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)


class VectorIndex:
    def __init__(self, client: chromadb.ClientAPI, embedder: Embedder) -> None:
        self._embedder = embedder
        # embedding_function=None: Chroma must never load its own (downloading, English) model.
        self._collection = client.get_or_create_collection(
            f"phrasings-{embedder.name}",
            embedding_function=None,
            metadata={"hnsw:space": "cosine"},
        )

        self._max_batch = client.get_max_batch_size()
        records = self._collection.get(include=["metadatas"])
        #: entry id -> indexed version, read once: every later change goes through this object.
        self._versions = {m["entry_id"]: int(m["version"]) for m in records["metadatas"] or []}

    def indexed_versions(self) -> dict[str, int]:
        return dict(self._versions)

    def upsert(self, entries: list[tuple[Answer, int]]) -> None:
        """Replace these entries' phrasings (a question list may have shrunk). One embedding
        pass and one write for them all: the first start indexes every entry at once."""
        for answer, _ in entries:
            if answer.id in self._versions:  # a new entry has nothing to delete
                self.remove(answer.id)
        rows = [
            (answer, version, i, clean(q))
            for answer, version in entries
            for i, q in enumerate(answer.questions)
        ]
        vectors = self._embedder.encode([text for *_, text in rows]) if rows else []
        step = self._max_batch
        for start in range(0, len(rows), step):
            batch = rows[start : start + step]
            self._collection.add(
                ids=[f"{answer.id}#{i}" for answer, _, i, _ in batch],
                embeddings=vectors[start : start + step],
                documents=[text for *_, text in batch],
                metadatas=[
                    {"entry_id": answer.id, "version": version, "direction": answer.direction}
                    for answer, version, _, _ in batch
                ],
            )
        self._versions.update({answer.id: version for answer, version in entries})

    def remove(self, entry_id: str) -> None:
        self._collection.delete(where={"entry_id": entry_id})
        self._versions.pop(entry_id, None)

    def search(self, vector: np.ndarray, n: int = 20) -> list[DenseHit]:
        """Nearest phrasings, best first (cosine similarity, one hit per phrasing).

        Only distances are fetched: the entry id is in the record id, and skipping the metadata
        lookup halves the query time on the per-chunk hot path.
        """
        result = self._collection.query(
            query_embeddings=[vector], n_results=n, include=["distances"]
        )
        return [
            DenseHit(entry_id=record_id.rpartition("#")[0], similarity=1.0 - float(dist))
            for record_id, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]
