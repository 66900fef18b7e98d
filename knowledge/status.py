"""Index status for maintainers: documents, passages, coverage of the catalog."""
from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from knowledge.catalog import load_catalog
from knowledge.index_store import IndexStore, IndexUnavailable
from knowledge.ingest.loaders import LoaderError, load_file
from knowledge.ingest.pipeline import discover, doc_id_for

REVIEW_MAX_AGE_ENV = "TROLYAO_REVIEW_MAX_AGE_DAYS"
DEFAULT_REVIEW_MAX_AGE_DAYS = 180


def index_status(settings) -> dict:
    catalog = load_catalog(settings.catalog_path)
    store = IndexStore(settings.index_dir)
    try:
        version = store.load()
    except IndexUnavailable as exc:
        return {"ok": False, "error": str(exc), "index_dir": str(settings.index_dir),
                "model": settings.embedding_model, "version": store.current_version_name(),
                "documents": 0, "passages": 0, "per_service": {},
                "services_without_documents": catalog.ids, "review": review_status(settings)}
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
        "review": review_status(settings),
    }


# ---------------------------------------------------------------- documents due for review
@dataclass(frozen=True)
class StaleDocument:
    """A document whose facts nobody has re-checked for too long (or ever)."""

    doc_id: str
    title: str
    reviewed: str          # "YYYY-MM-DD", or "" when the front matter has no `reviewed` date
    age_days: int | None   # days since `reviewed`; None when never reviewed

    def to_dict(self) -> dict:
        return asdict(self)


def review_max_age_days(environ: dict | None = None) -> int:
    """`TROLYAO_REVIEW_MAX_AGE_DAYS` (default 180); a bad value raises ValueError naming it."""
    raw = (environ if environ is not None else os.environ).get(REVIEW_MAX_AGE_ENV, "").strip()
    if not raw:
        return DEFAULT_REVIEW_MAX_AGE_DAYS
    try:
        days = int(raw)
    except ValueError:
        days = -1
    if days < 0:
        raise ValueError(f"{REVIEW_MAX_AGE_ENV} must be a whole number of days >= 0, not {raw!r}")
    return days


def stale_documents(docs_dir: str | Path, max_age_days: int | None = None,
                    today: dt.date | None = None) -> list[StaleDocument]:
    """Documents under `docs_dir` whose `reviewed` date is more than `max_age_days` days before
    `today` (default: `review_max_age_days()` and the current date), plus those with no or an
    unreadable `reviewed` date. Never-reviewed first, then oldest review first, then doc_id."""
    max_age = review_max_age_days() if max_age_days is None else max_age_days
    today = today or dt.date.today()
    root = Path(docs_dir)
    found: list[StaleDocument] = []
    for path in discover([root]):
        try:
            meta = load_file(path).meta
        except LoaderError:
            continue  # unreadable files are reported by `trolyao index build`, not here
        doc_id = doc_id_for(path, root if root.is_dir() else None)
        title = str(meta.get("title") or path.stem)
        reviewed = _as_date(meta.get("reviewed"))
        if reviewed is None:
            found.append(StaleDocument(doc_id, title, str(meta.get("reviewed") or ""), None))
            continue
        age = (today - reviewed).days
        if age > max_age:
            found.append(StaleDocument(doc_id, title, reviewed.isoformat(), age))
    return sorted(found, key=lambda d: (d.age_days is not None, -(d.age_days or 0), d.doc_id))


def stale_documents_for(settings, environ: dict | None = None,
                        today: dt.date | None = None) -> list[StaleDocument]:
    """`stale_documents` for the configured documents folder and review age."""
    return stale_documents(settings.docs_dir, review_max_age_days(environ), today)


def review_status(settings, environ: dict | None = None, today: dt.date | None = None) -> dict:
    """For `index_status`: {"max_age_days", "stale": [StaleDocument as dict]} or {"error"}."""
    try:
        max_age = review_max_age_days(environ)
    except ValueError as exc:
        return {"error": str(exc), "max_age_days": None, "stale": []}
    return {"max_age_days": max_age,
            "stale": [d.to_dict() for d in stale_documents(settings.docs_dir, max_age, today)]}


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()) if value else None
    except ValueError:
        return None
