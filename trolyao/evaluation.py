"""`trolyao eval`: how well the assistant finds the right service and declines the rest.

Input is JSON lines `{"qid", "text", "expected", "standalone"?, ...}` where `expected` lists
the catalog ids a good answer draws on (most specific first) or is `["oos"]` when the
assistant should decline. Each question is asked as a fresh conversation through the same
path as the chat (`Assistant.chat`: NLU + action + search + decision), or, for quick tuning,
straight through `KnowledgeBase.search` + `decide` (`--search-only`, no Rasa).

Scores, over the ordered, de-duplicated `service` of the returned sources:
- in scope: Hit@1, Hit@3, MRR; a declined question (fallback or no sources) is a miss,
  and counts as a false decline;
- out of scope (`oos`): the decline rate.
"""
from __future__ import annotations

import json
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

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

    @property
    def out_of_scope(self) -> bool:
        return self.expected == (OOS,)


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
            except (ValueError, KeyError, TypeError) as exc:
                raise EvalFileError(f"{path}:{lineno}: {exc}") from exc
            if item.get("standalone", True) is False:
                continue
            questions.append(EvalQuestion(str(item.get("qid", lineno)), text.strip(),
                                          tuple(expected), str(item.get("difficulty", "")),
                                          str(item.get("source", ""))))
    return questions


def services_of(sources: Iterable[dict]) -> list[str]:
    ordered: list[str] = []
    for source in sources:
        service = source.get("service")
        if service and service not in ordered:
            ordered.append(service)
    return ordered


# ---------------------------------------------------------------- runners
# text -> (services best first, declined, intent name, intent confidence, decision reason)
Asker = Callable[[str], tuple[list[str], bool, str | None, float, str]]


def run(questions: list[EvalQuestion], ask: Asker, strip: bool = False,
        progress: Callable[[int, int], None] | None = None) -> list[Outcome]:
    outcomes = []
    for i, question in enumerate(questions, 1):
        asked = strip_diacritics(question.text) if strip else question.text
        start = time.perf_counter()
        services, declined, intent, confidence, reason = ask(asked)
        seconds = time.perf_counter() - start
        outcomes.append(Outcome(question, asked, services, declined, seconds, intent, reason,
                                confidence))
        if progress:
            progress(i, len(questions))
    return outcomes


def assistant_asker(assistant) -> Asker:
    """Each question as a fresh conversation through the full chat path."""
    def ask(text: str):
        reply = assistant.chat(f"eval-{uuid.uuid4().hex}", text)
        services = services_of(reply.sources)
        declined = bool(reply.fallback) or not services
        return (services, declined, reply.intent.get("name"),
                float(reply.intent.get("confidence") or 0.0), "")
    return ask


def search_asker(knowledge_base, catalog, k: int = 8) -> Asker:
    """Search + decision only (no Rasa): fast, for tuning retrieval and the decline threshold."""
    from knowledge.decision import decide

    def ask(text: str):
        hits = knowledge_base.search(text, k=k)
        named = [m.service_id for m in catalog.mentions(text)]
        decision = decide(text, hits, None, 0.0, named)
        if not decision.answer:
            return [], True, None, 0.0, decision.reason
        return services_of(h.source() for h in hits), False, None, 0.0, decision.reason
    return ask


def threshold_sweep(questions: list[EvalQuestion], knowledge_base, catalog, k: int = 8,
                    strip: bool = False,
                    thresholds: Iterable[float] = (0.1, 0.14, 0.18, 0.22, 0.26, 0.3, 0.4, 0.5)
                    ) -> list[dict]:
    """Search + decision figures at several answer thresholds (how ANSWER_THRESHOLD is chosen)."""
    from knowledge.decision import decide

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
    return {
        "questions": len(outcomes),
        "in_scope": len(in_scope),
        "out_of_scope": len(oos),
        "hit@1": _ratio(sum(r == 1 for r in ranks), len(ranks)),
        "hit@3": _ratio(sum(r is not None and r <= 3 for r in ranks), len(ranks)),
        "mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 4) if ranks else None,
        "oos_decline_rate": _ratio(sum(o.declined for o in oos), len(oos)),
        "false_decline_rate": _ratio(sum(o.declined for o in in_scope), len(in_scope)),
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
            "reason": o.reason, "seconds": round(o.seconds, 4)}


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


__all__ = ["EvalFileError", "EvalQuestion", "EvalRun", "Outcome", "assistant_asker",
           "format_report", "load_questions", "outcome_record", "run", "search_asker",
           "services_of", "summarize"]


# ---------------------------------------------------------------- command line
def add_eval_parser(sub) -> None:
    """Register `trolyao eval` on the CLI's sub-parsers."""
    p = sub.add_parser("eval", help="score answers on labelled questions (Hit@k, MRR, declines)")
    p.add_argument("path", metavar="FILE.jsonl",
                   help='JSON lines {"qid","text","expected":[catalog ids] or ["oos"]}')
    p.add_argument("--strip-diacritics", action="store_true",
                   help="ask every question without tone marks (as typed on a plain keyboard)")
    p.add_argument("--search-only", action="store_true",
                   help="search + decision only, without Rasa (fast, for tuning)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--questions", action="store_true",
                   help="with --json: include every question's outcome")
    p.add_argument("--sweep", action="store_true",
                   help="search + decision at several answer thresholds (to choose one)")
    p.set_defaults(func=cmd_eval)


def _progress(done: int, total: int) -> None:
    import sys

    if done % 25 == 0 or done == total:
        print(f"\r  {done}/{total} questions", end="\n" if done == total else "",
              file=sys.stderr, flush=True)


def cmd_eval(args) -> int:
    import sys

    from trolyao import runtime

    try:
        questions = load_questions(args.path)
    except (OSError, EvalFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not questions:
        print(f"error: {args.path} has no questions to score", file=sys.stderr)
        return 2
    evaluation = EvalRun(str(args.path), args.strip_diacritics,
                         "search-only" if args.search_only else "chat")
    progress = _progress if sys.stderr.isatty() else None
    if args.sweep:
        rows = threshold_sweep(questions, runtime.knowledge_base(), runtime.catalog(),
                               strip=args.strip_diacritics)
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            print(f"{'threshold':>9} {'Hit@1':>6} {'Hit@3':>6} {'MRR':>6} {'oos declined':>12} "
                  f"{'false declines':>14}")
            for r in rows:
                print(f"{r['threshold']:9.2f} {r['hit@1']:6.3f} {r['hit@3']:6.3f} {r['mrr']:6.3f} "
                      f"{r['oos_decline_rate']:12.3f} {r['false_decline_rate']:14.3f}")
        return 0
    if args.search_only:
        ask = search_asker(runtime.knowledge_base(), runtime.catalog())
        evaluation.outcomes = run(questions, ask, strip=args.strip_diacritics, progress=progress)
    else:
        from trolyao.assistant import Assistant

        # Evaluation conversations are not kept with citizens' ones.
        settings = runtime.settings()
        settings.tracker_store = "memory://"
        assistant = Assistant(settings).start(watch_index=False)
        try:
            evaluation.outcomes = run(questions, assistant_asker(assistant),
                                      strip=args.strip_diacritics, progress=progress)
        finally:
            assistant.close()
    if args.json:
        print(json.dumps(evaluation.to_json(args.questions), ensure_ascii=False, indent=1))
    else:
        title = (f"trolyao eval {args.path}" + (" --strip-diacritics" if args.strip_diacritics else "")
                 + (" --search-only" if args.search_only else ""))
        print(format_report(evaluation.summary(), title))
    return 0
