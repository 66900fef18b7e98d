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

    @property
    def content_hash(self) -> str:
        # Metadata is part of the hash: a changed title or service must re-index too.
        meta = "|".join([self.title, self.service, self.kind, self.source_url,
                         self.updated, ",".join(self.aliases)])
        return sha256(meta + "\n" + self.text)


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

    @property
    def content_hash(self) -> str:
        return sha256(self.text)

    def to_dict(self) -> dict:
        return asdict(self)
