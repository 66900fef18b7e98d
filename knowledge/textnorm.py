"""Vietnamese text normalisation shared by ingestion, search and NLU.

Citizens type with and without tone marks ("lý lịch tư pháp" / "ly lich tu phap"),
so every comparison between a question and the knowledge base happens on *folded*
text: NFC, lower case, tone marks and vowel hats removed, "đ" -> "d".
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Zero-width and bidi control characters that citizens' phones and copy/paste insert.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_WORD = re.compile(r"\w+", re.UNICODE)
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


def nfc(text: str) -> str:
    """NFC-normalise and drop invisible characters; keeps case and tone marks."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", text))


def clean_spaces(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(lines).strip()


def _slow_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


def _fold_table() -> dict[int, str]:
    """Each precomposed character whose decomposition carries a mark, mapped to its bare
    form: one `str.translate` instead of decomposing every character of every passage
    (folding was a third of an answer's time in the profile)."""
    table = {}
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        ch = chr(code)
        bare = _slow_fold(ch)
        if bare != ch:
            table[code] = bare
    return table


_FOLD_TABLE = _fold_table()
# Latin letters (Vietnamese included) and punctuation take the table; any other script, or a
# mark NFC could not compose, takes the slow path.
_BEYOND_TABLE = re.compile("[^\\x00-\\u024f\\u1e00-\\u1eff\\u2000-\\u206f]")


@lru_cache(maxsize=1 << 15)
def fold(text: str) -> str:
    """Lower-case and strip all Vietnamese diacritics: 'Lý lịch Tư pháp' -> 'ly lich tu phap'.

    Cached: the answering stage folds the same passages for every question."""
    text = nfc(text).lower().replace("đ", "d")
    if _BEYOND_TABLE.search(text):
        return _slow_fold(text)
    return text.translate(_FOLD_TABLE)


def strip_diacritics(text: str) -> str:
    """Remove tone marks and vowel hats but keep case: 'Lý lịch Đ' -> 'Ly lich D'.

    How citizens type on a keyboard without Vietnamese input; used to test that search
    does not depend on diacritics."""
    text = nfc(text).replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed
                                                if unicodedata.category(ch) != "Mn"))


def words(text: str) -> list[str]:
    """Folded word tokens (Vietnamese syllables, numbers)."""
    return list(_words(text))


@lru_cache(maxsize=1 << 15)
def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(text)))


def has_diacritics(text: str) -> bool:
    return fold(text) != nfc(text).lower()
