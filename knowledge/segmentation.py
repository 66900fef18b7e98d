"""Vietnamese word segmentation that also works on text typed without tone marks.

Vietnamese words are often several syllables ("lý lịch", "tư pháp", "căn cước"). pyvi
segments well only text *with* tone marks, and citizens often type without them. So pyvi
segments the text we control (documents, catalog names and aliases), each multi-syllable
word it finds is folded into a vocabulary ("ly_lich", "tu_phap"), and any text, with or
without tone marks, is segmented by longest match against that vocabulary.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Iterable

from knowledge.textnorm import nfc, words

log = logging.getLogger(__name__)

MAX_WORD_SYLLABLES = 4

# Everyday words of citizens' questions that our documents may never use, so that
# "bao nhiêu", "tổng hợp", "nội dung" are one word each and not stray syllables.
COMMON_WORDS = """
bao nhiêu, bao lâu, bao giờ, bao gồm, như thế nào, thế nào, ra sao, tại sao, vì sao, ở đâu,
là gì, có phải, hay không, được không, đúng không, mới nhất, hiện nay, hiện hành, chi tiết,
cụ thể, tổng hợp, nội dung, quy định, pháp luật, thủ tục, trình tự, cách thức, hồ sơ,
giấy tờ, tài liệu, trường hợp, đối tượng, điều kiện, thời hạn, thời gian, lệ phí, mức thu,
trách nhiệm, nghĩa vụ, quyền lợi, người dân, công dân, cơ quan, tổ chức, cá nhân, doanh nghiệp,
hướng dẫn, thực hiện, giải quyết, đăng ký, đề nghị, tờ khai, biểu mẫu, mẫu đơn, tải về,
sáp nhập, thực hư, đề xuất, dự thảo, nghị định, thông tư, quyết định, công văn, nghị quyết,
người nước ngoài, nước ngoài, sinh trắc học, ngân hàng, giao thông, vi phạm, xử phạt, mức phạt
"""


def pyvi_words(text: str) -> list[str]:
    """Words of text with tone marks, as pyvi segments them ("Lý lịch" -> "Lý_lịch")."""
    return list(_pyvi_words(text))


@lru_cache(maxsize=1 << 14)  # a new index version re-learns from mostly the same passages
def _pyvi_words(text: str) -> tuple[str, ...]:
    from pyvi import ViTokenizer  # loads a CRF model: only when a segmenter is learnt

    return tuple(ViTokenizer.tokenize(nfc(text)).split())


class Segmenter:
    """Folded longest-match segmentation over a vocabulary learnt with pyvi."""

    def __init__(self, vocabulary: Iterable[tuple[str, ...]] = ()):
        self.vocabulary: set[tuple[str, ...]] = set()
        self.add_words(vocabulary)

    def add_words(self, entries: Iterable[tuple[str, ...]]) -> None:
        for entry in entries:
            if 2 <= len(entry) <= MAX_WORD_SYLLABLES:
                self.vocabulary.add(tuple(entry))

    def learn(self, texts: Iterable[str]) -> "Segmenter":
        """Add the multi-syllable words pyvi finds in `texts` (which carry tone marks)."""
        for text in texts:
            for word in pyvi_words(text):
                if "_" in word:
                    self.add_words([tuple(words(word.replace("_", " ")))])
        return self

    def segment(self, text: str) -> list[str]:
        """Folded words, syllables of one word joined by '_': 'ly lich tu phap' -> ['ly_lich', 'tu_phap']."""
        syllables = words(text)
        out, i = [], 0
        while i < len(syllables):
            for size in range(min(MAX_WORD_SYLLABLES, len(syllables) - i), 0, -1):
                candidate = tuple(syllables[i:i + size])
                if size == 1 or candidate in self.vocabulary:
                    out.append("_".join(candidate))
                    i += size
                    break
        return out


def common_words() -> list[tuple[str, ...]]:
    return [tuple(words(w)) for w in COMMON_WORDS.split(",") if w.strip()]


def learn_segmenter(texts: Iterable[str], extra_words: Iterable[str] = ()) -> Segmenter:
    """A segmenter from pyvi over `texts`, plus `extra_words` (e.g. catalog aliases) split by pyvi."""
    segmenter = Segmenter(common_words())
    try:
        segmenter.learn(texts)
        segmenter.learn(extra_words)
    except ImportError:  # pragma: no cover - pyvi is a declared dependency
        log.warning("pyvi is not installed: search falls back to syllables and syllable pairs")
    return segmenter


__all__ = ["Segmenter", "common_words", "learn_segmenter", "pyvi_words"]
