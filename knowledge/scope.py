"""Out-of-scope topics: phrases that say a question is about something the assistant does not cover.

The lexicon lives in `knowledge/out_of_scope.yml` (topic, weight, label, phrases); matching is
on folded text, whole words, so it works with and without tone marks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.textnorm import words

DEFAULT_LEXICON_PATH = Path(__file__).with_name("out_of_scope.yml")
WEAK = 0.5


def _normal(text: str) -> str:
    """Folded words separated by single spaces: punctuation never hides a phrase."""
    return " ".join(words(text))


@dataclass(frozen=True)
class TopicCue:
    topic: str
    label: str
    weight: float
    phrase: str  # folded


class ScopeLexicon:
    def __init__(self, cues: list[TopicCue]):
        self.cues = {c.phrase: c for c in cues}
        ordered = sorted(self.cues, key=len, reverse=True)
        self._re = re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in ordered) + r")(?!\w)") \
            if ordered else None

    def cues_in(self, text: str) -> list[TopicCue]:
        """Cues found in `text`, longest phrases first, each phrase once."""
        if self._re is None:
            return []
        found: dict[str, TopicCue] = {}
        for match in self._re.finditer(_normal(text)):
            found.setdefault(match.group(1), self.cues[match.group(1)])
        return list(found.values())

    def strength(self, text: str) -> tuple[float, TopicCue | None]:
        """The heaviest cue's weight (0 when none) and that cue."""
        cues = self.cues_in(text)
        if not cues:
            return 0.0, None
        best = max(cues, key=lambda c: c.weight)
        return best.weight, best

    def weakened(self, about: list[str], bodies: list[str] = (),
                 min_bodies: int = 3) -> "ScopeLexicon":
        """A copy where strong phrases our documents are about weigh only WEAK.

        A phrase in a document's title, headings or aliases (`about`), or in the text of at
        least `min_bodies` documents (`bodies`), is part of what we cover; a passing mention
        in one document ("người có thẻ tạm trú cũng mở được tài khoản") is not."""
        # Normal texts are words joined by single spaces, so a whole-word match of a phrase
        # is a plain substring " phrase " of " text ": far quicker than a regex per document
        # (this runs each time an index version is loaded).
        about_text = " " + " \n ".join(_normal(t) for t in about) + " "
        body_texts = [" " + _normal(t) + " " for t in bodies]
        cues = []
        for cue in self.cues.values():
            if cue.weight > WEAK:
                padded = f" {cue.phrase} "
                if padded in about_text or \
                        sum(1 for t in body_texts if padded in t) >= min_bodies:
                    cue = TopicCue(cue.topic, cue.label, WEAK, cue.phrase)
            cues.append(cue)
        return ScopeLexicon(cues)


def load_scope_lexicon(path: str | Path | None = None) -> ScopeLexicon:
    path = Path(path) if path else DEFAULT_LEXICON_PATH
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    cues = []
    for topic in data.get("topics", []):
        label = str(topic.get("label", topic["id"]))
        for key, weight in (("phrases", 1.0), ("weak", WEAK)):
            for phrase in topic.get(key, []) or []:
                normal = _normal(str(phrase))
                if normal:
                    cues.append(TopicCue(str(topic["id"]), label, weight, normal))
    return ScopeLexicon(cues)


@lru_cache(maxsize=2)
def default_scope_lexicon(path: str | None = None) -> ScopeLexicon:
    return load_scope_lexicon(path)
