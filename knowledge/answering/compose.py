"""The reply: the direct answer first, then the supporting passage, then the source.

Short enough for a phone: the direct answer is one or two sentences (one per question
part), the details fill up to a word budget from the same passage, in document order. A
request to do a procedure ("tôi muốn xin …", "làm … thế nào?") gets its steps and a short
card of where to apply, the fee and the processing time. Every sentence is quoted from a
document; nothing is composed but the joining words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from knowledge.answering.aspects import section_matches
from knowledge.answering.question import DOCUMENTS, DURATION, FEE, PLACE, SPECIFIC_KINDS
from knowledge.answering.selection import ScoredUnit, Selection, terms
from knowledge.answering.units import Unit, passage_units

# Words before the sources: the usual reply stays under REPLY_WORDS.
DIRECT_WORDS = 60
LIST_WORDS = 75  # a list answer (papers, rates, cases) may take more
REPLY_WORDS = 100
# When the direct answer plainly answers (the question's words and the wanted kind of answer
# are in it), the reply stops here: short replies where sure, more context where not.
CONFIDENT_WORDS = 60
# Other passages' sentences join the details when they score at least this share of the best
# (a second FAQ entry or section that answers the other half of the question).
RUNNER_UP = 0.8
# A sentence of another section joins when it covers this share of the question's (weighted)
# words that the direct answer leaves out, scoring at least COMPLEMENT of the best.
COMPLEMENT = 0.45
COMPLEMENT_GAIN = 0.12
COMPLEMENT_CANDIDATES = 12
STEPS_WORDS = 80
ITEM_WORDS = 24  # a step or list item longer than this is cut at a word boundary
CARD_WORDS = 12  # one line of the where / fee / time card
PAPERS_WORDS = 20  # the papers line names several papers
# A second sentence joins the direct answer when it scores close to the first.
SECOND_SENTENCE = 0.85

# Buttons under a procedure's answer: the other aspects, one click away.
ASPECT_BUTTONS = [("steps", "Các bước"), ("documents", "Giấy tờ"), ("fee", "Lệ phí"),
                  ("time", "Thời gian"), ("channel", "Nộp ở đâu")]
CARD = [("documents", "Giấy tờ", DOCUMENTS), ("channel", "Làm ở đâu", PLACE),
        ("fee", "Lệ phí", FEE), ("time", "Thời gian", DURATION)]
FAQ_SECTION = "Câu hỏi thường gặp"
# A card line states a value: an amount or "miễn phí", a number of days, a named channel.
_CARD_VALUE = {
    FEE: re.compile(r"\d[\d.]* ?(dong|d)\b|mien (le )?phi|khong (thu|mat)|0 dong"),
    DURATION: re.compile(r"\d+ (ngay|gio|thang)|trong ngay"),
    PLACE: re.compile(r"vneid|cong dich vu cong|dichvucong|ung dung|cong an|ubnd|mot cua"),
}
FAQ_HEADING = 0.45  # heading overlap from which an FAQ entry is the question asked
STEPS_IN_CARD = 70  # with a card, the steps take fewer words
STEP_WORDS = 30  # a very long step is cut; the others are shown whole


@dataclass
class ComposedAnswer:
    direct: str
    details: str
    doc_id: str
    service: str
    title: str
    section: str
    url: str
    units: list[Unit] = field(default_factory=list)  # quoted, direct answer first
    steps: bool = False
    instrument: str = ""  # the law, decree or circular the quoted section rests on

    def citation(self) -> str:
        source = f"[{self.title}]({self.url})" if self.url else self.title
        section = FAQ_SECTION if self.section.endswith("?") else self.section
        basis = f"; căn cứ: {self.instrument}" if self.instrument else ""
        return f"Nguồn: {source}" + (f", mục {section}" if section else "") + basis

    def body(self) -> str:
        """The reply before its source line."""
        return "\n\n".join(p for p in (self.direct, self.details) if p)

    def text(self) -> str:
        return "\n\n".join(p for p in (self.body(), self.citation()) if p)

    def words_before_sources(self) -> int:
        return len(f"{self.direct} {self.details}".split())


def _similar(a: set, b: set, threshold: float = 0.75) -> bool:
    """Mostly the same words: one sentence repeats the other (or is contained in it)."""
    return bool(a and b) and len(a & b) / min(len(a), len(b)) >= threshold


def render_unit(unit: Unit, with_lead: bool = True) -> str:
    if unit.item:
        lead = f"{unit.lead}\n" if with_lead and unit.lead else ""
        return f"{lead}- {unit.text}"
    return unit.text


def clip(text: str, limit: int) -> str:
    tokens = text.split()
    if len(tokens) <= limit:
        return text
    return " ".join(tokens[:limit]).rstrip(",;:") + " …"


class AnswerComposer:
    def compose(self, selection: Selection) -> ComposedAnswer | None:
        best = selection.best
        if best is None:
            return None
        in_steps = section_matches(best.unit.passage.section, "steps") or best.unit.numbered
        # An FAQ entry that is this very question answers it better than the general steps.
        # (not for a bare "X làm thế nào?", which names nothing but the procedure: its steps)
        faq = not in_steps and bool(selection.beyond_titles) and \
            best.signals.get("heading", 0) >= FAQ_HEADING
        if selection.analysis.wants_steps and not faq and (
                selection.analysis.request or not selection.specific_terms or in_steps):
            steps = self._steps(selection)
            if steps is not None:
                return steps
        chosen = self._with_items(self._direct_units(selection, best))
        direct = self._join(chosen)
        limit = CONFIDENT_WORDS if self._confident(best) else REPLY_WORDS
        budget = limit - len(direct.split())
        details_units = self._details(best.unit, chosen, min(budget, budget // 2 + 10))
        budget -= sum(u.words() for u in details_units)
        complement = self._complement(selection, best, chosen + details_units, budget)
        budget -= sum(u.words() for u in complement)
        details_units += complement
        details_units += self._runners_up(selection, best, chosen + details_units, budget)
        details = self._join(details_units, leads=False, previous=chosen) if details_units else ""
        p = best.unit.passage
        return ComposedAnswer(direct, details, p.doc_id, p.service, p.title, p.section, p.url,
                              [u for u in chosen] + details_units,
                              instrument=p.instrument)

    # ---------------------------------------------------------------- parts
    @staticmethod
    def _direct_units(selection: Selection, best: ScoredUnit) -> list[Unit]:
        chosen = [s.unit for s in selection.best_per_part()][:2] or [best.unit]
        budget = DIRECT_WORDS - sum(u.words() for u in chosen)
        if len(chosen) == 1:
            # A runner-up from the same passage that scores close: often the second half of
            # the answer ("15.000 đồng nộp trực tiếp" then "7.000 đồng trực tuyến").
            for other in selection.ranked[0][1:4]:
                u = other.unit
                if u.passage.passage_id == best.unit.passage.passage_id and \
                        other.score >= SECOND_SENTENCE * best.score and u.words() <= budget:
                    chosen.append(u)
                    break
        chosen.sort(key=lambda u: (u.passage.passage_id != best.unit.passage.passage_id,
                                   u.passage.passage_id, u.position))
        return chosen

    @staticmethod
    def _with_items(chosen: list[Unit]) -> list[Unit]:
        """A list answers as a list: a sentence that introduces one ("Có hai loại phiếu:")
        comes with its items, and an item with its siblings (the papers of a dossier, all
        the fee rates), each item cut to ITEM_WORDS, within LIST_WORDS."""
        out: list[Unit] = []
        for u in chosen:
            if any(u is x or (u.item and x.item and x.lead == u.lead and
                              x.passage.passage_id == u.passage.passage_id) for x in out):
                continue
            if not u.item and not u.text.endswith(":"):
                out.append(u)
                continue
            units = passage_units(u.hit)
            lead = u.text if not u.item else u.lead
            siblings = [x for x in units if x.item and x.lead == lead and lead]
            if u.item:  # the item that answers first, then the others as room allows
                siblings.sort(key=lambda x: x.position != u.position)
            if not siblings:
                out.append(u)
                continue
            if not u.item:
                out.append(u)
            budget = LIST_WORDS - sum(x.words() for x in out)
            for item in siblings:
                # The item that answers is quoted whole; its siblings are cut short.
                whole = item.words() <= ITEM_WORDS or (u.item and item.position == u.position)
                short = item if whole else replace(item, text=clip(item.text, ITEM_WORDS))
                if short.words() > budget and len(out) > 1:
                    out.append(replace(item, text="…"))
                    break
                out.append(short)
                budget -= short.words()
        return out

    @staticmethod
    def _details(best: Unit, used: list[Unit], budget: int) -> list[Unit]:
        """Neighbouring units of the best unit's passage, nearest first, within the budget."""
        if budget <= 8:
            return []
        units = passage_units(best.hit)
        used_keys = {(u.passage.passage_id, u.position) for u in used}
        seen = [set(terms(u.text)) for u in used]
        start = best.position
        order = sorted(range(len(units)), key=lambda i: (abs(i - start), i < start, i))
        picked: list[Unit] = []
        for i in order:
            u = units[i]
            if (u.passage.passage_id, u.position) in used_keys or \
                    any(u.item and x.item and x.lead == u.lead for x in used) or \
                    (not u.item and u.text.endswith(":")):
                continue  # quoted already, an item of a list quoted whole, or a list's lead alone
            own = set(terms(u.text))
            if any(_similar(own, other) for other in seen):
                continue
            size = u.words() + (len(u.lead.split()) if u.item and u.lead else 0)
            if size > budget:
                if picked:
                    break
                continue
            picked.append(u)
            seen.append(own)
            budget -= size
        picked.sort(key=lambda u: u.position)
        return picked

    @staticmethod
    def _complement(selection: Selection, best: ScoredUnit, used: list[Unit],
                    budget: int) -> list[Unit]:
        """One sentence of another section that holds the wanted kind of answer and covers
        what the question asks that the direct answer does not ("điều kiện" is answered,
        "thuê nhà" is in another FAQ entry; "phải gia hạn khi nào" and "được bao lâu")."""
        weights = selection.term_weights
        total = sum(weights.values())
        if not total or budget <= 8 or not selection.ranked:
            return []
        covered = set()
        for u in used:
            covered |= set(terms(u.text + " " + u.passage.section))
        seen = [set(terms(u.text)) for u in used]
        used_keys = {(u.passage.passage_id, u.position) for u in used}
        # A precise kind asked (a fee, a duration…): the sentence must hold one.
        specific = selection.analysis.parts[0].kind in SPECIFIC_KINDS
        for other in selection.ranked[0][1:COMPLEMENT_CANDIDATES]:
            u = other.unit
            if other.score < COMPLEMENT * best.score:
                break
            if (u.passage.passage_id, u.position) in used_keys or u.item or \
                    u.text.endswith(":") or not u.passage.section or \
                    not (other.signals.get("kind") or (other.signals.get("heading", 0) >= 0.2
                                                        and not specific)) or \
                    u.passage.passage_id == best.unit.passage.passage_id or \
                    u.passage.service != best.unit.passage.service:
                continue
            own = set(terms(u.text))
            gain = sum(w for t, w in weights.items()
                       if t not in covered and t in own | set(terms(u.passage.section))) / total
            if gain < COMPLEMENT_GAIN or u.words() > budget or \
                    any(_similar(own, x) for x in seen):
                continue
            return [u]
        return []

    @staticmethod
    def _confident(best: ScoredUnit) -> bool:
        s = best.signals
        return max(s.get("overlap", 0), s.get("heading", 0)) >= 0.85 and s.get("kind", 0) >= 1.0

    @staticmethod
    def _runners_up(selection: Selection, best: ScoredUnit, used: list[Unit],
                    budget: int) -> list[Unit]:
        """Close-scoring units of other passages: the rest of an answer spread over sections."""
        used_keys = {(u.passage.passage_id, u.position) for u in used}
        seen = [set(terms(u.text)) for u in used]
        picked: list[Unit] = []
        for ranked in selection.ranked:
            for other in ranked[1:8]:
                u = other.unit
                if other.score < RUNNER_UP * best.score or budget <= 8:
                    break
                if (u.passage.passage_id, u.position) in used_keys or \
                        u.passage.passage_id == best.unit.passage.passage_id or \
                        (not u.item and u.text.endswith(":")):
                    continue
                size = u.words() + (len(u.lead.split()) if u.item and u.lead else 0)
                own = set(terms(u.text))
                if size > budget or any(_similar(own, other) for other in seen):
                    continue  # too long, or says again what the reply already says
                picked.append(u)
                seen.append(own)
                used_keys.add((u.passage.passage_id, u.position))
                budget -= size
        return picked

    @staticmethod
    def _join(units: list[Unit], leads: bool = True, previous: list[Unit] = ()) -> str:
        """Sentences as a paragraph, list items as a list, each list's lead line once."""
        out: list[str] = []
        shown_leads = {u.lead if u.item else u.text for u in [*previous, *units]
                       if not u.item} | {u.lead for u in previous if u.item}
        paragraph: list[str] = []
        for u in units:
            if u.item:
                if paragraph:
                    out.append(" ".join(paragraph))
                    paragraph = []
                if u.lead and u.lead not in shown_leads:
                    out.append(u.lead)
                    shown_leads.add(u.lead)
                out.append(f"- {u.text}")
            else:
                paragraph.append(u.text)
        if paragraph:
            out.append(" ".join(paragraph))
        return "\n".join(out)

    def _steps(self, selection: Selection) -> ComposedAnswer | None:
        """The steps of the best document that has steps, then where / fee / time in one line
        each ("đăng ký tạm trú thế nào?" is answered from the registration, not the removal)."""
        best = next((s for s in selection.ranked[0]
                     if section_matches(s.unit.passage.section, "steps")), None)
        if best is None:
            return None
        doc_id = best.unit.passage.doc_id
        doc_units = [u for u in selection.units if u.passage.doc_id == doc_id]
        steps = [u for u in doc_units if section_matches(u.passage.section, "steps")]
        lines, words = [], 0
        lead = next((u.text for u in steps if not u.item), "")
        items = [u for u in steps if u.item]
        for i, u in enumerate(items):
            line = clip(u.text, STEP_WORDS)
            if words + len(line.split()) > STEPS_IN_CARD and lines:
                lines.append(f"(còn {len(items) - i} bước nữa trong hướng dẫn ở nguồn dưới đây)")
                break
            lines.append(f"{len(lines) + 1}. {line}")
            words += len(line.split())
        if not lines:
            return None
        card = []
        for aspect, label, kind in CARD:
            section_units = [u for u in doc_units if section_matches(u.passage.section, aspect)]
            if kind == DOCUMENTS:  # the papers themselves, as one line
                papers = "; ".join(u.text.rstrip(".") for u in section_units if u.item)
                if papers:
                    card.append(f"- {label}: {clip(papers, PAPERS_WORDS)}")
                continue
            unit = next((u for u in section_units if _CARD_VALUE[kind].search(u.folded)), None)
            if unit is not None:
                card.append(f"- {label}: {clip(unit.text, CARD_WORDS)}")
        p = steps[0].passage
        direct = "\n".join(([lead] if lead else []) + lines)
        quoted = [u for u in steps if u.item][:len(lines)]
        return ComposedAnswer(direct, "\n".join(card), p.doc_id, p.service, p.title, p.section,
                              p.url, quoted, steps=True, instrument=p.instrument)
