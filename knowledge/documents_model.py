"""Plain data records that flow through ingestion, indexing and search."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Document:
    """One source document after loading and cleaning (text is NFC Markdown-ish)."""

    doc_id: str
    title: str
    service: str
    text: str
    kind: str = "procedure"
    source_url: str = ""
    updated: str = ""
    aliases: list[str] = field(default_factory=list)
    path: str = ""
    # Provenance (front matter, all optional): the legal instrument the facts rest on
    # ("Luật Căn cước 2023"), the date the content team last checked the facts, and
    # instruments for single sections ({"Lệ phí": "Thông tư 73/2024/TT-BTC"}).
    instrument: str = ""
    reviewed: str = ""
    section_sources: dict[str, str] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        # Metadata is part of the hash: a changed title or service must re-index too.
        parts = [self.title, self.service, self.kind, self.source_url,
                 self.updated, ",".join(self.aliases)]
        # Provenance fields join the hash only when set, so a document without them keeps
        # the hash it had before they existed (no needless re-embedding).
        if self.instrument or self.reviewed or self.section_sources:
            parts += [self.instrument, self.reviewed,
                      ";".join(f"{k}={v}" for k, v in sorted(self.section_sources.items()))]
        return sha256("|".join(parts) + "\n" + self.text)

    def instrument_for(self, heading: str, parent: str = "") -> str:
        """The instrument a section rests on: its own source, else its `##` parent's, else
        the document's."""
        return (self.section_sources.get(heading) or self.section_sources.get(parent)
                or self.instrument)


@dataclass
class Passage:
    """A retrievable unit: one section (or part of one) of a document."""

    passage_id: str
    doc_id: str
    title: str
    service: str
    kind: str
    url: str
    section: str
    text: str
    updated: str = ""
    doc_hash: str = ""
    aliases: list[str] = field(default_factory=list)
    # The instrument this passage's section rests on (section source, else the document's)
    # and the document's `reviewed` date; empty for documents without them.
    instrument: str = ""
    reviewed: str = ""

    @property
    def content_hash(self) -> str:
        return sha256(self.text)

    def to_dict(self) -> dict:
        return asdict(self)
