"""Evaluation (`trolyao eval`): how well the assistant finds the right service and declines
the rest.

Input is JSON lines `{"qid", "text", "expected", "standalone"?, ...}` where `expected` lists
the catalog ids a good answer draws on (most specific first) or is `["oos"]` when the
assistant should decline. Each question is asked as a fresh conversation through the same
path as the chat (`Assistant.chat`: NLU + action + search + decision), or, for quick tuning,
straight through `KnowledgeBase.search` + `decide` (`--search-only`, no Rasa).

Scores, over the ordered, de-duplicated `service` of the returned sources:
- in scope: Hit@1, Hit@3, MRR; a declined question (fallback or no sources) is a miss,
  and counts as a false decline;
- out of scope (`oos`): the decline rate.
Rows may also carry:
- `facts`: a list of key facts, each a list of alternative strings; the row passes when
  every fact has an alternative in the reply text (NFC + casefold). Misses are split into
  declined / wrong service / fact not in our documents / fact in our documents but not in
  the reply; the reply length (words before "Nguồn:") is reported beside it;
- `expected_doc`: the document (`<kind>/<name>`, or a list) the first source should be.
"""
from __future__ import annotations

import json
import statistics
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from knowledge.answering import Answerer, answer_pool
from knowledge.decision import decide
from knowledge.textnorm import strip_diacritics

OOS = "oos"


class EvalFileError(ValueError):
    """The question file cannot be used; the message names the line."""


@dataclass(frozen=True)
class EvalQuestion:
    qid: str
    text: str
    expected: tuple[str, ...]
    difficulty: str = ""
    source: str = ""
    facts: tuple[tuple[str, ...], ...] = ()  # each fact: alternative strings
    expected_doc: tuple[str, ...] = ()

    @property
    def out_of_scope(self) -> bool:
        return self.expected == (OOS,)


@dataclass
class Asked:
    """What the assistant returned for one question."""

    services: list[str]  # services of the sources, best first, de-duplicated
    declined: bool
    intent: str | None = None
    confidence: float = 0.0
    reason: str = ""
    text: str = ""  # the reply as the citizen reads it
    docs: list[str] = field(default_factory=list)  # doc_ids of the sources, best first


def norm(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def fact_in(text: str, fact: Iterable[str]) -> bool:
    folded = norm(text)
    return any(norm(alt) in folded for alt in fact)


def reply_words(text: str) -> int:
    """Words of the reply before its sources."""
    head = text.split("Nguồn:", 1)[0]
    return len(head.split())


@dataclass
class Outcome:
    """What the assistant did with one question."""

    question: EvalQuestion
    asked: str  # the text actually sent (diacritics stripped or not)
    services: list[str]  # services of the returned sources, best first, de-duplicated
    declined: bool
    seconds: float
    intent: str | None = None
    reason: str = ""
    intent_confidence: float = 0.0
    text: str = ""
    docs: list[str] = field(default_factory=list)
    miss: str = ""  # for rows with facts: "" (passed) or why the reply missed a fact

    @property
    def facts_pass(self) -> bool:
        return not self.declined and all(fact_in(self.text, f) for f in self.question.facts)

    @property
    def doc_hit(self) -> bool:
        return bool(self.docs) and not self.declined and self.docs[0] in self.question.expected_doc

    @property
    def rank(self) -> int | None:
        """1-based rank of the first expected service, None when declined or not found."""
        if self.declined:
            return None
        for i, service in enumerate(self.services, 1):
            if service in self.question.expected:
                return i
        return None


def load_questions(path: str | Path) -> list[EvalQuestion]:
    """Questions of a JSON-lines file, skipping fragments marked `standalone: false`."""
    questions = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                text, expected = item["text"], item["expected"]
                if not isinstance(text, str) or not text.strip():
                    raise ValueError("'text' must be a non-empty string")
                if not isinstance(expected, list) or not expected or \
                        not all(isinstance(e, str) and e for e in expected):
                    raise ValueError("'expected' must be a non-empty list of catalog ids or [\"oos\"]")
                facts = item.get("facts") or []
                if not isinstance(facts, list) or not all(
                        isinstance(f, list) and f and all(isinstance(a, str) and a for a in f)
                        for f in facts):
                    raise ValueError("'facts' must be a list of non-empty lists of strings")
                docs = item.get("expected_doc") or []
                docs = [docs] if isinstance(docs, str) else docs
                if not isinstance(docs, list) or not all(isinstance(d, str) and d for d in docs):
                    raise ValueError("'expected_doc' must be a document id or a list of them")
            except (ValueError, KeyError, TypeError) as exc:
                raise EvalFileError(f"{path}:{lineno}: {exc}") from exc
            if item.get("standalone", True) is False:
                continue
            questions.append(EvalQuestion(str(item.get("qid", lineno)), text.strip(),
                                          tuple(expected), str(item.get("difficulty", "")),
                                          str(item.get("source", "")),
                                          tuple(tuple(f) for f in facts), tuple(docs)))
    return questions


def services_of(sources: Iterable[dict]) -> list[str]:
    ordered: list[str] = []
    for source in sources:
        service = source.get("service")
        if service and service not in ordered:
            ordered.append(service)
    return ordered


# ---------------------------------------------------------------- runners
Asker = Callable[[str], Asked]
# service id -> the text of all its passages, folded for fact look-ups (what our documents say)
DocumentTexts = dict[str, str]


def run(questions: list[EvalQuestion], ask: Asker, strip: bool = False,
        progress: Callable[[int, int], None] | None = None,
        documents: DocumentTexts | None = None) -> list[Outcome]:
    outcomes = []
    for i, question in enumerate(questions, 1):
        asked = strip_diacritics(question.text) if strip else question.text
        start = time.perf_counter()
        got = ask(asked)
        seconds = time.perf_counter() - start
        outcome = Outcome(question, asked, got.services, got.declined, seconds, got.intent,
                          got.reason, got.confidence, got.text, got.docs)
        if question.facts:
            outcome.miss = classify_miss(outcome, documents or {})
        outcomes.append(outcome)
        if progress:
            progress(i, len(questions))
    return outcomes


def classify_miss(o: Outcome, documents: DocumentTexts) -> str:
    """Why a row with facts failed: declined / wrong_service / not_in_documents / not_in_reply."""
    if o.facts_pass:
        return ""
    if o.declined:
        return "declined"
    if not o.services or o.services[0] not in o.question.expected:
        return "wrong_service"
    ours = "\n".join(documents.get(s, "") for s in o.question.expected)
    missing = [f for f in o.question.facts if not fact_in(o.text, f)]
    if any(not fact_in(ours, f) for f in missing):
        return "not_in_documents"
    return "not_in_reply"


def document_texts(knowledge_base) -> DocumentTexts:
    texts: dict[str, list[str]] = {}
    for p in knowledge_base.searcher.passages:
        texts.setdefault(p.service, []).append(f"{p.title}\n{p.section}\n{p.text}")
    return {s: "\n".join(t) for s, t in texts.items()}


def assistant_asker(assistant) -> Asker:
    """Each question as a fresh conversation through the full chat path."""
    def ask(text: str) -> Asked:
        reply = assistant.chat(f"eval-{uuid.uuid4().hex}", text)
        services = services_of(reply.sources)
        declined = bool(reply.fallback) or not services
        texts = [m.get("text", "") for m in reply.messages if m.get("text")]
        return Asked(services, declined, reply.intent.get("name"),
                     float(reply.intent.get("confidence") or 0.0), "",
                     texts[0] if texts else "",
                     [s.get("doc_id", "") for s in reply.sources])
    return ask


def search_asker(knowledge_base, catalog, k: int = 8) -> Asker:
    """Search + decision + answering, without Rasa: fast, for tuning retrieval, the decline
    threshold and the answer selection (no conversation context, no NLU entities)."""
    answerer = Answerer()

    def ask(text: str) -> Asked:
        hits = knowledge_base.search(text, k=k)
        named = [m.service_id for m in catalog.mentions(text)]
        decision = decide(text, hits, None, 0.0, named)
        if not decision.answer:
            return Asked([], True, reason=decision.reason)
        service = hits[0].passage.service
        composed = answerer.answer(text, answer_pool(knowledge_base, text, hits, service),
                                   service=service)
        docs = [h.passage.doc_id for h in hits]
        reply = ""
        if composed is not None:
            reply = composed.text()
            docs = [composed.doc_id] + [d for d in docs if d != composed.doc_id]
        return Asked(services_of(h.source() for h in hits), False, reason=decision.reason,
                     text=reply, docs=list(dict.fromkeys(docs)))
    return ask


def threshold_sweep(questions: list[EvalQuestion], knowledge_base, catalog, k: int = 8,
                    strip: bool = False,
                    thresholds: Iterable[float] = (0.1, 0.14, 0.18, 0.22, 0.26, 0.3, 0.4, 0.5)
                    ) -> list[dict]:
    """Search + decision figures at several answer thresholds (how ANSWER_THRESHOLD is chosen)."""
    asked = []
    for question in questions:
        text = strip_diacritics(question.text) if strip else question.text
        hits = knowledge_base.search(text, k=k)
        decision = decide(text, hits, None, 0.0, [m.service_id for m in catalog.mentions(text)],
                          answer_threshold=0.0)
        asked.append((question, text, services_of(h.source() for h in hits), decision.probability))
    rows = []
    for threshold in thresholds:
        outcomes = [Outcome(q, text, services if p >= threshold else [], p < threshold, 0.0)
                    for q, text, services, p in asked]
        s = summarize(outcomes)
        rows.append({"threshold": threshold, **{key: s[key] for key in (
            "hit@1", "hit@3", "mrr", "oos_decline_rate", "false_decline_rate")}})
    return rows


# ---------------------------------------------------------------- scores
def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summarize(outcomes: list[Outcome], slowest: int = 10) -> dict:
    in_scope = [o for o in outcomes if not o.question.out_of_scope]
    oos = [o for o in outcomes if o.question.out_of_scope]
    ranks = [o.rank for o in in_scope]
    per_service: dict[str, dict] = {}
    for o in in_scope:
        row = per_service.setdefault(o.question.expected[0],
                                     {"n": 0, "hit1": 0, "hit3": 0, "declined": 0})
        row["n"] += 1
        row["hit1"] += o.rank == 1
        row["hit3"] += o.rank is not None and o.rank <= 3
        row["declined"] += o.declined
    seconds = [o.seconds for o in outcomes]
    with_facts = [o for o in outcomes if o.question.facts]
    answered = [reply_words(o.text) for o in outcomes if not o.declined and o.text]
    misses: dict[str, int] = {}
    for o in with_facts:
        if o.miss:
            misses[o.miss] = misses.get(o.miss, 0) + 1
    with_doc = [o for o in outcomes if o.question.expected_doc]
    facts = {
        "rows": len(with_facts),
        "pass_rate": _ratio(sum(o.facts_pass for o in with_facts), len(with_facts)),
        "misses": {k: _ratio(misses.get(k, 0), len(with_facts)) for k in
                   ("declined", "wrong_service", "not_in_documents", "not_in_reply")},
    } if with_facts else None
    return {
        "questions": len(outcomes),
        "in_scope": len(in_scope),
        "out_of_scope": len(oos),
        "hit@1": _ratio(sum(r == 1 for r in ranks), len(ranks)),
        "hit@3": _ratio(sum(r is not None and r <= 3 for r in ranks), len(ranks)),
        "mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 4) if ranks else None,
        "oos_decline_rate": _ratio(sum(o.declined for o in oos), len(oos)),
        "false_decline_rate": _ratio(sum(o.declined for o in in_scope), len(in_scope)),
        "facts": facts,
        "document": {"rows": len(with_doc),
                     "first_source_is_expected": _ratio(sum(o.doc_hit for o in with_doc),
                                                        len(with_doc))} if with_doc else None,
        "reply_words": {"median": statistics.median(answered),
                        "p90": sorted(answered)[int(0.9 * (len(answered) - 1))]}
        if answered else None,
        "seconds_median": round(statistics.median(seconds), 4) if seconds else None,
        "seconds_p95": round(sorted(seconds)[int(0.95 * (len(seconds) - 1))], 4) if seconds else None,
        "per_service": dict(sorted(per_service.items(), key=lambda kv: (-kv[1]["n"], kv[0]))),
        "slowest": [{"qid": o.question.qid, "seconds": round(o.seconds, 3), "text": o.asked}
                    for o in sorted(outcomes, key=lambda o: -o.seconds)[:slowest]],
    }


def outcome_record(o: Outcome) -> dict:
    return {"qid": o.question.qid, "text": o.asked, "expected": list(o.question.expected),
            "services": o.services, "declined": o.declined, "rank": o.rank,
            "intent": o.intent, "intent_confidence": round(o.intent_confidence, 4),
            "reason": o.reason, "seconds": round(o.seconds, 4),
            **({"facts_pass": o.facts_pass, "miss": o.miss} if o.question.facts else {}),
            **({"doc_hit": o.doc_hit} if o.question.expected_doc else {}),
            "docs": o.docs[:3], "reply": o.text}


def _fmt(value: float | None) -> str:
    return "  –  " if value is None else f"{value:.3f}"


def format_report(summary: dict, title: str = "") -> str:
    s = summary
    lines = [title] if title else []
    lines += [
        f"questions: {s['questions']} ({s['in_scope']} in scope, {s['out_of_scope']} out of scope)",
        f"in scope:  Hit@1 {_fmt(s['hit@1'])}  Hit@3 {_fmt(s['hit@3'])}  MRR {_fmt(s['mrr'])}  "
        f"false declines {_fmt(s['false_decline_rate'])}",
        f"out of scope: declined {_fmt(s['oos_decline_rate'])}",
        f"latency: median {s['seconds_median']}s, p95 {s['seconds_p95']}s",
    ]
    if s.get("facts"):
        f = s["facts"]
        m = f["misses"]
        lines += [f"answer facts: {_fmt(f['pass_rate'])} of {f['rows']} rows pass; misses: "
                  f"declined {_fmt(m['declined'])}, wrong service {_fmt(m['wrong_service'])}, "
                  f"fact not in our documents {_fmt(m['not_in_documents'])}, "
                  f"in our documents but not in the reply {_fmt(m['not_in_reply'])}"]
    if s.get("document"):
        lines.append(f"first source is the expected document: "
                     f"{_fmt(s['document']['first_source_is_expected'])} of {s['document']['rows']} rows")
    if s.get("reply_words"):
        lines.append(f"reply words before the sources: median {s['reply_words']['median']}, "
                     f"90th percentile {s['reply_words']['p90']}")
    lines += [
        "",
        f"{'catalog id (most specific expected)':36} {'n':>4} {'Hit@1':>6} {'Hit@3':>6} {'declined':>8}",
    ]
    for service, row in s["per_service"].items():
        n = row["n"]
        lines.append(f"{service:36} {n:4d} {row['hit1'] / n:6.2f} {row['hit3'] / n:6.2f} "
                     f"{row['declined']:8d}")
    lines += ["", "slowest questions:"]
    lines += [f"  {q['seconds']:7.3f}s  {q['qid']}  {q['text'][:80]}" for q in s["slowest"]]
    return "\n".join(lines)


@dataclass
class EvalRun:
    """One evaluation: the outcomes, and the summary printed or written as JSON."""

    path: str
    strip_diacritics: bool
    mode: str
    outcomes: list[Outcome] = field(default_factory=list)

    def summary(self) -> dict:
        return {"file": self.path, "strip_diacritics": self.strip_diacritics, "mode": self.mode,
                **summarize(self.outcomes)}

    def to_json(self, with_questions: bool = False) -> dict:
        data = self.summary()
        if with_questions:
            data["outcomes"] = [outcome_record(o) for o in self.outcomes]
        return data


__all__ = ["Asked", "EvalFileError", "EvalQuestion", "EvalRun", "Outcome", "assistant_asker",
           "classify_miss", "document_texts", "fact_in",
           "format_report", "load_questions", "outcome_record", "run", "search_asker",
           "services_of", "summarize"]
