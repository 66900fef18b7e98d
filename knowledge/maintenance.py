"""Maintainer operations on the documents folder and the index (used by CLI and /admin)."""
from __future__ import annotations

import logging
import re
import shutil
import threading
from pathlib import Path

from knowledge.builder import BuildReport, IndexBuilder
from knowledge.catalog import load_catalog
from knowledge.embedding import shared_embedder
from knowledge.index_store import IndexStore
from knowledge.ingest.loaders import LoaderError
from knowledge.ingest.pipeline import DocumentReader, IngestError, discover
from knowledge.textnorm import fold

log = logging.getLogger(__name__)
_build_lock = threading.Lock()  # one build at a time per process


def build_index(settings, full: bool = False, progress=None) -> BuildReport:
    """Incremental build of the documents folder into a new index version."""
    with _build_lock:
        builder = IndexBuilder(IndexStore(settings.index_dir),
                               shared_embedder(settings.embedding_model),
                               load_catalog(settings.catalog_path))
        report = builder.build([Path(settings.docs_dir)], full=full, progress=progress)
    for error in report.errors:
        log.warning("not indexed: %s: %s", error.path, error.reason)
    return report


def import_documents(settings, paths: list[Path], service: str | None = None
                     ) -> tuple[list[Path], list[IngestError]]:
    """Copy files into the documents folder (as Markdown with front matter) after checking them."""
    catalog = load_catalog(settings.catalog_path)
    reader = DocumentReader(catalog)
    target_dir = Path(settings.docs_dir) / "imported"
    written, errors = [], []
    for path in discover([Path(p) for p in paths]):
        try:
            doc = reader.read(path, path.stem, service)
        except LoaderError as exc:
            errors.append(IngestError(str(path), str(exc)))
            continue
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / f"{_slug(path.stem)}.md"
        aliases = ", ".join(f'"{a}"' for a in doc.aliases)
        header = (f'---\ntitle: "{doc.title.replace(chr(34), chr(39))}"\nservice: {doc.service}\n'
                  f'kind: {doc.kind}\nsource_url: "{doc.source_url}"\nupdated: {doc.updated}\n'
                  f"aliases: [{aliases}]\nimported_from: \"{path.name}\"\n---\n")
        body = doc.text if doc.text.lstrip().startswith("#") else f"# {doc.title}\n\n{doc.text}"
        tmp = target.with_suffix(".md.tmp")
        tmp.write_text(header + body + "\n", encoding="utf-8")
        tmp.replace(target)
        written.append(target)
    return written, errors


def remove_document(settings, doc_id: str) -> Path:
    """Delete a document file from the documents folder by its id (path without suffix)."""
    docs_dir = Path(settings.docs_dir).resolve()
    matches = [p for p in discover([docs_dir])
               if p.resolve().relative_to(docs_dir).with_suffix("").as_posix() == doc_id]
    if not matches:
        raise FileNotFoundError(f"no document with id '{doc_id}' in {docs_dir}")
    trash = docs_dir.parent / ".removed"
    trash.mkdir(exist_ok=True)
    target = trash / matches[0].name
    shutil.move(str(matches[0]), target)  # kept aside, not destroyed: a mistake can be undone
    return target


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", fold(name)).strip("-") or "document"
