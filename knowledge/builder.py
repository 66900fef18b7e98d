"""IndexBuilder: documents folder -> new index version, re-embedding only what changed."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from knowledge.catalog import Catalog
from knowledge.documents_model import Document, Passage, sha256
from knowledge.embedding import BaseEmbedder, manifest_identity, same_embedder
from knowledge.index_store import DocumentInfo, IndexStore, IndexUnavailable, IndexVersion
from knowledge.ingest.pipeline import DocumentReader, IngestError, PassageMaker, read_corpus
from knowledge.textnorm import fold

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    version: str | None = None
    documents: int = 0
    passages: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded_passages: int = 0
    errors: list[IngestError] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False  # nothing changed: no new version written

    def to_dict(self) -> dict:
        return {
            "version": self.version, "documents": self.documents, "passages": self.passages,
            "added": self.added, "changed": self.changed, "unchanged": len(self.unchanged),
            "removed": self.removed, "embedded_passages": self.embedded_passages,
            "errors": [{"path": e.path, "reason": e.reason} for e in self.errors],
            "seconds": round(self.seconds, 3), "skipped": self.skipped,
        }


class IndexBuilder:
    def __init__(self, store: IndexStore, embedder: BaseEmbedder, catalog: Catalog,
                 passage_maker: PassageMaker | None = None):
        self.store = store
        self.embedder = embedder
        self.catalog = catalog
        self.passage_maker = passage_maker or PassageMaker()

    def build(self, roots: list[Path], full: bool = False, progress=None) -> BuildReport:
        started = time.perf_counter()
        docs, errors = read_corpus(roots, DocumentReader(self.catalog))
        report = self.build_from_documents(docs, full=full, progress=progress)
        report.errors = errors + report.errors
        report.seconds = time.perf_counter() - started
        return report

    def build_from_documents(self, docs: list[Document], full: bool = False, progress=None
                             ) -> BuildReport:
        report = BuildReport()
        previous = None if full else self._previous()
        prev_docs = previous.documents if previous else {}
        prev_by_doc: dict[str, list[int]] = {}
        if previous:
            for row, passage in enumerate(previous.passages):
                prev_by_doc.setdefault(passage.doc_id, []).append(row)
            prev_vectors = previous.vectors()

        passages: list[Passage] = []
        vectors: list[np.ndarray | None] = []
        infos: list[DocumentInfo] = []
        seen: set[str] = set()
        for doc in sorted(docs, key=lambda d: d.doc_id):
            old = prev_docs.get(doc.doc_id)
            if old is not None and old.doc_hash == doc.content_hash:
                report.unchanged.append(doc.doc_id)
                rows = prev_by_doc.get(doc.doc_id, [])
                doc_passages = []
                for row in rows:
                    passage = previous.passages[row]
                    key = sha256(fold(passage.text))
                    if key in seen:
                        continue
                    seen.add(key)
                    doc_passages.append(passage)
                    passages.append(passage)
                    vectors.append(prev_vectors[row])
            else:
                (report.changed if old is not None else report.added).append(doc.doc_id)
                doc_passages = self.passage_maker.make(doc, seen)
                passages.extend(doc_passages)
                vectors.extend([None] * len(doc_passages))
            infos.append(DocumentInfo(doc.doc_id, doc.title, doc.service, doc.kind, doc.source_url,
                                      doc.updated, doc.content_hash, doc.path, len(doc_passages)))
        current_ids = {d.doc_id for d in docs}
        report.removed = sorted(set(prev_docs) - current_ids)
        report.documents, report.passages = len(infos), len(passages)

        if previous and not (report.added or report.changed or report.removed):
            report.skipped = True
            report.version = previous.version
            return report

        todo = [i for i, v in enumerate(vectors) if v is None]
        report.embedded_passages = len(todo)
        if todo:
            fresh = self._embed([embedding_text(passages[i]) for i in todo], progress)
            for i, vector in zip(todo, fresh):
                vectors[i] = vector
        matrix = np.vstack(vectors).astype("float32") if vectors else \
            np.zeros((0, self.embedder.dim), dtype="float32")
        report.version = self.store.write(passages, matrix, infos, self.embedder.model_name,
                                          extra={"dim": self.embedder.dim,
                                                 "embedder": self.embedder.identity})
        return report

    def _embed(self, texts: list[str], progress) -> np.ndarray:
        batch = 64
        out = []
        for start in range(0, len(texts), batch):
            out.append(self.embedder.embed(texts[start:start + batch]))
            if progress:
                progress(min(start + batch, len(texts)), len(texts))
        return np.vstack(out)

    def _previous(self) -> IndexVersion | None:
        try:
            version = self.store.load()
        except IndexUnavailable as exc:
            if self.store.current_version_name():
                log.warning("previous index unusable, rebuilding everything: %s", exc)
            return None
        built_with = manifest_identity(version.manifest)
        if not same_embedder(built_with, self.embedder.identity):
            log.warning("embedder changed (%s/%s -> %s/%s): every passage is embedded again",
                        built_with["backend"], built_with["model"], self.embedder.backend,
                        self.embedder.model_name)
            return None
        return version


def embedding_text(passage: Passage) -> str:
    """What gets embedded: the passage in its context (title and section heading)."""
    parts = [passage.title]
    if passage.section:
        parts.append(passage.section)
    parts.append(passage.text)
    return "\n".join(parts)
