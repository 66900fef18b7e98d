"""Retrieval: dense (FAISS) + lexical (BM25) + catalog alias signals, fused into one score.

`Searcher` works on one immutable IndexVersion. `KnowledgeBase` owns the current
Searcher and swaps in a new one when a new index version is published, so requests
in flight finish on the version they started with.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.bm25 import BM25
from knowledge.catalog import Catalog
from knowledge.documents_model import Passage
from knowledge.embedding import Embedder
from knowledge.index_store import IndexStore, IndexUnavailable, IndexVersion

log = logging.getLogger(__name__)


@dataclass
class Hit:
    passage: Passage
    score: float
    dense: float
    lexical: float
    alias: float

    def source(self) -> dict:
        p = self.passage
        return {"doc_id": p.doc_id, "title": p.title, "service": p.service, "url": p.url,
                "score": round(float(self.score), 4)}


@dataclass(frozen=True)
class FusionWeights:
    dense: float = 0.45
    lexical: float = 0.35
    alias: float = 0.20
    lexical_saturation: float = 8.0  # BM25 score at which the lexical signal reaches 0.5


class Searcher:
    def __init__(self, version: IndexVersion, embedder: Embedder, catalog: Catalog,
                 weights: FusionWeights = FusionWeights()):
        self.version = version
        self.embedder = embedder
        self.catalog = catalog
        self.weights = weights
        self.passages = version.passages
        self.bm25 = BM25([_lexical_text(p) for p in self.passages])

    def search(self, query: str, k: int = 5, services: list[str] | None = None,
               candidates: int = 50) -> list[Hit]:
        if not self.passages or not query.strip():
            return []
        n = len(self.passages)
        w = self.weights
        dense = np.zeros(n, dtype="float32")
        qv = self.embedder.embed_query(query)
        sims, ids = self.version.index.search(qv.reshape(1, -1), min(candidates, n))
        for sim, idx in zip(sims[0], ids[0]):
            if idx >= 0:
                dense[idx] = sim
        lexical = np.zeros(n, dtype="float32")
        for idx, score in self.bm25.scores(query).items():
            lexical[idx] = score / (score + w.lexical_saturation)
        mentioned = {m.service_id for m in self.catalog.mentions(query)}
        alias = np.array([1.0 if p.service in mentioned else 0.0 for p in self.passages],
                         dtype="float32")
        fused = w.dense * dense + w.lexical * lexical + w.alias * alias
        order = np.argsort(-fused)
        hits = []
        for idx in order:
            passage = self.passages[idx]
            if services and passage.service not in services:
                continue
            hits.append(Hit(passage, float(fused[idx]), float(dense[idx]), float(lexical[idx]),
                            float(alias[idx])))
            if len(hits) >= k:
                break
        return hits


def _lexical_text(p: Passage) -> str:
    return " ".join([p.title, p.section, p.text, " ".join(p.aliases)])


class KnowledgeBase:
    """The served index: loads the current version, hot-swaps newer ones, never serves a bad one."""

    def __init__(self, store: IndexStore, embedder: Embedder, catalog: Catalog):
        self.store = store
        self.embedder = embedder
        self.catalog = catalog
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    @property
    def searcher(self) -> Searcher:
        searcher = self._searcher
        if searcher is None:
            raise IndexUnavailable(self.last_error or "knowledge index not loaded")
        return searcher

    @property
    def version(self) -> str | None:
        return self._searcher.version.version if self._searcher else None

    def load(self) -> str:
        """Load CURRENT; raises IndexUnavailable if it cannot be served."""
        with self._lock:
            version = self.store.load()
            self._searcher = Searcher(version, self.embedder, self.catalog)
            self.last_error = None
            return version.version

    def reload_if_changed(self) -> bool:
        """Swap in the CURRENT version if it is new and valid; keep serving the old one otherwise."""
        name = self.store.current_version_name()
        if not name or name == self.version:
            return False
        with self._lock:
            if name == self.version:
                return False
            try:
                version = self.store.load(name)
            except IndexUnavailable as exc:
                self.last_error = str(exc)
                log.error("new knowledge index not loaded, still serving %s: %s", self.version, exc)
                return False
            self._searcher = Searcher(version, self.embedder, self.catalog)
            self.last_error = None
            log.info("knowledge index switched to %s", name)
            return True

    def search(self, query: str, k: int = 5, services: list[str] | None = None) -> list[Hit]:
        return self.searcher.search(query, k=k, services=services)


def open_knowledge_base(index_dir: str | Path, embedder: Embedder, catalog: Catalog) -> KnowledgeBase:
    kb = KnowledgeBase(IndexStore(index_dir), embedder, catalog)
    kb.load()
    return kb
