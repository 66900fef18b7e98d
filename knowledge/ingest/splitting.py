"""Splitting: cut a cleaned document into passages along headings, then sentences.

A passage is what the assistant quotes as an answer, so it must read on its own:
it never crosses a `##` heading and stays under `max_chars`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,4})\s+(.*?)\s*#*\s*$")
# Sentence ends: . ! ? ; followed by space and an upper-case letter, digit or bullet.
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[\"“(]?[A-ZÀ-Ỹ0-9\-+•])")


@dataclass
class Section:
    heading: str
    text: str


class SectionSplitter:
    """Markdown-ish text -> (heading, body) sections; the H1 is the document title."""

    def split(self, text: str) -> list[Section]:
        sections: list[Section] = []
        heading, buf = "", []
        for line in text.split("\n"):
            match = _HEADING.match(line.strip())
            if match:
                if "\n".join(buf).strip():
                    sections.append(Section(heading, "\n".join(buf).strip()))
                heading = match.group(2).strip() if len(match.group(1)) > 1 else ""
                buf = []
            else:
                buf.append(line)
        if "\n".join(buf).strip():
            sections.append(Section(heading, "\n".join(buf).strip()))
        return sections


class PassageSplitter:
    """Sections -> passages of at most `max_chars`, split on paragraph then sentence bounds."""

    def __init__(self, max_chars: int = 900, min_chars: int = 40):
        self.max_chars = max_chars
        self.min_chars = min_chars
        self.sections = SectionSplitter()

    def split(self, text: str) -> list[Section]:
        out: list[Section] = []
        for section in self.sections.split(text):
            for chunk in self._chunks(section.text):
                out.append(Section(section.heading, chunk))
        # Tiny fragments (a stray caption) carry no answer; fold them into a neighbour.
        merged: list[Section] = []
        for part in out:
            if merged and len(part.text) < self.min_chars and merged[-1].heading == part.heading \
                    and len(merged[-1].text) + len(part.text) < self.max_chars:
                merged[-1] = Section(part.heading, merged[-1].text + "\n" + part.text)
            else:
                merged.append(part)
        return [s for s in merged if len(s.text) >= self.min_chars or s.heading]

    def _chunks(self, text: str) -> list[str]:
        if len(text) <= self.max_chars:
            return [text]
        units: list[str] = []
        for para in re.split(r"\n\s*\n|\n(?=[-*•]|\d+[.)] )", text):
            para = para.strip()
            if not para:
                continue
            if len(para) <= self.max_chars:
                units.append(para)
            else:
                units.extend(self._sentences(para))
        chunks, buf = [], ""
        for unit in units:
            if buf and len(buf) + 1 + len(unit) > self.max_chars:
                chunks.append(buf)
                buf = unit
            else:
                buf = f"{buf}\n{unit}" if buf else unit
        if buf:
            chunks.append(buf)
        return chunks

    def _sentences(self, para: str) -> list[str]:
        pieces = [p.strip() for p in _SENTENCE_END.split(para) if p.strip()]
        out = []
        for piece in pieces:
            while len(piece) > self.max_chars:  # a run-on sentence: cut at a space
                cut = piece.rfind(" ", 0, self.max_chars)
                cut = cut if cut > self.max_chars // 2 else self.max_chars
                out.append(piece[:cut].strip())
                piece = piece[cut:].strip()
            if piece:
                out.append(piece)
        return out
