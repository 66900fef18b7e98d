"""Answer selection: which sentences of the retrieved passages answer *this* question.

Each candidate unit (units.py) is scored by evidence that it answers the question:
- overlap:  the question's specific words in the sentence (weighted by how rare they are
            among the candidates, so the service name, present everywhere, counts little);
- heading:  the question's words in the sentence's section heading (a "Câu hỏi thường
            gặp" entry's heading is a question: matching it is the strongest signal);
- kind:     the sentence contains the kind of answer wanted (an age for "bao nhiêu tuổi",
            a date for "ngày nào", "ngày làm việc" for "mất bao lâu"; question.py);
- aspect:   it is in the section that answers the aspect asked ("Lệ phí" for a fee);
- case:     it names the case asked about (a child, a lost card, online, Hà Nội);
- rank:     how well search ranked its passage (lexical + semantic similarity);
- document: a document whose title names a variant the question does not ask about
            ("Xóa đăng ký tạm trú" for "đăng ký tạm trú thế nào?") is held back; the
            document of the previous answer is kept for a follow-up.
The weights are set by hand from what each signal means (not fitted on the evaluation
questions); docs/eval.md shows what each adds.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from knowledge.answering.aspects import section_matches
from knowledge.answering.question import (DEFINITION, DOCUMENTS, SPECIFIC_KINDS, STEPS,
                                          QuestionAnalysis,
                                          QuestionPart, case_cues, matches_kind)
from knowledge.answering.units import Unit, passage_units
from knowledge.bm25 import STOPWORDS
from knowledge.textnorm import fold, has_diacritics, nfc, words


@dataclass(frozen=True)
class SelectionWeights:
    overlap: float = 1.0
    heading: float = 1.0
    kind: float = 0.4  # the kind of answer wanted is in the sentence (a list, a place…)
    kind_specific: float = 0.9  # … when it is precise: a date, a fee, an age, a duration, a form
    aspect: float = 0.35
    case: float = 0.3
    rank: float = 0.35
    title_mismatch: float = 0.6  # per (weighted) share of the title's variant words not asked
    title_match: float = 0.25
    previous_document: float = 0.3
    other_service: float = 0.35  # a unit of another service than the conversation's
    intro: float = 0.15  # the unheaded introduction, when something specific is asked
    first_in_section: float = 0.05


# Words of the question that say what kind of answer is wanted, not what it is about.
_QUESTION_WORDS = frozenset("""
bao nhieu lau gio nao the sao khong duoc phai co can gi ai dau may muon xin hoi cach lam
nhu ra gom nhung hay chua roi dung biet cho vay thi
""".split())


# How a procedure is done, not what is asked about it.
_MANNER_WORDS = frozenset("""
online truc tuyen mang internet vneid dien thoai ung dung app tren dich vu cong cong nop ho so
lam dang ky xin cap thu tuc ban than minh nha nhanh nhat
""".split())


def _pairs(syllables: list[str], ignore: frozenset) -> list[str]:
    return [f"{a}_{b}" for a, b in zip(syllables, syllables[1:])
            if not (a in ignore and b in ignore)]


def terms(text: str) -> list[str]:
    """Folded content syllables and adjacent syllable pairs ("thu_hoi": a cheap phrase signal
    that keeps words whose second syllable is a stopword on its own)."""
    return list(_terms(text))


@lru_cache(maxsize=1 << 15)  # passages' terms are needed again for every question
def _terms(text: str) -> tuple[str, ...]:
    syllables = words(text)
    return tuple([w for w in syllables if w not in STOPWORDS] + _pairs(syllables, STOPWORDS))


def question_terms(text: str) -> list[str]:
    syllables = words(text)
    ignore = STOPWORDS | _QUESTION_WORDS
    return list(dict.fromkeys([w for w in syllables if w not in ignore] + _pairs(syllables, ignore)))


@dataclass
class ScoredUnit:
    unit: Unit
    score: float
    signals: dict = field(default_factory=dict)


@dataclass
class Selection:
    """The ranked units for each part of the question; the first part's best comes first."""

    analysis: QuestionAnalysis
    ranked: list[list[ScoredUnit]]  # per question part, best first
    units: list[Unit]
    # Question words beyond the service's names and the manner of doing it ("online", "trên
    # VNeID"): empty for "đăng ký tạm trú online thế nào?", which asks for the steps.
    specific_terms: list[str] = field(default_factory=list)
    # The first question part's terms and how much each counts (rare terms count more).
    term_weights: dict[str, float] = field(default_factory=dict)
    # Question words beyond the documents' titles (aliases such as "chốt sổ" name a sub-task,
    # not the procedure): empty for "làm lý lịch tư pháp online thế nào?".
    beyond_titles: list[str] = field(default_factory=list)

    @property
    def best(self) -> ScoredUnit | None:
        return self.ranked[0][0] if self.ranked and self.ranked[0] else None

    def best_per_part(self) -> list[ScoredUnit]:
        out: list[ScoredUnit] = []
        for ranked in self.ranked:
            if ranked and all(ranked[0].unit is not s.unit for s in out):
                out.append(ranked[0])
        return out


class AnswerSelector:
    def __init__(self, weights: SelectionWeights = SelectionWeights()):
        self.weights = weights

    def select(self, analysis: QuestionAnalysis, hits: list, service: str | None = None,
               previous_doc: str | None = None, query: str | None = None) -> Selection:
        """Rank the units of `hits` for each part of the question.

        `service` is the service the answer is about (units of other services are held
        back); `query` the text searched with when it differs from the question (a
        follow-up carries the service name)."""
        units = [u for hit in _unique_passages(hits) for u in passage_units(hit)]
        if not units:
            return Selection(analysis, [[] for _ in analysis.parts], [])
        weight = _rarity(units)
        top_score = max(h.score for h in hits) or 1.0
        titles = _title_variants(hits)
        ranked = []
        term_weights: dict[str, float] = {}
        for part in analysis.parts:
            text = part.text if len(analysis.parts) > 1 or not query else query
            q_terms = question_terms(text)
            if not term_weights:
                term_weights = {t: weight.get(t, 1.0) for t in q_terms}
            marked = _marked_terms(text) if has_diacritics(text) else None
            asked_variant = {d for d, variant in titles.items()
                             if d != previous_doc and _variant_asked(variant, part, q_terms, marked)}
            scored = [self._score(u, part, q_terms, weight, top_score, titles, service,
                                  previous_doc, asked_variant) for u in units]
            scored.sort(key=lambda s: (-s.score, s.unit.passage.doc_id, s.unit.passage.passage_id,
                                       s.unit.position))
            ranked.append(scored)
        names, titles_words = set(), set()
        for hit in hits:
            names.update(terms(hit.passage.title + " " + " ".join(hit.passage.aliases)))
            titles_words.update(terms(hit.passage.title))
        asked = [t for t in question_terms(analysis.text) if "_" not in t and t not in _MANNER_WORDS]
        specific = [t for t in asked if t not in names]
        beyond = [t for t in asked if t not in titles_words]
        return Selection(analysis, ranked, units, specific, term_weights, beyond)

    def _score(self, unit: Unit, part: QuestionPart, q_terms: list[str], weight: dict,
               top_score: float, titles: dict[str, TitleVariant],
               service: str | None, previous_doc: str | None,
               asked_variant: set[str] = frozenset()) -> ScoredUnit:
        w = self.weights
        p = unit.passage
        total = sum(weight.get(t, 1.0) for t in q_terms) or 1.0
        body = set(terms(unit.lead + " " + unit.text if unit.item else unit.text))
        heading = set(terms(p.section))
        overlap = sum(weight.get(t, 1.0) for t in q_terms if t in body) / total
        heading_overlap = sum(weight.get(t, 1.0) for t in q_terms if t in heading) / total
        kind = 0.0
        for i, wanted in enumerate(part.wanted[:3]):
            if matches_kind(unit.folded, wanted):
                kind = max(kind, 1.0 - 0.4 * i)
        if part.wanted and part.wanted[0] == DOCUMENTS and not section_matches(p.section, "documents") \
                and not unit.item:
            kind *= 0.5  # "giấy" is everywhere; a documents answer is a list of papers
        if part.wanted and part.wanted[0] == STEPS and unit.numbered:
            kind = max(kind, 1.0)
        if part.alternatives and all(re.search(rf"(?<!\w){a}(?!\w)", unit.folded)
                                     for a in part.alternatives):
            kind = max(kind, 1.0)  # "thường trú hay tạm trú?": a sentence that weighs both
        aspect = float(any(section_matches(p.section, a) for a in part.aspects[:2]))
        case = 0.0
        if part.cases:
            unit_cases = set(case_cues(unit.folded + " " + fold(p.section) + " " + fold(p.title)))
            case = len(unit_cases & set(part.cases)) / len(part.cases)
        mismatch = match = 0.0
        if p.doc_id in titles and p.doc_id != previous_doc:  # the conversation asked that variant
            match = float(p.doc_id in asked_variant)
            mismatch = 1.0 - match
        elif any(titles[d].service == p.service for d in asked_variant) and \
                p.doc_id != previous_doc:
            # The main document, when the question asks for one of its variants; not for its
            # FAQ entry whose heading is the question itself.
            mismatch = 0.5 * max(0.0, 1.0 - 2.0 * heading_overlap)
        rank = unit.hit.score / top_score
        kind_weight = w.kind_specific if part.wanted and part.wanted[0] in SPECIFIC_KINDS else w.kind
        score = (w.overlap * overlap + w.heading * heading_overlap + kind_weight * kind
                 + w.aspect * aspect + w.case * case + w.rank * rank
                 - w.title_mismatch * mismatch + w.title_match * match)
        if previous_doc and p.doc_id == previous_doc:
            score += w.previous_document
        if service and p.service != service:
            score -= w.other_service
        if not p.section and part.kind == DEFINITION:
            score += w.intro  # "… là gì?": the introduction says what it is
        elif not p.section and (part.wanted or part.aspects):
            score -= w.intro
        if unit.position == 0:
            score += w.first_in_section
        return ScoredUnit(unit, round(score, 6), {
            "overlap": round(overlap, 3), "heading": round(heading_overlap, 3), "kind": kind,
            "aspect": aspect, "case": round(case, 3), "rank": round(rank, 3),
            "title_mismatch": round(mismatch, 3)})


def _unique_passages(hits: list) -> list:
    seen, out = set(), []
    for hit in hits:
        if hit.passage.passage_id not in seen:
            seen.add(hit.passage.passage_id)
            out.append(hit)
    return out


def _rarity(units: list[Unit]) -> dict[str, float]:
    """Inverse document frequency of terms over the candidate units (plus their headings)."""
    df: Counter = Counter()
    for u in units:
        df.update(set(terms(u.text + " " + u.passage.section + " " + u.passage.title)))
    n = len(units)
    return {t: math.log(1 + (n + 0.5) / (c + 0.5)) for t, c in df.items()}


def _marked_terms(text: str) -> set[str]:
    """The question's syllables and pairs with their tone marks: "hướng dẫn" must not ask
    for "Hưởng BHXH một lần" although both fold to "huong"."""
    syllables = _SYLLABLE.findall(nfc(text).lower())
    ignore = STOPWORDS | _QUESTION_WORDS
    kept = [w for w in syllables if fold(w) not in ignore]
    return set(kept) | {f"{a}_{b}" for a, b in zip(syllables, syllables[1:])
                        if not (fold(a) in ignore and fold(b) in ignore)}


def _variant_asked(variant: TitleVariant, part: QuestionPart, q_terms: list[str],
                   marked: set[str] | None = None) -> bool:
    """Asked in its words ("xóa", "gia hạn") or by the case it is for ("bé 3 tuổi" is the
    case of "… cho trẻ em"; "đánh rơi" that of "bị mất"). A question typed with tone marks
    is compared with the title's marked words, one without them with the folded words."""
    if set(part.cases) & variant.cases:
        return True
    if marked is not None:
        # Words typed with marks must match the marks; words typed without them (a mixed
        # message: "gia han tạm trú") match the folded title words.
        plain = {t for t in marked if t == fold(t)}
        return any(t in marked for t in variant.marked) or any(t in plain for t in variant.words)
    return any(t in set(q_terms) for t in variant.words)


# Syllables that join a title's words but name no variant ("thủ tục", "thông tin" are in
# questions about anything).
_SYLLABLE = re.compile(r"\w+")
_GENERIC_PAIRS = frozenset({"thu_tuc", "thong_tin", "gia_tri", "su_dung", "truc_tuyen"})


def _variant_keys(syllables: list[str], base: set[str], folded: bool = True) -> list[str]:
    """The words a variant's title adds, as the question would contain them: a lone added
    syllable ("xóa", "đổi") as itself, a longer run ("tích hợp", "liên thông") as its
    adjacent pairs. Single syllables of a run are not enough: "hợp" of "tích hợp" is also in
    "trường hợp", "thông" of "liên thông" in "thông tin"."""
    runs: list[list[str]] = [[]]
    for syllable in syllables:
        key = syllable if folded else fold(syllable)
        if key in base or key in STOPWORDS or key in _MANNER_WORDS:
            runs.append([])
        else:
            runs[-1].append(syllable)
    keys: list[str] = []
    for run in runs:
        if len(run) == 1:
            keys.append(run[0])
        keys.extend(f"{a}_{b}" for a, b in zip(run, run[1:])
                    if f"{fold(a)}_{fold(b)}" not in _GENERIC_PAIRS)
    return list(dict.fromkeys(keys))


class TitleVariant(NamedTuple):
    """What a document's title adds to its service's main title."""

    words: list[str]  # folded keys: lone syllables and adjacent pairs
    cases: set[str]  # cases its title names ("child", "lost") that the main title does not
    service: str
    marked: list[str]  # the same keys with their tone marks


def _title_variants(hits: list) -> dict[str, TitleVariant]:
    """For each document, the words its title adds to its service's main title.

    "Xóa đăng ký tạm trú" adds "xóa" to "Đăng ký tạm trú trực tuyến": when a question does
    not say "xóa", that document is a variant it did not ask about."""
    by_service: dict[str, dict[str, str]] = {}
    for hit in hits:
        by_service.setdefault(hit.passage.service, {})[hit.passage.doc_id] = hit.passage.title
    out: dict[str, TitleVariant] = {}
    for service, docs in by_service.items():
        if len(docs) < 2:
            continue
        # The service's main document is named after it ("procedure/tam-tru"), or its name is
        # the start of the others' ("procedure/tam-tru-xoa"); else the shortest title.
        main = next((d for d in docs if d.rsplit("/", 1)[-1] == service), None)
        main = main or next((d for d in sorted(docs) if all(
            o == d or o.startswith(d + "-") for o in docs)), None)
        main = main or min(docs, key=lambda d: (len(docs[d]), d))
        base = set(words(docs[main]))
        base_cases = set(case_cues(fold(docs[main])))
        for doc_id, title in docs.items():
            if doc_id == main:
                continue
            head = title.split("(", 1)[0].split(":", 1)[0]  # the name, not its explanation
            extra = _variant_keys(words(head), base)
            marked = _variant_keys(_SYLLABLE.findall(nfc(head).lower()), base, folded=False)
            cases = set(case_cues(fold(title))) - base_cases
            if extra or cases:
                out[doc_id] = TitleVariant(extra, cases, service, marked)
    return out
