"""A small Okapi BM25 over folded Vietnamese syllables and syllable bigrams.

Vietnamese words are usually two syllables ("lý lịch", "tư pháp"), so bigrams act as a
cheap word segmentation that also works on text typed without tone marks.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict

from knowledge.textnorm import words

# Folded function words that match everywhere and mean nothing for retrieval.
STOPWORDS = frozenset("""
a ah ai anh ban bi bo cac cai can cho chi chu co con cua da dang day de den deu di do duoc
gi hay hoac khi khong la lam len luc ma minh mot muon nao nay neu nguoi nhe nhu nhung no o
oi phai qua ra rang roi sao se tai the theo thi thoi toi trong tu va vao van ve vi voi vay
xin em ong ba chau cam on giup hoi dum giup nhi a nha
""".split())


def analyze(text: str) -> list[str]:
    tokens = [t for t in words(text)]
    content = [t for t in tokens if t not in STOPWORDS]
    bigrams = [f"{a}_{b}" for a, b in zip(tokens, tokens[1:])
               if not (a in STOPWORDS and b in STOPWORDS)]
    return content + bigrams


class BM25:
    def __init__(self, documents: list[str], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths: list[int] = []
        for i, text in enumerate(documents):
            terms = Counter(analyze(text))
            self.lengths.append(sum(terms.values()))
            for term, tf in terms.items():
                self.postings[term].append((i, tf))
        self.n = len(documents)
        self.avg_len = (sum(self.lengths) / self.n) if self.n else 1.0
        self.idf = {t: math.log(1 + (self.n - len(p) + 0.5) / (len(p) + 0.5))
                    for t, p in self.postings.items()}

    def scores(self, query: str) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for term in set(analyze(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for doc, tf in self.postings[term]:
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[doc] / self.avg_len)
                out[doc] += idf * tf * (self.k1 + 1) / norm
        return out
