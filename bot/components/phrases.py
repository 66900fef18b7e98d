"""Phrase matching on folded syllables, tolerant of one-letter typos.

Text is split into folded syllables ("Lý lịch" -> "ly", "lich") that keep their character
spans in the original text, so a match maps back to what the citizen typed. A syllable that
is not part of any known phrase is corrected to a known syllable at edit distance 1
("phapp" -> "phap", Telex leftovers like "lys" -> "ly"); a match may use such corrections only
when the phrase is long enough that one wrong letter cannot make an unrelated match.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.textnorm import fold

_SYLLABLE = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Syllable:
    text: str  # folded
    start: int  # span in the original text
    end: int
    corrected: bool = False


@dataclass(frozen=True)
class PhraseMatch:
    value: str
    start: int  # span in the original text
    end: int
    first: int  # syllable indexes [first, last)
    last: int
    typos: int


def syllables(text: str) -> list[Syllable]:
    """Folded syllables of `text` with their spans (folding keeps offsets of NFC text)."""
    folded = fold(text)
    if len(folded) != len(text):  # not NFC: fall back to offsets in the folded text
        text = folded
    return [Syllable(m.group(0), m.start(), m.end()) for m in _SYLLABLE.finditer(folded)]


_TELEX_TONE = re.compile(r"(?<=[a-z])[sfrxj]$")
_TELEX_MARKS = [("dd", "d"), ("aa", "a"), ("ee", "e"), ("oo", "o"), ("aw", "a"), ("ow", "o"),
                ("uw", "u"), ("w", "u")]


def untelex(word: str) -> str:
    """Strip Telex keystrokes left by typing without a Vietnamese keyboard: 'phaps' -> 'phap',
    'tuw' -> 'tu', 'ddaa' -> 'da' (the folded form of what the citizen meant)."""
    word = _TELEX_TONE.sub("", word)
    for keys, letter in _TELEX_MARKS:
        word = word.replace(keys, letter)
    return word


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance <= 1, or one transposition of adjacent letters."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (len(diff) == 2 and diff[1] == diff[0] + 1
                and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return short in _deletions(long_)


def allowed_typos(size: int) -> int:
    """One typo needs a phrase of two or more syllables, two typos five or more."""
    return 0 if size < 2 else 1 if size < 5 else 2


class PhraseMatcher:
    """Longest-first, non-overlapping matching of phrases -> values on folded syllables."""

    MIN_TYPO_WORD = 3  # shorter syllables are never corrected ("o" vs "ô" is not a typo)

    def __init__(self, phrases: dict[str, list[str]] | list[tuple[str, str]]):
        pairs = phrases.items() if isinstance(phrases, dict) else [(v, [p]) for p, v in phrases]
        self.table: dict[tuple[str, ...], list[str]] = {}
        for value, texts in pairs:
            for text in texts:
                key = tuple(s.text for s in syllables(text))
                if key and value not in self.table.setdefault(key, []):
                    self.table[key].append(value)
        self.longest = max((len(k) for k in self.table), default=0)
        self.vocabulary = {w for key in self.table for w in key}
        self._near: dict[str, set[str]] = {}
        for word in self.vocabulary:
            if len(word) >= self.MIN_TYPO_WORD - 1:
                for variant in _deletions(word) | {word}:
                    self._near.setdefault(variant, set()).add(word)

    def telex(self, word: str) -> str | None:
        """The known syllable `word` spells in Telex keystrokes ('lichj' -> 'lich'), if any."""
        if word in self.vocabulary or word.isdigit():
            return None
        plain = untelex(word)
        return plain if plain != word and plain in self.vocabulary else None

    def correct(self, word: str) -> str | None:
        """The known syllable one typo away from `word`, if exactly one is closest."""
        if word in self.vocabulary or len(word) < self.MIN_TYPO_WORD or word.isdigit():
            return None
        candidates = set()
        for variant in _deletions(word) | {word}:
            candidates |= self._near.get(variant, set())
        found = sorted(c for c in candidates if _within_one_edit(word, c))
        return found[0] if len(found) == 1 else None

    def _repair(self, token: Syllable) -> Syllable:
        """Telex leftovers are the citizen's intent, not typos; other fixes count as typos."""
        if plain := self.telex(token.text):
            return Syllable(plain, token.start, token.end)
        if fixed := self.correct(token.text):
            return Syllable(fixed, token.start, token.end, True)
        return token

    def find(self, text: str, typos: bool = True) -> list[PhraseMatch]:
        tokens = syllables(text)
        if typos:
            tokens = [self._repair(t) for t in tokens]
        words = [t.text for t in tokens]
        found: list[PhraseMatch] = []
        i = 0
        while i < len(words):
            for size in range(min(self.longest, len(words) - i), 0, -1):
                values = self.table.get(tuple(words[i:i + size]))
                if not values:
                    continue
                errors = sum(t.corrected for t in tokens[i:i + size])
                if errors > allowed_typos(size):
                    continue
                for value in values:
                    found.append(PhraseMatch(value, tokens[i].start, tokens[i + size - 1].end,
                                             i, i + size, errors))
                i += size - 1
                break
            i += 1
        return found
