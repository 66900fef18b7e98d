"""Retrieval: which services and passages answer a citizen's question.

Four signals, fused by weighted reciprocal rank fusion (RRF) at the level of services:
- service names: BM25 over one "card" per service (catalog name and aliases, document
  titles and front-matter aliases) -- the strongest signal for short questions;
- passages: BM25 over every passage (title, heading, text, aliases), folded and segmented;
- dense: FAISS cosine similarity of the question and passage embeddings (with an embedder that
  reads tone marks, a question typed without them gets them back first: tonemarks.py);
- named services: a catalog or document alias found in the question ("lltp", "cccd",
  "nhập khẩu") puts that service first.
Passages are then ordered by their service's rank and, within a service, by their own
lexical + dense score. Every hit also carries the evidence the answer/decline decision
needs (`knowledge/decision.py`): how much of the question the service's documents cover,
whether the service was named, the raw lexical and dense similarity.

The steps are small functions: `Searcher.signals` (one question's scores), `fuse_services`
(RRF), `within_service`, `diverse_order` (which passages to show) and `CoverageScorer`.
A Searcher refuses an index embedded by another model than the configured one.

`Searcher` works on one immutable IndexVersion. `KnowledgeBase` owns the current
Searcher and swaps in a new one when a new index version is published, so requests
in flight finish on the version they started with.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from knowledge.bm25 import BM25, Analyzer
from knowledge.catalog import Catalog, ServiceMention
from knowledge.documents_model import Passage
from knowledge.embedding import BaseEmbedder, manifest_identity, same_embedder
from knowledge.index_store import IndexStore, IndexUnavailable, IndexVersion
from knowledge.scope import ScopeLexicon, default_scope_lexicon
from knowledge.segmentation import learn_segmenter
from knowledge.textnorm import fold
from knowledge.tonemarks import is_unmarked, restorer_for

log = logging.getLogger(__name__)


@dataclass
class Hit:
    passage: Passage
    score: float  # fused relevance in [0, 1], best first
    dense: float = 0.0  # cosine similarity of question and passage
    lexical: float = 0.0  # passage BM25, saturated into [0, 1)
    alias: float = 0.0  # 1.0 when the question names this passage's service
    coverage: float = 0.0  # share of the question's content words found in the service's documents
    service_rank: int = 0  # 1-based rank of this passage's service
    missing: list[str] = field(default_factory=list)  # content words the service does not cover
    out_of_scope: float = 0.0  # weight of the strongest out-of-scope cue in the question (scope.py)
    out_of_scope_topic: str = ""  # its label, e.g. "dịch vụ ngân hàng"
    service_dense: float | None = None  # best cosine of the service's passages (None: not used)

    def source(self) -> dict:
        p = self.passage
        return {"doc_id": p.doc_id, "title": p.title, "service": p.service, "url": p.url,
                "score": round(float(self.score), 4)}


@dataclass(frozen=True)
class FusionWeights:
    card: float = 1.0  # BM25 over service cards
    passage: float = 1.0  # BM25 over passages
    dense: float = 0.5  # dense cosine
    named: float = 1.5  # service named by an alias
    rrf_k: float = 5.0  # small: the top few ranks matter most
    lexical_saturation: float = 8.0  # passage BM25 at which `lexical` reaches 0.5
    passage_dense: float = 0.5  # within a service: weight of dense vs. lexical
    dense_candidates: int = 100


# With the multilingual E5 the dense side knows Vietnamese and weighs more in choosing the
# service (chosen by bench/decision_cv.py, grouped cross-validation; docs/eval.md). Within a
# service its cosines sit in a narrow band (about 0.8-0.95) and ordering the passages by words
# alone gave the answering stage more of the asked facts (docs/eval.md, issue 14).
SEMANTIC_WEIGHTS = FusionWeights(dense=2.0, passage_dense=0.0)


def default_weights(embedder) -> FusionWeights:
    return SEMANTIC_WEIGHTS if getattr(embedder, "semantic_evidence", False) else FusionWeights()


class CoverageScorer:
    """How much of a question the services' documents talk about (decision evidence).

    What each service's documents talk about: the procedure sections and the service's names.
    The answers of "Câu hỏi thường gặp" (sections that are questions) are left out: they mention
    neighbouring topics to say how they differ ("người nước ngoài thì…"), and the decision's
    weights were fitted on what the procedure sections cover."""

    def __init__(self, analyzer: Analyzer, passages: list[Passage], services: list[str],
                 cards: dict[str, list[str]]):
        self.analyzer = analyzer
        self.services = services
        index = {s: i for i, s in enumerate(services)}
        self.service_words: list[set[str]] = [set() for _ in services]
        for p in passages:
            if p.section.rstrip().endswith("?"):
                continue
            self.service_words[index[p.service]].update(analyzer.content_words(_passage_text(p)))
        for s in services:
            for name in cards[s]:
                self.service_words[index[s]].update(analyzer.content_words(name))
        df: dict[str, int] = defaultdict(int)
        for vocabulary in self.service_words:
            for word in vocabulary:
                df[word] += 1
        self.word_df = dict(df)

    def coverage(self, query_words: list[str], s_idx: int) -> tuple[float, list[str]]:
        """IDF-weighted share of the question's content words that the service's documents use.

        A word no service uses weighs the most: "casino", "xổ số", "cung hoàng đạo" are what
        makes a question about something we do not cover."""
        if not query_words:
            return 0.0, []
        vocabulary = self.service_words[s_idx]
        total = covered = 0.0
        missing = []
        m = len(self.services)
        for word in dict.fromkeys(query_words):
            weight = np.log(1 + (m + 0.5) / (self.word_df.get(word, 0) + 0.5))
            total += weight
            if word in vocabulary:
                covered += weight
            else:
                missing.append(word)
        return (covered / total if total else 0.0), missing


@dataclass
class Signals:
    """Everything one question scores, per passage (n) or per service (m)."""

    lexical: np.ndarray  # (n,) passage BM25
    card: np.ndarray  # (m,) service-card BM25
    dense: np.ndarray  # (n,) cosine, 0 outside the dense candidates
    named: list[str]  # services named by an alias, longest mention first
    named_flags: np.ndarray  # (m,) 1.0 for a named service
    dense_used: bool = True  # False when the semantic side was skipped


def fuse_services(signals: Signals, passage_service: np.ndarray, service_index: dict[str, int],
                  w: FusionWeights) -> np.ndarray:
    """Service-level weighted RRF of the signals, scaled into [0, 1] (1 = first everywhere).

    Each signal ranks the services by its best passage; ties share the better rank."""
    m = len(signals.card)
    service_best_lex = _max_by_group(signals.lexical, passage_service, m)
    fused = (w.card * _rrf(signals.card, w.rrf_k) + w.passage * _rrf(service_best_lex, w.rrf_k))
    dense_weight = w.dense if signals.dense_used else 0.0
    if dense_weight:
        service_best_dense = _max_by_group(signals.dense, passage_service, m)
        fused = fused + dense_weight * _rrf(service_best_dense, w.rrf_k, positive_only=False)
    if signals.named:
        for rank, s in enumerate(signals.named, 1):
            fused[service_index[s]] += w.named / (w.rrf_k + rank)
    best_possible = (w.card + w.passage + dense_weight + (w.named if signals.named else 0.0)) \
        / (w.rrf_k + 1)
    return fused / best_possible


def within_service(signals: Signals, w: FusionWeights) -> tuple[np.ndarray, np.ndarray]:
    """Each passage's own score (to order passages of one service) and its saturated BM25."""
    saturated = signals.lexical / (signals.lexical + w.lexical_saturation)
    if not signals.dense_used:
        return saturated, saturated
    within = (1 - w.passage_dense) * saturated + w.passage_dense * np.clip(signals.dense, 0, 1)
    return within, saturated


def diverse_order(service_order: list[int], passage_service: np.ndarray, within: np.ndarray,
                  k: int, allowed: set[int] | None = None) -> list[int]:
    """The passages to show, best first: the top service's three best passages (the answer and
    its neighbour sections), then the best passage of the next two services (diverse sources
    and buttons), then the rest, `k` in all."""
    ordered: list[int] = []
    seen_services = 0
    for s_idx in service_order:
        if allowed is not None and s_idx not in allowed:
            continue
        members = np.flatnonzero(passage_service == s_idx)
        ordered.extend(int(i) for i in members[np.argsort(-within[members], kind="stable")])
        seen_services += 1
        # Enough passages, from at least three services (a service with a long FAQ can
        # alone fill 4k passages; the next services must still be offered).
        if len(ordered) >= 4 * k and seen_services >= 3:
            break
    top_service = passage_service[ordered[0]] if ordered else -1
    head = [i for i in ordered if passage_service[i] == top_service][:3]
    seconds: list[int] = []
    for idx in ordered:
        service = passage_service[idx]
        if service != top_service and all(passage_service[j] != service for j in seconds):
            seconds.append(idx)
        if len(seconds) == 2:
            break
    picked = head + seconds
    picked += [i for i in ordered if i not in picked]
    return picked[:k]


class Searcher:
    def __init__(self, version: IndexVersion, embedder: BaseEmbedder, catalog: Catalog,
                 weights: FusionWeights | None = None, scope: ScopeLexicon | None = None,
                 unmarked: str | None = None):
        check_index_compatible(version, embedder)
        self.version = version
        self.embedder = embedder
        self.catalog = catalog
        self.weights = weights or default_weights(embedder)
        self.passages = version.passages
        self.services = sorted({p.service for p in self.passages})
        self.service_index = {s: i for i, s in enumerate(self.services)}
        self.passage_service = np.array([self.service_index[p.service] for p in self.passages],
                                        dtype=np.int64)
        cards = self._service_cards()
        names = [name for names in cards.values() for name in names]
        self.analyzer = Analyzer(learn_segmenter(
            [_passage_text(p) for p in self.passages], extra_words=names))
        self.bm25 = BM25([self.analyzer.terms(_passage_text(p)) for p in self.passages])
        self.card_bm25 = BM25([self.analyzer.terms(" . ".join(cards[s])) for s in self.services])
        self.coverage_scorer = CoverageScorer(self.analyzer, self.passages, self.services, cards)
        self.service_words = self.coverage_scorer.service_words
        self.word_df = self.coverage_scorer.word_df
        self.aliases = _AliasIndex(self.catalog, self.passages)
        bodies: dict[str, list[str]] = defaultdict(list)
        for p in self.passages:
            bodies[p.doc_id].append(p.text)
        # What documents are about: names and section headings, but not the questions of
        # their "Câu hỏi thường gặp" (an FAQ may mention a topic to say it is not ours).
        self.scope = (scope or default_scope_lexicon()).weakened(
            names + sorted({p.section for p in self.passages if not p.section.rstrip().endswith("?")}),
            ["\n".join(texts) for texts in bodies.values()])
        # Questions typed without tone marks, for an embedder that reads the marks:
        # "restore" them from our texts' statistics, or leave the semantic side out ("lexical").
        self.unmarked = unmarked or os.environ.get("TROLYAO_UNMARKED_QUERIES", "restore")
        self.restorer = None
        if getattr(embedder, "reads_tone_marks", False) and self.unmarked == "restore":
            self.restorer = restorer_for(
                [f"{p.title}. {p.section}. {p.text}" for p in self.passages], names)

    def _service_cards(self) -> dict[str, list[str]]:
        cards: dict[str, list[str]] = {s: [] for s in self.services}
        for s in self.services:
            if s in self.catalog:
                cards[s].extend(self.catalog.by_id[s].all_names())
        seen: set[tuple[str, str]] = set()
        for p in self.passages:
            for name in [p.title, *p.aliases]:
                if (p.service, name) not in seen:
                    seen.add((p.service, name))
                    cards[p.service].append(name)
        return cards

    # ------------------------------------------------------------ signals
    def named_services(self, query: str) -> list[str]:
        """Services the question names by a catalog or document alias, longest mention first."""
        return [s for s in self.aliases.services(query) if s in self.service_index]

    def semantic_text(self, query: str) -> str | None:
        """What the embedder reads for this question; None to leave the semantic side out."""
        if getattr(self.embedder, "reads_tone_marks", False) and is_unmarked(query):
            if self.restorer is not None:
                return self.restorer.restore(query)
            if self.unmarked == "lexical":
                return None
        return query

    def signals(self, query: str, candidates: int | None = None) -> Signals:
        n, m = len(self.passages), len(self.services)
        terms = self.analyzer.terms(query)
        lexical = np.zeros(n, dtype="float32")
        for idx, score in self.bm25.scores(terms).items():
            lexical[idx] = score
        card = np.zeros(m, dtype="float32")
        for idx, score in self.card_bm25.scores(terms).items():
            card[idx] = score
        named = self.named_services(query)
        named_flags = np.zeros(m, dtype="float32")
        for s in named:
            named_flags[self.service_index[s]] = 1.0
        semantic = self.semantic_text(query)
        if semantic is None:
            dense = np.zeros(n, dtype="float32")
        else:
            dense = self._dense(semantic, candidates or self.weights.dense_candidates)
        return Signals(lexical, card, dense, named, named_flags, semantic is not None)

    # ------------------------------------------------------------ search
    def search(self, query: str, k: int = 5, services: list[str] | None = None,
               candidates: int | None = None) -> list[Hit]:
        if not self.passages or not query.strip():
            return []
        w = self.weights
        signals = self.signals(query, candidates)
        service_score = fuse_services(signals, self.passage_service, self.service_index, w)
        service_order = [int(i) for i in np.argsort(-service_score, kind="stable")]
        service_rank = {idx: r for r, idx in enumerate(service_order, 1)}
        within, saturated = within_service(signals, w)
        allowed = {self.service_index[s] for s in services if s in self.service_index} \
            if services else None
        picked = diverse_order(service_order, self.passage_service, within, k, allowed)
        return self._hits(query, picked, signals, service_score, service_rank, within, saturated)

    def _hits(self, query, picked, signals, service_score, service_rank, within, saturated
              ) -> list[Hit]:
        query_words = self.analyzer.content_words(query)
        cue_weight, cue = self.scope.strength(query)
        service_dense = _max_by_group(signals.dense, self.passage_service, len(self.services))
        # Only a model that understands Vietnamese gives similarities the decision can trust.
        semantic_evidence = signals.dense_used and getattr(self.embedder, "semantic_evidence", False)
        coverage_cache: dict[int, tuple[float, list[str]]] = {}
        hits = []
        for idx in picked:
            s_idx = int(self.passage_service[idx])
            if s_idx not in coverage_cache:
                coverage_cache[s_idx] = self.coverage_scorer.coverage(query_words, s_idx)
            cov, missing = coverage_cache[s_idx]
            score = float(service_score[s_idx]) * (0.75 + 0.25 * float(within[idx]))
            hits.append(Hit(self.passages[idx], round(min(score, 1.0), 6), float(signals.dense[idx]),
                            float(saturated[idx]), float(signals.named_flags[s_idx]), cov,
                            service_rank[s_idx], missing, cue_weight, cue.label if cue else "",
                            float(service_dense[s_idx]) if semantic_evidence else None))
        return hits

    def _dense(self, query: str, candidates: int) -> np.ndarray:
        n = len(self.passages)
        dense = np.zeros(n, dtype="float32")
        qv = self.embedder.embed_query(query)
        sims, ids = self.version.index.search(qv.reshape(1, -1), min(candidates, n))
        for sim, idx in zip(sims[0], ids[0]):
            if idx >= 0:
                dense[idx] = sim
        return dense

    def _coverage(self, query_words: list[str], s_idx: int) -> tuple[float, list[str]]:
        return self.coverage_scorer.coverage(query_words, s_idx)


def check_index_compatible(version: IndexVersion, embedder: BaseEmbedder) -> None:
    """Refuse to compare a question's vector with passages embedded by another model."""
    built_with = manifest_identity(version.manifest)
    if not same_embedder(built_with, embedder.identity):
        raise IndexUnavailable(
            f"index version {version.version} was embedded with {built_with['backend']} "
            f"'{built_with['model']}' ({built_with['dim']} dimensions) but the configured embedder "
            f"is {embedder.backend} '{embedder.model_name}' ({embedder.dim} dimensions); "
            f"rebuild it with `trolyao index build --full` (or set TROLYAO_EMBEDDING_MODEL / "
            f"TROLYAO_EMBEDDING_BACKEND back to what the index was built with)")


def _passage_text(p: Passage) -> str:
    return " . ".join([p.title, p.section, p.text, " . ".join(p.aliases)])


def _max_by_group(values: np.ndarray, groups: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, -np.inf, dtype="float32")
    np.maximum.at(out, groups, values)
    out[np.isinf(out)] = 0.0
    return out


def _rrf(scores: np.ndarray, k: float, positive_only: bool = True) -> np.ndarray:
    """1/(k + rank) by descending score; services without any evidence get nothing."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype="float32")
    ranks[order] = np.arange(1, len(scores) + 1)
    out = 1.0 / (k + ranks)
    if positive_only:
        out[scores <= 0] = 0.0
    return out.astype("float32")


class _AliasIndex:
    """Catalog aliases plus the aliases documents declare in their front matter."""

    def __init__(self, catalog: Catalog, passages: list[Passage]):
        self.catalog = catalog
        extra: dict[str, set[str]] = defaultdict(set)
        for p in passages:
            for alias in p.aliases:
                folded = " ".join(fold(alias).split())
                if len(folded) >= 3:
                    extra[folded].add(p.service)
        self.extra = extra
        ordered = sorted(extra, key=len, reverse=True)
        self._re = re.compile(r"(?<!\w)(" + "|".join(re.escape(a) for a in ordered) + r")(?!\w)") \
            if ordered else None

    def mentions(self, text: str) -> list[ServiceMention]:
        found = list(self.catalog.mentions(text))
        if self._re is not None:
            folded = fold(text)
            for match in self._re.finditer(folded):
                for service in sorted(self.extra[match.group(1)]):
                    found.append(ServiceMention(service, match.group(1), match.start(), match.end()))
        return found

    def services(self, text: str) -> list[str]:
        best: dict[str, int] = {}
        for mention in self.mentions(text):
            best[mention.service_id] = max(best.get(mention.service_id, 0), len(mention.alias))
        return sorted(best, key=lambda s: -best[s])


class KnowledgeBase:
    """The served index: loads the current version, hot-swaps newer ones, never serves a bad one."""

    def __init__(self, store: IndexStore, embedder: BaseEmbedder, catalog: Catalog):
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
                searcher = Searcher(version, self.embedder, self.catalog)
            except IndexUnavailable as exc:
                self.last_error = str(exc)
                log.error("new knowledge index not loaded, still serving %s: %s", self.version, exc)
                return False
            self._searcher = searcher
            self.last_error = None
            log.info("knowledge index switched to %s", name)
            return True

    def search(self, query: str, k: int = 5, services: list[str] | None = None) -> list[Hit]:
        return self.searcher.search(query, k=k, services=services)

    def named_services(self, query: str) -> list[str]:
        return self.searcher.named_services(query)


def open_knowledge_base(index_dir: str | Path, embedder: BaseEmbedder, catalog: Catalog) -> KnowledgeBase:
    kb = KnowledgeBase(IndexStore(index_dir), embedder, catalog)
    kb.load()
    return kb
