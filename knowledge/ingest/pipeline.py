"""Ingestion pipeline: file -> Document -> Passages (load, clean, tag, split, dedupe)."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.catalog import Catalog
from knowledge.documents_model import Document, Passage, sha256
from knowledge.ingest.cleaning import BoilerplateCleaner
from knowledge.ingest.loaders import SUPPORTED_SUFFIXES, LoaderError, load_file
from knowledge.ingest.splitting import PassageSplitter
from knowledge.textnorm import fold, nfc

KINDS = {"procedure", "policy", "help"}
_SOURCE_LINE = re.compile(r"Nguồn[^:\n]{0,60}:\s*(https?://\S+)")


class ServiceTagger:
    """Pick the catalog id of an untagged document from the services its title and text name."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def guess(self, title: str, text: str) -> str | None:
        votes: Counter[str] = Counter()
        for mention in self.catalog.mentions(title):
            votes[mention.service_id] += 5 + len(mention.alias)
        for mention in self.catalog.mentions(text[:4000]):
            votes[mention.service_id] += 1 + len(mention.alias) / 10
        return votes.most_common(1)[0][0] if votes else None


@dataclass
class DocumentReader:
    """Read one file into a tagged, cleaned Document."""

    catalog: Catalog
    cleaner: BoilerplateCleaner = field(default_factory=BoilerplateCleaner)

    def read(self, path: Path, doc_id: str, service: str | None = None) -> Document:
        raw = load_file(path)
        meta = raw.meta
        text = self.cleaner.clean(raw.text)
        if len(text) < 40:
            raise LoaderError(f"{path.name}: no usable text after cleaning")
        title = nfc(str(meta.get("title") or self._title_line(text) or path.stem)).strip()
        service = service or meta.get("service")
        if service is None:
            service = ServiceTagger(self.catalog).guess(title, text)
            if service is None:
                raise LoaderError(f"{path.name}: cannot tell which catalog service it is about; "
                                  f"pass --service ID")
        service = str(service)
        if service not in self.catalog:
            raise LoaderError(f"{path.name}: service '{service}' is not a catalog id")
        kind = str(meta.get("kind") or self.catalog.by_id[service].kind)
        if kind not in KINDS:
            raise LoaderError(f"{path.name}: kind '{kind}' must be one of {sorted(KINDS)}")
        updated = meta.get("updated") or dt.date.fromtimestamp(path.stat().st_mtime)
        aliases = meta.get("aliases") or []
        if not isinstance(aliases, list):
            raise LoaderError(f"{path.name}: aliases must be a list")
        return Document(
            doc_id=doc_id, title=title, service=service, text=text, kind=kind,
            source_url=str(meta.get("source_url") or self._source_url(text)), updated=str(updated),
            aliases=[nfc(str(a)) for a in aliases], path=str(path),
            instrument=nfc(str(meta.get("instrument") or "")).strip(),
            reviewed=self._date(meta.get("reviewed"), "reviewed", path),
            section_sources=self._section_sources(meta.get("section_sources"), path),
        )

    @staticmethod
    def _date(value, name: str, path: Path) -> str:
        """A front-matter date (YAML date or "YYYY-MM-DD" text) as ISO text; "" when absent."""
        if value is None or value == "":
            return ""
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError as exc:
            raise LoaderError(f"{path.name}: {name} must be a date like 2025-07-01, "
                              f"not '{value}'") from exc

    @staticmethod
    def _section_sources(value, path: Path) -> dict[str, str]:
        """`section_sources:` maps a section heading (a `##` heading covers its `###`
        entries) to the instrument that section relies on."""
        if not value:
            return {}
        if not isinstance(value, dict):
            raise LoaderError(f"{path.name}: section_sources must map a heading to an instrument")
        out = {}
        for heading, instrument in value.items():
            if not str(heading).strip() or not str(instrument or "").strip():
                raise LoaderError(f"{path.name}: section_sources entry '{heading}' is empty")
            out[nfc(str(heading)).strip()] = nfc(str(instrument)).strip()
        return out

    @staticmethod
    def _title_line(text: str) -> str:
        """First heading, else the first line that reads like a headline (skips "Sự kiện & Bình luận")."""
        lines = [l.strip() for l in text.split("\n") if l.strip()]
        for line in lines[:10]:
            if line.startswith("# "):
                return line[2:].strip()[:200]
        for line in lines[:5]:
            if len(line.split()) >= 6:
                return line.lstrip("#").strip()[:200]
        return lines[0].lstrip("#").strip()[:200] if lines else ""

    @staticmethod
    def _source_url(text: str) -> str:
        """News pages often end with "Nguồn <publisher>: https://…"."""
        match = _SOURCE_LINE.search(text)
        return match.group(1) if match else ""


@dataclass
class PassageMaker:
    """Document -> passages; drops passages whose text repeats one already seen."""

    splitter: PassageSplitter = field(default_factory=PassageSplitter)

    def make(self, doc: Document, seen_hashes: set[str] | None = None) -> list[Passage]:
        seen = seen_hashes if seen_hashes is not None else set()
        parents = _parent_headings(doc.text)
        passages = []
        for i, section in enumerate(self.splitter.split(doc.text)):
            key = sha256(fold(section.text))
            if key in seen:
                continue
            seen.add(key)
            passages.append(Passage(
                passage_id=f"{doc.doc_id}#{i}", doc_id=doc.doc_id, title=doc.title,
                service=doc.service, kind=doc.kind, url=doc.source_url, section=section.heading,
                text=section.text, updated=doc.updated, doc_hash=doc.content_hash,
                aliases=list(doc.aliases),
                instrument=doc.instrument_for(section.heading, parents.get(section.heading, "")),
                reviewed=doc.reviewed,
            ))
        return passages


_HEADING_LINE = re.compile(r"^(#{2,4})\s+(.*?)\s*#*\s*$")


def _parent_headings(text: str) -> dict[str, str]:
    """`###` (or deeper) heading -> the `##` heading it sits under."""
    parents: dict[str, str] = {}
    current = ""
    for line in text.split("\n"):
        match = _HEADING_LINE.match(line.strip())
        if not match:
            continue
        if len(match.group(1)) == 2:
            current = match.group(2).strip()
        else:
            parents.setdefault(match.group(2).strip(), current)
    return parents


@dataclass
class IngestError:
    path: str
    reason: str


def discover(paths: list[Path]) -> list[Path]:
    """Expand folders into the supported files they contain, sorted, hidden files skipped."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*"))
                         if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
                         and p.name.lower() != "readme.md"  # the folder's guide for writers
                         and not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            found.append(path)
    return found


def doc_id_for(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).with_suffix("").as_posix()
        except ValueError:
            pass
    return path.with_suffix("").name


def read_corpus(roots: list[Path], reader: DocumentReader, service: str | None = None
                ) -> tuple[list[Document], list[IngestError]]:
    """Read every supported file under `roots`; unreadable files are listed, not fatal."""
    docs: list[Document] = []
    errors: list[IngestError] = []
    ids: set[str] = set()
    for root in roots:
        base = root if root.is_dir() else None
        for path in discover([root]):
            try:
                doc = reader.read(path, doc_id_for(path, base), service)
            except LoaderError as exc:
                errors.append(IngestError(str(path), str(exc)))
                continue
            if doc.doc_id in ids:
                errors.append(IngestError(str(path), f"duplicate document id '{doc.doc_id}'"))
                continue
            ids.add(doc.doc_id)
            docs.append(doc)
    return docs, errors
