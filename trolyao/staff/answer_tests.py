"""Answer tests: staff write what the assistant should say; this checks it
(`trolyao test-answers FILE.yml`, trolyao/cli/answers.py, prints the results).

The file is a YAML list of cases. A case is one question, or a conversation (`turns`):

    - ask: "Xin phiếu lý lịch tư pháp trên điện thoại được không?"
      expect_service: ly-lich-tu-phap
      expect_text_contains: ["VNeID"]
    - name: hỏi tiếp về thời hạn
      turns:
        - ask: "đăng ký tạm trú online thế nào"
          expect_service: tam-tru
        - ask: "mất mấy ngày?"
          expect_text_contains: ["ngày"]

Expectations (all optional, all checked): `expect_service` (the first cited source; a list
means any of them), `expect_text_contains` / `expect_text_not_contains` (case-insensitive,
tone marks count), `expect_fallback` (true = the assistant should decline), `expect_intent`,
`expect_slots` (a mapping). Each case is a fresh conversation.
"""
from __future__ import annotations

import difflib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.textnorm import nfc
from trolyao.staff.texts import excerpt

CASE_KEYS = {"name", "ask", "turns"}
TURN_KEYS = {"ask", "expect_service", "expect_text_contains", "expect_text_not_contains",
             "expect_fallback", "expect_intent", "expect_slots"}
ANSWER_EXCERPT = 240


class AnswerTestFileError(ValueError):
    """The file cannot be run as written; the message says where and why."""


@dataclass
class Turn:
    ask: str
    expect_service: list[str] = field(default_factory=list)
    expect_text_contains: list[str] = field(default_factory=list)
    expect_text_not_contains: list[str] = field(default_factory=list)
    expect_fallback: bool | None = None
    expect_intent: str | None = None
    expect_slots: dict = field(default_factory=dict)

    def expectations(self) -> str:
        parts = []
        if self.expect_service:
            parts.append("dịch vụ " + " | ".join(self.expect_service))
        if self.expect_text_contains:
            parts.append("có " + ", ".join(f"«{t}»" for t in self.expect_text_contains))
        if self.expect_text_not_contains:
            parts.append("không có " + ", ".join(f"«{t}»" for t in self.expect_text_not_contains))
        if self.expect_fallback is not None:
            parts.append("từ chối" if self.expect_fallback else "trả lời")
        if self.expect_intent:
            parts.append(f"intent {self.expect_intent}")
        if self.expect_slots:
            parts.append("slot " + ", ".join(f"{k}={v}" for k, v in self.expect_slots.items()))
        return "; ".join(parts) or "(không kỳ vọng gì)"


@dataclass
class Case:
    number: int
    name: str
    turns: list[Turn]


@dataclass
class Mismatch:
    """One failed expectation: what was expected (-) and what the assistant did (+)."""
    what: str
    expected: str
    got: str


@dataclass
class TurnResult:
    turn: Turn
    reply: object  # ChatReply
    mismatches: list[Mismatch]

    @property
    def got_service(self) -> str:
        return self.reply.cited_service or "(không trích nguồn)"


@dataclass
class CaseResult:
    case: Case
    turns: list[TurnResult]
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(not t.mismatches for t in self.turns)


# ---------------------------------------------------------------- loading
def _string_list(value, where: str, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and str(v).strip()
                                              for v in value):
        raise AnswerTestFileError(f"{where}: '{key}' must be a text or a list of texts")
    return [nfc(str(v)) for v in value]


def _unknown_key_error(where: str, key: str, allowed: set[str]) -> AnswerTestFileError:
    close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (allowed: {', '.join(sorted(allowed))})"
    return AnswerTestFileError(f"{where}: unknown key '{key}'{hint}")


def _parse_turn(raw, where: str, catalog) -> Turn:
    if not isinstance(raw, dict):
        raise AnswerTestFileError(f"{where}: expected a mapping with 'ask', got {type(raw).__name__}")
    for key in raw:
        if key not in TURN_KEYS:
            raise _unknown_key_error(where, key, TURN_KEYS)
    ask = raw.get("ask")
    if not isinstance(ask, str) or not ask.strip():
        raise AnswerTestFileError(f"{where}: 'ask' must be a non-empty question")
    turn = Turn(ask=nfc(ask.strip()))
    if "expect_service" in raw:
        turn.expect_service = _string_list(raw["expect_service"], where, "expect_service")
        unknown = [s for s in turn.expect_service if catalog is not None and s not in catalog]
        if unknown:
            close = difflib.get_close_matches(unknown[0], catalog.ids, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise AnswerTestFileError(f"{where}: '{unknown[0]}' is not a catalog id{hint}")
    for key in ("expect_text_contains", "expect_text_not_contains"):
        if key in raw:
            setattr(turn, key, _string_list(raw[key], where, key))
    if "expect_fallback" in raw:
        if not isinstance(raw["expect_fallback"], bool):
            raise AnswerTestFileError(f"{where}: 'expect_fallback' must be true or false")
        turn.expect_fallback = raw["expect_fallback"]
    if "expect_intent" in raw:
        turn.expect_intent = str(raw["expect_intent"])
    if "expect_slots" in raw:
        if not isinstance(raw["expect_slots"], dict):
            raise AnswerTestFileError(f"{where}: 'expect_slots' must be a mapping slot: value")
        turn.expect_slots = dict(raw["expect_slots"])
    return turn


def parse_cases(data, catalog=None) -> list[Case]:
    if isinstance(data, dict) and "cases" in data:
        data = data["cases"]
    if not isinstance(data, list) or not data:
        raise AnswerTestFileError("the file must be a non-empty YAML list of cases (- ask: …)")
    cases = []
    for number, raw in enumerate(data, 1):
        where = f"case {number}"
        if isinstance(raw, dict) and raw.get("name"):
            where += f" ({raw['name']})"
        if not isinstance(raw, dict):
            raise AnswerTestFileError(f"{where}: expected a mapping, got {type(raw).__name__}")
        if "turns" in raw:
            extra = [k for k in raw if k not in ("name", "turns")]
            if extra:
                raise AnswerTestFileError(f"{where}: with 'turns', put '{extra[0]}' inside a turn")
            if not isinstance(raw["turns"], list) or not raw["turns"]:
                raise AnswerTestFileError(f"{where}: 'turns' must be a non-empty list")
            turns = [_parse_turn(t, f"{where}, turn {i}", catalog) for i, t in enumerate(raw["turns"], 1)]
        else:
            body = {k: v for k, v in raw.items() if k != "name"}
            for key in body:
                if key not in TURN_KEYS:
                    raise _unknown_key_error(where, key, TURN_KEYS | CASE_KEYS)
            turns = [_parse_turn(body, where, catalog)]
        cases.append(Case(number=number, name=str(raw.get("name") or turns[0].ask), turns=turns))
    return cases


def load_cases(path: str | Path, catalog=None) -> list[Case]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise AnswerTestFileError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise AnswerTestFileError(f"{path}: not UTF-8 text") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AnswerTestFileError(f"{path}: invalid YAML: {exc}") from exc
    try:
        return parse_cases(data, catalog)
    except AnswerTestFileError as exc:
        raise AnswerTestFileError(f"{path}: {exc}") from exc


# ---------------------------------------------------------------- checking
def _contains(haystack: str, needle: str) -> bool:
    return needle.casefold() in haystack.casefold()


def check_turn(turn: Turn, reply) -> list[Mismatch]:
    answer = nfc("\n".join(m.get("text", "") for m in reply.messages))
    found: list[Mismatch] = []
    if turn.expect_service:
        got = reply.cited_service
        if got not in turn.expect_service:
            cited = ", ".join(f"{s['service']} {s['score']:.2f}" for s in reply.sources[:3])
            found.append(Mismatch("service", " | ".join(turn.expect_service),
                                  f"{got} (nguồn: {cited})" if got else
                                  "không trích nguồn nào" + (" (đã từ chối)" if reply.fallback else "")))
    missing = [t for t in turn.expect_text_contains if not _contains(answer, t)]
    if missing:
        found.append(Mismatch("text", "có " + ", ".join(f"«{t}»" for t in missing),
                              f"«{excerpt(answer, ANSWER_EXCERPT)}»"))
    present = [t for t in turn.expect_text_not_contains if _contains(answer, t)]
    if present:
        found.append(Mismatch("text", "không có " + ", ".join(f"«{t}»" for t in present),
                              f"«{excerpt(answer, ANSWER_EXCERPT)}»"))
    if turn.expect_fallback is not None and reply.fallback != turn.expect_fallback:
        found.append(Mismatch("fallback", "từ chối" if turn.expect_fallback else "trả lời",
                              "từ chối" if reply.fallback else "trả lời"))
    if turn.expect_intent and reply.intent.get("name") != turn.expect_intent:
        found.append(Mismatch("intent", turn.expect_intent,
                              f"{reply.intent.get('name')} ({reply.intent.get('confidence', 0):.2f})"))
    for slot, value in turn.expect_slots.items():
        if reply.slots.get(slot) != value:
            found.append(Mismatch(f"slot {slot}", str(value), str(reply.slots.get(slot))))
    return found


def run_case(assistant, case: Case) -> CaseResult:
    sender = f"test-answers-{uuid.uuid4().hex[:12]}"
    results: list[TurnResult] = []
    for turn in case.turns:
        try:
            reply = assistant.chat(sender, turn.ask)
        except Exception as exc:  # a timeout on one case must not hide the others
            return CaseResult(case, results, error=f"{type(exc).__name__}: {exc}")
        results.append(TurnResult(turn, reply, check_turn(turn, reply)))
    return CaseResult(case, results)


def run_cases(assistant, cases: list[Case], progress=None) -> list[CaseResult]:
    results = []
    for case in cases:
        results.append(run_case(assistant, case))
        if progress:
            progress(len(results), len(cases))
    return results


# ---------------------------------------------------------------- reporting
def failure_lines(result: CaseResult) -> list[str]:
    """A readable diff per failed turn: '-' what the file expects, '+' what the assistant did."""
    lines = [f"✗ case {result.case.number}: {result.case.name}"]
    if result.error:
        lines.append(f"    error: {result.error}")
    for index, turn_result in enumerate(result.turns, 1):
        if not turn_result.mismatches:
            continue
        label = f"turn {index}: " if len(result.case.turns) > 1 else ""
        lines.append(f"  {label}hỏi «{turn_result.turn.ask}»")
        for m in turn_result.mismatches:
            lines.append(f"    {m.what}")
            lines.append(f"      - expected: {m.expected}")
            lines.append(f"      + got:      {m.got}")
    return lines
