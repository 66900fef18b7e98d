"""Give a question typed without tone marks its marks back, from our own texts' statistics.

Many citizens type "lam lai can cuoc bi mat o dau" on a phone without a Vietnamese keyboard.
The lexical side of search folds every text, so it does not care; a semantic model that
knows Vietnamese (E5) does: unmarked Vietnamese reads to it like another language.

The domain vocabulary is small, so the marks are restored from syllable n-gram counts of
our own texts (documents, catalog names and aliases, NLU examples): every folded syllable
("can") has the marked forms seen for it ("căn", "cần", "cán", …); the sequence with the
best trigram score (stupid backoff to bigrams and to how often each form occurs) wins,
found by Viterbi search over the syllables of each run of words. Syllables never seen stay
as typed. Text that already carries marks is left alone.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable

from knowledge.textnorm import fold, nfc

_TOKEN = re.compile(r"\w+|[^\w\s]+", re.UNICODE)
_START = "<s>"
BACKOFF = 0.4


def _segments(text: str) -> list[list[str]]:
    """Runs of lower-cased word tokens between punctuation marks."""
    runs: list[list[str]] = [[]]
    for token in _TOKEN.findall(nfc(text).lower()):
        if token[0].isalnum() or token[0] == "_":
            runs[-1].append(token)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def is_unmarked(text: str) -> bool:
    """True when the text has letters and not one Vietnamese mark (nor "đ")."""
    text = nfc(text)
    return any(ch.isalpha() for ch in text) and fold(text) == text.lower()


class ToneRestorer:
    def __init__(self, texts: Iterable[str]):
        self.unigrams: Counter[str] = Counter()
        self.bigrams: Counter[tuple[str, str]] = Counter()
        self.trigrams: Counter[tuple[str, str, str]] = Counter()
        self.forms: dict[str, Counter[str]] = defaultdict(Counter)
        for text in texts:
            for run in _segments(text):
                previous = [_START, _START]
                for syllable in run:
                    self.forms[fold(syllable)][syllable] += 1
                    self.unigrams[syllable] += 1
                    self.bigrams[(previous[1], syllable)] += 1
                    self.trigrams[(previous[0], previous[1], syllable)] += 1
                    previous = [previous[1], syllable]
        self.unigrams[_START] = sum(self.unigrams.values()) or 1
        self.bigrams[(_START, _START)] = self.unigrams[_START]
        self.total = self.unigrams[_START]
        # The most frequent forms per folded syllable are enough (and keep Viterbi small).
        self.candidates = {f: [form for form, _ in c.most_common(6)] for f, c in self.forms.items()}

    def _score(self, w1: str, w2: str, w3: str) -> float:
        tri = self.trigrams.get((w1, w2, w3), 0)
        if tri:
            return math.log(tri / self.bigrams[(w1, w2)])
        bi = self.bigrams.get((w2, w3), 0)
        if bi:
            return math.log(BACKOFF * bi / self.unigrams[w2])
        return math.log(BACKOFF * BACKOFF * (self.unigrams.get(w3, 0) + 0.1) / self.total)

    def _restore_run(self, run: list[str]) -> list[str]:
        """Viterbi over (previous, current) pairs of candidate forms."""
        options = [self.candidates.get(fold(s), [s]) if s.isascii() else [s] for s in run]
        beams: dict[tuple[str, str], tuple[float, list[str]]] = {(_START, _START): (0.0, [])}
        for choices in options:
            nxt: dict[tuple[str, str], tuple[float, list[str]]] = {}
            for (w1, w2), (score, path) in beams.items():
                for w3 in choices:
                    value = score + self._score(w1, w2, w3)
                    key = (w2, w3)
                    if key not in nxt or value > nxt[key][0]:
                        nxt[key] = (value, path + [w3])
            beams = nxt
        return max(beams.values(), key=lambda sp: sp[0])[1]

    def restore(self, text: str) -> str:
        """The text with tone marks restored where our statistics know the syllables;
        text that already has marks, or nothing we know, comes back unchanged."""
        if not is_unmarked(text):
            return text
        text = nfc(text)
        tokens = list(_TOKEN.finditer(text))
        words = [m for m in tokens if m.group(0)[0].isalnum() or m.group(0)[0] == "_"]
        if not words:
            return text
        # Runs of words not separated by punctuation, as in training.
        runs: list[list[re.Match]] = [[]]
        for m in tokens:
            is_word = m.group(0)[0].isalnum() or m.group(0)[0] == "_"
            if not is_word:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append(m)
        replaced: dict[int, str] = {}
        for run in runs:
            if not run:
                continue
            restored = self._restore_run([m.group(0).lower() for m in run])
            for m, form in zip(run, restored):
                replaced[m.start()] = _same_case(m.group(0), form)
        out, pos = [], 0
        for m in words:
            out.append(text[pos:m.start()])
            out.append(replaced.get(m.start(), m.group(0)))
            pos = m.end()
        out.append(text[pos:])
        return unicodedata.normalize("NFC", "".join(out))

    __call__ = restore


def _same_case(original: str, form: str) -> str:
    if form == original.lower():
        return original  # nothing restored: as typed ("VNeID")
    if original.isupper() and len(original) > 1:
        return form.upper()
    if original[:1].isupper():
        return form[:1].upper() + form[1:]
    return form


PROJECT_ROOT = Path(__file__).resolve().parent.parent
NLU_DIR = PROJECT_ROOT / "bot" / "data" / "nlu"


def nlu_texts(folder: Path = NLU_DIR) -> list[str]:
    """The example lines of the NLU training data (Rasa YAML: "- example" items)."""
    texts = []
    for path in sorted(folder.glob("**/*.yml")) if folder.exists() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line.startswith("- ") and not line.startswith("- intent:"):
                texts.append(re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}",
                                    lambda m: m.group(1) or m.group(2) or "", line[2:]))
    return texts


def restorer_for(passage_texts: Iterable[str], names: Iterable[str] = (),
                 nlu_folder: Path | None = NLU_DIR) -> ToneRestorer:
    """Statistics of our documents' passages, the catalog's names and the NLU examples."""
    texts = list(passage_texts) + list(names)
    if nlu_folder is not None:
        texts += nlu_texts(nlu_folder)
    return ToneRestorer(texts)
