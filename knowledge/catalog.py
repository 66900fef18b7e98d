"""The service catalog: the ids every document and answer is tagged with.

`knowledge/catalog.yml` is the project's own copy of the shared catalog (same ids),
so the product runs without `../shared`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.textnorm import fold

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.yml")


@dataclass(frozen=True)
class Service:
    id: str
    kind: str
    name: str
    aliases: tuple[str, ...] = field(default_factory=tuple)

    def all_names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class ServiceMention:
    service_id: str
    alias: str
    start: int  # offsets in the folded text
    end: int


class Catalog:
    def __init__(self, services: list[Service]):
        self.services = services
        self.by_id = {s.id: s for s in services}
        # Folded alias -> service ids; longest aliases are matched first.
        patterns: dict[str, set[str]] = {}
        for service in services:
            for name in service.all_names():
                for variant in _alias_variants(name):
                    patterns.setdefault(variant, set()).add(service.id)
        self._alias_ids = patterns
        ordered = sorted(patterns, key=len, reverse=True)
        self._alias_re = re.compile(
            r"(?<!\w)(" + "|".join(re.escape(a) for a in ordered) + r")(?!\w)"
        ) if ordered else None

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.services]

    def __contains__(self, service_id: str) -> bool:
        return service_id in self.by_id

    def name(self, service_id: str) -> str:
        service = self.by_id.get(service_id)
        return service.name if service else service_id

    def short_name(self, service_id: str) -> str:
        """Name without the parenthesised explanation, for buttons."""
        return re.sub(r"\s*\(.*?\)\s*", " ", self.name(service_id)).strip()

    def mentions(self, text: str) -> list[ServiceMention]:
        """Non-overlapping alias mentions in `text`, longest first, diacritics-insensitive."""
        if not self._alias_re:
            return []
        folded = fold(text)
        found = []
        for match in self._alias_re.finditer(folded):
            alias = match.group(1)
            for service_id in sorted(self._alias_ids[alias]):
                found.append(ServiceMention(service_id, alias, match.start(), match.end()))
        return found


def _alias_variants(name: str) -> set[str]:
    folded = " ".join(fold(name).split())
    # "VNeID/VssID" is also typed "VNeID / VssID"; "quà 2/9" must still match as typed.
    variants = {folded, " ".join(folded.replace("/", " / ").split())}
    # "Đề án 06 (phát triển ...)" -> also "đề án 06"
    head = re.sub(r"\s*\(.*$", "", folded).strip()
    if head:
        variants.add(head)
    return {v for v in variants if len(v) >= 2}


def load_catalog(path: str | Path | None = None) -> Catalog:
    path = Path(path) if path else DEFAULT_CATALOG_PATH
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    services = [
        Service(
            id=str(entry["id"]),
            kind=str(entry.get("kind", "procedure")),
            name=str(entry.get("ten", entry["id"])),
            aliases=tuple(str(a) for a in entry.get("aliases", []) or []),
        )
        for entry in data.get("services", [])
    ]
    if not services:
        raise ValueError(f"catalog {path} lists no services")
    return Catalog(services)


@lru_cache(maxsize=4)
def default_catalog(path: str | None = None) -> Catalog:
    return load_catalog(path)
