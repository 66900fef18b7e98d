"""Index status for maintainers: documents, passages, coverage of the catalog."""
from __future__ import annotations

from collections import Counter

from knowledge.catalog import load_catalog
from knowledge.index_store import IndexStore, IndexUnavailable


def index_status(settings) -> dict:
    catalog = load_catalog(settings.catalog_path)
    store = IndexStore(settings.index_dir)
    try:
        version = store.load()
    except IndexUnavailable as exc:
        return {"ok": False, "error": str(exc), "index_dir": str(settings.index_dir),
                "model": settings.embedding_model, "version": store.current_version_name(),
                "documents": 0, "passages": 0, "per_service": {},
                "services_without_documents": catalog.ids}
    doc_counts = Counter(d.service for d in version.documents.values())
    passage_counts = Counter(p.service for p in version.passages)
    return {
        "ok": True,
        "version": version.version,
        "created": version.manifest.get("created"),
        "model": version.model_name,
        "index_dir": str(settings.index_dir),
        "documents": len(version.documents),
        "passages": len(version.passages),
        "per_service": {sid: {"documents": doc_counts.get(sid, 0),
                              "passages": passage_counts.get(sid, 0)} for sid in catalog.ids},
        "services_without_documents": [sid for sid in catalog.ids if not doc_counts.get(sid)],
        "unknown_services": sorted(set(doc_counts) - set(catalog.ids)),
    }
