"""Candidate answer units: the sentences and list items of the passages a question retrieved.

The reply quotes units, never composes text: every figure a citizen reads is in a document.
A list item keeps the sentence that introduces its list ("Thành phần hồ sơ gồm:") so it
can be quoted with it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.textnorm import fold

_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
# A sentence ends at . ! ? followed by a space and a capital letter, a digit or a quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(]?[A-ZÀ-ỸĐ0-9])")


@dataclass
class Unit:
    text: str  # as written in the document (Markdown list marker removed)
    folded: str
    hit: object  # the search Hit of its passage
    position: int  # order within the passage
    item: bool = False  # a list item
    lead: str = ""  # the sentence introducing its list ("… gồm:")
    numbered: bool = False  # an item of a numbered list (steps)

    @property
    def passage(self):
        return self.hit.passage

    def words(self) -> int:
        return len(self.text.split())


def split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph.strip()) if s.strip()]


def passage_units(hit) -> list[Unit]:
    """The units of one retrieved passage, in document order."""
    units: list[Unit] = []
    lead = ""
    for line in hit.passage.text.split("\n"):
        line = line.strip()
        if not line:
            continue
        marker = _ITEM.match(line)
        if marker:
            body = line[marker.end():].strip()
            units.append(Unit(body, fold(body), hit, len(units), item=True, lead=lead,
                              numbered=marker.group(0).strip()[0].isdigit()))
            continue
        sentences = split_sentences(line)
        for sentence in sentences:
            units.append(Unit(sentence, fold(sentence), hit, len(units)))
        lead = sentences[-1] if sentences and sentences[-1].endswith(":") else ""
    return units
