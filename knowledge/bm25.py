"""Lexical retrieval: an analyzer for Vietnamese questions and a small Okapi BM25.

Terms are folded (no tone marks), so "ly lich tu phap" and "lý lịch tư pháp" match:
- content syllables ("ly", "lich", "tu", "phap"),
- segmented words of two or more syllables ("ly_lich", "tu_phap"; see segmentation.py),
- syllable pairs across word boundaries ("lich_tu"), a cheap phrase signal that also
  covers words missing from the segmenter's vocabulary.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict

from knowledge.segmentation import Segmenter
from knowledge.textnorm import words

# Folded function words and question boilerplate that match everywhere and mean nothing
# for retrieval ("như thế nào", "theo quy định", "mới nhất" end half of all legal questions).
STOPWORDS = frozenset("""
a ah ai anh ban bi bo cac cai can cho chi chu co con cua da dang day de den deu di do duoc
gi hay hoac khi khong la lam len luc ma minh mot muon nao nay neu nguoi nhe nhu nhung no o
oi phai qua ra rang roi sao se tai the theo thi thoi toi trong tu va vao van ve vi voi vay
xin em ong ba chau cam on giup hoi dum nhi nha
nhung nhieu it moi nhat hien nay duoi tren sau truoc cung hon
""".split())

# Words of legal-question boilerplate: kept as syllables for BM25 (cheap, low idf anyway)
# but never counted as "content" the knowledge base must cover.
BOILERPLATE = frozenset("""
quy_dinh phap_luat hien_hanh moi_nhat the_nao nhu_the_nao ra_sao chi_tiet huong_dan
cu_the duoc_khong hay_khong dung_khong co_phai bao_nhieu bao_lau cong_dan nguoi_dan
truong_hop thuc_hien nhung_gi gom_nhung bao_gom la_gi tai_ve file_word
""".split())


class Analyzer:
    """Text -> BM25 terms; the same for documents and questions."""

    def __init__(self, segmenter: Segmenter | None = None, pairs: bool = True):
        self.segmenter = segmenter or Segmenter()
        self.pairs = pairs

    def segment(self, text: str) -> list[str]:
        return self.segmenter.segment(text)

    def terms(self, text: str) -> list[str]:
        syllables = words(text)
        out = [t for t in syllables if t not in STOPWORDS]
        out += [w for w in self.segmenter.segment(text)
                if "_" in w and not all(s in STOPWORDS for s in w.split("_"))]
        if self.pairs:
            out += [f"{a}__{b}" for a, b in zip(syllables, syllables[1:])
                    if not (a in STOPWORDS and b in STOPWORDS)]
        return out

    def content_words(self, text: str) -> list[str]:
        """The words a relevant passage should contain: segmented, no stopwords/boilerplate."""
        out = []
        for word in self.segmenter.segment(text):
            if word in BOILERPLATE or word.isdigit():
                continue
            if all(s in STOPWORDS for s in word.split("_")):
                continue
            out.append(word)
        return out


def analyze(text: str) -> list[str]:
    """Terms with the default analyzer (syllables and syllable pairs, no vocabulary)."""
    return Analyzer().terms(text)


class BM25:
    """Okapi BM25 over pre-analysed documents (lists of terms)."""

    def __init__(self, documents: list[list[str]], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths: list[int] = []
        for i, terms in enumerate(documents):
            counts = Counter(terms)
            self.lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                postings[term].append((i, tf))
        self.n = len(documents)
        self.avg_len = (sum(self.lengths) / self.n) if self.n else 1.0
        self.idf = {t: self._idf(len(p)) for t, p in postings.items()}
        self.max_idf = self._idf(0)
        # Each posting's contribution computed once: scoring a question only adds them up.
        self._weights = {
            t: [(doc, self.idf[t] * tf * (k1 + 1)
                 / (tf + k1 * (1 - b + b * self.lengths[doc] / self.avg_len)))
                for doc, tf in term_postings]
            for t, term_postings in postings.items()}

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def scores(self, terms: list[str]) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for term in sorted(set(terms)):  # a fixed order: float sums must not depend on hashing
            for doc, weight in self._weights.get(term, ()):
                out[doc] += weight
        return out
