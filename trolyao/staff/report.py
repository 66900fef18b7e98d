"""What the assistant could not answer well, for `trolyao report` and the admin page.

Read from the conversation store (Rasa's tracker store, through its own API so SQLite,
PostgreSQL and Redis all work) and the review store (staff flags):

- to-do list: questions that ended in a fallback, got negative feedback, or were flagged,
  grouped by the service they were most likely about, most frequent first;
- summary: questions per day, answered vs declined, satisfaction from the feedback buttons
  against the 90% target of Hanoi's Kế hoạch 400, top services asked about.
"""
from __future__ import annotations

import asyncio
import csv
import json
import logging
import unicodedata
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import IO, Iterable
from urllib.parse import urlparse

from trolyao.core import runtime
from trolyao.core.protocol import META_KEY, cited_service
from trolyao.core.rasa_internals import innermost_store
from trolyao.core.stores import close_store, tracker_store_endpoint
from trolyao.staff.review_store import Flag, ReviewStore, question_key

HANOI_TZ = timezone(timedelta(hours=7))  # no daylight saving in Vietnam
SATISFACTION_TARGET = 0.90  # Kế hoạch 400/KH-UBND: at least 90% of people satisfied
# Conversations made by tools, not people: `trolyao test-answers` and `trolyao ask` (evaluation).
SYNTHETIC_SENDER_PREFIXES = ("test-answers-", "ask-")
# User messages that are not questions: feedback buttons, restarts, session starts.
INTERNAL_INTENTS = {"give_feedback", "restart", "session_start"}
# Replies to "was this helpful?" (affirm/deny) are feedback, not questions.
SMALL_TALK_INTENTS = {"greet", "goodbye", "thanks", "bot_challenge", "chitchat", "affirm", "deny"}
KIND_LABELS = {"fallback": "không trả lời được", "negative": "phản hồi không hài lòng",
               "flagged": "cán bộ đánh dấu"}
UNKNOWN_SERVICE = "(chưa rõ)"
log = logging.getLogger(__name__)


@dataclass
class Exchange:
    """One user message and what the assistant replied to it."""
    sender: str
    time: datetime
    question: str
    intent: str | None = None
    confidence: float = 0.0
    named_services: list[str] = field(default_factory=list)
    answer_parts: list[str] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)
    fallback: bool = False
    slot_service: str | None = None
    feedback: str | None = None
    to_staff: bool = False  # sent while staff had the conversation (live hand-off): not for the bot

    @property
    def answer(self) -> str:
        return "\n\n".join(self.answer_parts)

    @property
    def is_question(self) -> bool:
        return self.intent not in SMALL_TALK_INTENTS and not self.to_staff

    @property
    def likely_service(self) -> str | None:
        """What the citizen asked about: the service they named, else what the answer cited,
        else the service the dialogue settled on. A declined answer's search candidates are
        not used: "nuôi chó cảnh" finds "đăng ký khai sinh" as confidently as real matches."""
        for service in self.named_services[:1] + [cited_service(self.sources), self.slot_service]:
            if service:
                return service
        return None


class Exchanges(list):
    """Exchanges read from a store, and how many stored events could not be read.

    Stores keep whatever was written, including events from older versions (a forged
    `/ask_procedure{"service": 1}` stored an int as the service, `<img …>` as a service id):
    the report never trusts a stored value's type or content. Events it cannot read are
    skipped and counted (`skipped`), values it does not know (a service id that is not in the
    catalog, a feedback that is neither positive nor negative) are ignored."""
    skipped: int = 0

    def __init__(self, *args):
        super().__init__(*args)
        self.handoffs: list[Handoff] = []

    def extend_from(self, other: "Exchanges | list[Exchange]") -> None:
        self.extend(other)
        self.skipped += getattr(other, "skipped", 0)
        self.handoffs.extend(getattr(other, "handoffs", []))


@dataclass
class Handoff:
    """One live hand-off (trolyao/core/handoff.py), from the conversation's events: paused
    (queued), taken by staff, first staff reply, resumed (back to the assistant)."""
    sender: str
    start: datetime
    taken: datetime | None = None
    first_reply: datetime | None = None
    end: datetime | None = None

    @property
    def waiting_seconds(self) -> float | None:
        return (self.taken - self.start).total_seconds() if self.taken else None

    @property
    def first_reply_seconds(self) -> float | None:
        return (self.first_reply - self.start).total_seconds() if self.first_reply else None


class UnreadableEvent(ValueError):
    pass


def _text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UnreadableEvent(f"text is a {type(value).__name__}")
    return value


def _number(value, default: float = 0.0) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UnreadableEvent(f"number is a {type(value).__name__}")
    try:
        number = float(value)
    except (ValueError, OverflowError) as exc:
        raise UnreadableEvent(str(exc)) from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise UnreadableEvent("not a finite number")
    return number


def _mapping(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UnreadableEvent(f"expected an object, got a {type(value).__name__}")
    return value


def _timestamp(value) -> datetime:
    try:
        return datetime.fromtimestamp(_number(value), timezone.utc)
    except (OverflowError, OSError, ValueError) as exc:
        raise UnreadableEvent(f"timestamp: {exc}") from exc


def known_service_ids() -> set[str] | None:
    """The catalog's service ids (None: the catalog cannot be read, any string is accepted)."""
    try:
        return set(runtime.catalog().ids)
    except Exception:  # pragma: no cover - a broken catalog must not stop the report
        return None


def _service(value, services: set[str] | None) -> str | None:
    """A stored service id if it is one (a string of the catalog), else None."""
    if not isinstance(value, str) or not value:
        return None
    if services is not None and value not in services:
        return None
    return value


def _sources(value, services: set[str] | None) -> list[dict]:
    """Stored sources/candidates, keeping only well-formed ones with a known service."""
    if not isinstance(value, list):
        return []
    return [s for s in value if isinstance(s, dict) and _service(s.get("service"), services)]


def exchanges_from_events(sender: str, events: Iterable[dict],
                          services: set[str] | None = None) -> Exchanges:
    """Rasa event dicts (as stored) -> exchanges. Feedback attaches to the question before it.
    `services`: the catalog ids (other service values are ignored); None = any string."""
    exchanges = Exchanges()
    current: Exchange | None = None
    handoff: Handoff | None = None  # the open hand-off: messages go to staff, not the bot
    for event in events:
        try:
            kind = _mapping(event).get("event")
            if kind in ("pause", "resume") or (kind == "bot" and _staff_marker(event)):
                handoff = _read_handoff_event(sender, event, handoff, exchanges)
                continue
            current = _read_event(sender, event, current, exchanges, services)
            if handoff is not None and kind == "user" and current is not None:
                current.to_staff = True
        except (UnreadableEvent, TypeError, ValueError, AttributeError, KeyError):
            exchanges.skipped += 1
    return exchanges


def _staff_marker(event: dict) -> str | None:
    """"taken" / "reply" for the bot events staff send during a hand-off, else None."""
    metadata = _mapping(event.get("metadata"))
    return _text(metadata.get("handoff")) or None if metadata.get("staff") else None


def _read_handoff_event(sender: str, event: dict, handoff: Handoff | None,
                        exchanges: Exchanges) -> Handoff | None:
    kind, when = event.get("event"), _timestamp(event.get("timestamp"))
    if kind == "pause":
        if handoff is None:
            handoff = Handoff(sender=sender, start=when)
            exchanges.handoffs.append(handoff)
        return handoff
    if handoff is None:
        return None
    if kind == "resume":
        handoff.end = when
        return None
    marker = _staff_marker(event)
    if marker == "taken" and handoff.taken is None:
        handoff.taken = when
    elif marker != "taken" and handoff.first_reply is None:
        handoff.first_reply = when
        handoff.taken = handoff.taken or when
    return handoff


def _read_event(sender: str, event, current: Exchange | None, exchanges: list[Exchange],
                services: set[str] | None) -> Exchange | None:
    """One stored event; returns the exchange that following bot/slot events belong to."""
    event = _mapping(event)
    kind = event.get("event")
    if kind == "user":
        parse = _mapping(event.get("parse_data"))
        intent = _mapping(parse.get("intent"))
        name = intent.get("name")
        name = name if isinstance(name, str) else None
        text = _text(event.get("text"))
        if name in INTERNAL_INTENTS or text.startswith("/restart"):
            return None
        entities = parse.get("entities") or []
        if not isinstance(entities, list):
            raise UnreadableEvent("entities is not a list")
        named = [e.get("value") for e in entities
                 if isinstance(e, dict) and e.get("entity") == "service"]
        exchange = Exchange(
            sender=sender, question=text.strip(), time=_timestamp(event.get("timestamp")),
            intent=name, confidence=_number(intent.get("confidence")),
            named_services=[v for v in named if _service(v, services)])
        exchanges.append(exchange)
        return exchange
    if kind == "bot" and current is not None:
        text = _text(event.get("text"))
        data = _mapping(event.get("data"))
        custom = data.get("custom")
        meta = custom.get(META_KEY) if isinstance(custom, dict) else None
        if text:
            current.answer_parts.append(text)
        if isinstance(meta, dict):
            current.sources.extend(_sources(meta.get("sources"), services))
            current.candidates.extend(_sources(meta.get("candidates"), services))
            current.fallback = current.fallback or meta.get("fallback") is True
    elif kind == "slot":
        name, value = event.get("name"), event.get("value")
        if name == "service" and current is not None and _service(value, services):
            current.slot_service = value
        elif name == "feedback" and isinstance(value, str) and value in ("positive", "negative"):
            target = next((x for x in reversed(exchanges) if x.is_question), None)
            if target is not None:
                target.feedback = value
    return current


# ---------------------------------------------------------------- reading the stores
class _DropUnknownSlotErrors(logging.Filter):
    """Old conversations may set slots the current domain no longer has; replaying them to
    read the events is harmless, so Rasa's error about it is noise here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "non existent slot" not in record.getMessage()


@contextmanager
def _quiet_replay():
    logger, quiet = logging.getLogger("rasa.shared.core.trackers"), _DropUnknownSlotErrors()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


REPORT_EVENT_TYPES = ("user", "bot", "slot", "pause", "resume")


def _sql_store(tracker_store):
    """The SQLTrackerStore inside Rasa's wrappers, or None for other backends."""
    from rasa.core.tracker_store import SQLTrackerStore

    store = innermost_store(tracker_store)
    return store if isinstance(store, SQLTrackerStore) else None


def read_sql_events(store, include_synthetic: bool = False) -> Exchanges:
    """Fast path for SQL stores (SQLite, PostgreSQL): one query over Rasa's own `events` model
    instead of one query plus a tracker replay per conversation. Same rows, same order (by id)
    as `retrieve_full_tracker`; only the event types the report reads."""
    events_by_sender: dict[str, list] = {}
    unreadable = 0
    with store.session_scope() as session:
        rows = (session.query(store.SQLEvent.sender_id, store.SQLEvent.data)
                .filter(store.SQLEvent.type_name.in_(REPORT_EVENT_TYPES))
                .order_by(store.SQLEvent.id).yield_per(2000))
        for sender, data in rows:
            if not isinstance(sender, str):
                unreadable += 1
                continue
            if not include_synthetic and sender.startswith(SYNTHETIC_SENDER_PREFIXES):
                continue
            try:
                event = json.loads(data)
            except (TypeError, ValueError, RecursionError):
                unreadable += 1
                continue
            events_by_sender.setdefault(sender, []).append(event)
    services = known_service_ids()
    exchanges = Exchanges()
    exchanges.skipped = unreadable
    for sender, events in events_by_sender.items():
        exchanges.extend_from(exchanges_from_events(sender, events, services))
    return exchanges


async def read_exchanges(tracker_store, include_synthetic: bool = False) -> Exchanges:
    """Every conversation in a Rasa tracker store, all sessions. Runs on the store's loop."""
    sql = _sql_store(tracker_store)
    if sql is not None:
        return read_sql_events(sql, include_synthetic)
    return await read_exchanges_via_trackers(tracker_store, include_synthetic)


async def read_exchanges_via_trackers(tracker_store, include_synthetic: bool = False) -> Exchanges:
    """Any backend (Redis, …) through the TrackerStore API: keys(), retrieve_full_tracker()."""
    exchanges = Exchanges()
    services = known_service_ids()
    with _quiet_replay():
        for sender in await tracker_store.keys():
            if not isinstance(sender, str):
                exchanges.skipped += 1
                continue
            if not include_synthetic and sender.startswith(SYNTHETIC_SENDER_PREFIXES):
                continue
            try:
                tracker = await tracker_store.retrieve_full_tracker(sender)
                events = [e.as_dict() for e in tracker.events] if tracker is not None else []
            except (Exception, SystemExit):  # Rasa cannot replay it (its SQL store even exits)
                log.warning("report: conversation %s cannot be read, skipped", json.dumps(sender))
                exchanges.skipped += 1
                continue
            exchanges.extend_from(exchanges_from_events(sender, events, services))
    return exchanges


def read_exchanges_from_settings(settings, include_synthetic: bool = False) -> Exchanges:
    """A fresh tracker store object for the configured backend (the CLI: no assistant running)."""
    from rasa.core.tracker_store import TrackerStore

    endpoint = tracker_store_endpoint(settings.tracker_store)
    if endpoint is None:  # memory:// keeps nothing between processes
        return Exchanges()

    async def _read():
        store = TrackerStore.create(endpoint, domain=_domain(settings))
        try:
            return await read_exchanges(store, include_synthetic)
        finally:
            close_store(store)

    return asyncio.run(_read())


def _domain(settings):
    """The bot's domain, so replayed trackers know its slots (an empty one works too)."""
    from rasa.shared.core.domain import Domain

    try:
        return Domain.load(str(settings.bot_dir / "domain"))
    except Exception:  # a domain being edited must not stop the report
        return Domain.empty()


def store_location(url: str) -> str:
    """The store URL without its password, for messages."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return url
    return f"{parsed.scheme}://{parsed.hostname or ''}{f':{parsed.port}' if parsed.port else ''}{parsed.path}"


def read_exchanges_from_assistant(assistant, include_synthetic: bool = False,
                                  timeout: float = 120) -> list[Exchange]:
    """Through the running assistant's own store (the web app): SQL directly, others on its loop."""
    store = assistant.tracker_store
    sql = _sql_store(store)
    if sql is not None:  # in this thread: the assistant's loop keeps answering meanwhile
        return read_sql_events(sql, include_synthetic)
    return assistant.run(read_exchanges_via_trackers(store, include_synthetic), timeout)


# ---------------------------------------------------------------- the to-do list
@dataclass
class TodoItem:
    """One question (however it was typed) and every time it went wrong."""
    key: str
    question: str  # the latest wording
    kinds: Counter = field(default_factory=Counter)
    services: Counter = field(default_factory=Counter)
    last_seen: datetime | None = None
    notes: list[str] = field(default_factory=list)
    flag_ids: list[int] = field(default_factory=list)
    last_answer: str = ""

    @property
    def count(self) -> int:
        return sum(self.kinds.values())

    @property
    def service(self) -> str | None:
        """The service most occurrences point to (None: nobody could tell)."""
        return self.services.most_common(1)[0][0] if self.services else None

    def add(self, kind: str, when: datetime, question: str, answer: str, service: str | None) -> None:
        self.kinds[kind] += 1
        if service:
            self.services[service] += 1
        if self.last_seen is None or when >= self.last_seen:
            self.last_seen, self.question, self.last_answer = when, question, answer


@dataclass
class TodoGroup:
    service: str | None
    items: list[TodoItem]

    @property
    def count(self) -> int:
        return sum(i.count for i in self.items)


def todo_list(exchanges: list[Exchange], flags: list[Flag],
              resolutions: dict[str, datetime] | None = None) -> list[TodoGroup]:
    resolutions = resolutions or {}
    items: dict[str, TodoItem] = {}

    def item_for(question) -> TodoItem:
        key = question_key(question)
        return items.setdefault(key, TodoItem(key=key, question=question))

    def closed(question: str, when: datetime) -> bool:
        resolved = resolutions.get(question_key(question))
        return resolved is not None and when <= resolved

    for x in exchanges:
        if not x.is_question or not x.question or closed(x.question, x.time):
            continue
        for kind in (["fallback"] if x.fallback else []) + (["negative"] if x.feedback == "negative" else []):
            item_for(x.question).add(kind, x.time, x.question, x.answer, x.likely_service)
    for flag in flags:
        if flag.status != "open" or closed(flag.question, flag.created):
            continue
        item = item_for(flag.question)
        item.add("flagged", flag.created, flag.question, flag.answer, flag.service)
        item.flag_ids.append(flag.id)
        if flag.note:
            item.notes.append(flag.note)

    groups: dict[str | None, list[TodoItem]] = {}
    for item in items.values():
        groups.setdefault(item.service, []).append(item)
    newest = datetime.min.replace(tzinfo=timezone.utc)
    result = [TodoGroup(service, sorted(group, key=lambda i: (-i.count, -(i.last_seen or newest).timestamp())))
              for service, group in groups.items()]
    result.sort(key=lambda g: (-g.count, g.service is None, g.service or ""))
    return result


def flat_items(groups: list[TodoGroup]) -> list[TodoItem]:
    """Items across services, most frequent first (the admin page's 'top unanswered')."""
    return sorted((i for g in groups for i in g.items),
                  key=lambda i: (-i.count, -(i.last_seen.timestamp() if i.last_seen else 0)))


# ---------------------------------------------------------------- the summary (admin charts)
@dataclass
class Summary:
    days: list[date]
    questions_per_day: list[int]
    answered: int
    declined: int
    positive: int
    negative: int
    top_services: list[tuple[str, int]]
    conversations: int
    target: float = SATISFACTION_TARGET
    handoffs: int = 0  # live hand-offs to staff started in the window
    handoff_wait_median: float | None = None  # seconds from the queue to a staff member taking it
    handoff_first_reply_median: float | None = None  # seconds from the queue to the first staff reply

    @property
    def questions(self) -> int:
        return self.answered + self.declined

    @property
    def answered_share(self) -> float | None:
        return self.answered / self.questions if self.questions else None

    @property
    def satisfaction(self) -> float | None:
        rated = self.positive + self.negative
        return self.positive / rated if rated else None

    @property
    def handoff_text(self) -> str:
        """'3 lần chuyển cho cán bộ; chờ nhận (trung vị) 1 phút 5 giây, …' (the CLI and /admin)."""
        if not self.handoffs:
            return "chưa có lần chuyển cho cán bộ nào"
        parts = [f"{self.handoffs} lần chuyển cho cán bộ"]
        for label, seconds in (("chờ cán bộ nhận", self.handoff_wait_median),
                               ("đến câu trả lời đầu tiên của cán bộ", self.handoff_first_reply_median)):
            if seconds is not None:
                minutes, rest = divmod(int(round(seconds)), 60)
                parts.append(f"{label} (trung vị) {f'{minutes} phút ' if minutes else ''}{rest} giây")
        return "; ".join(parts)


def local_day(moment: datetime) -> date:
    return moment.astimezone(HANOI_TZ).date()


def _median(values: list[float]) -> float | None:
    values = sorted(values)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def summarize(exchanges: list[Exchange], days: int = 30, today: date | None = None,
              top: int = 10, handoffs: list[Handoff] | None = None) -> Summary:
    """Figures for the last `days` days (Hanoi time), today included."""
    today = today or local_day(datetime.now(timezone.utc))
    first = today - timedelta(days=days - 1)
    handoffs = [h for h in (getattr(exchanges, "handoffs", []) if handoffs is None else handoffs)
                if first <= local_day(h.start) <= today]
    window = [x for x in exchanges if x.is_question and first <= local_day(x.time) <= today]
    per_day = Counter(local_day(x.time) for x in window)
    span = [first + timedelta(days=i) for i in range(days)]
    services = Counter(x.likely_service for x in window if x.likely_service)
    return Summary(
        days=span, questions_per_day=[per_day.get(d, 0) for d in span],
        answered=sum(1 for x in window if not x.fallback),
        declined=sum(1 for x in window if x.fallback),
        positive=sum(1 for x in window if x.feedback == "positive"),
        negative=sum(1 for x in window if x.feedback == "negative"),
        top_services=services.most_common(top),
        conversations=len({x.sender for x in window}),
        handoffs=len(handoffs),
        handoff_wait_median=_median([h.waiting_seconds for h in handoffs if h.taken]),
        handoff_first_reply_median=_median([h.first_reply_seconds for h in handoffs if h.first_reply]))


# ---------------------------------------------------------------- one object for both views
@dataclass
class Report:
    groups: list[TodoGroup]
    summary: Summary
    flags_open: int
    store_error: str | None = None  # the conversation store could not be read (flags still shown)
    skipped: int = 0  # stored events or flags that could not be read (left out, see Exchanges)

    @property
    def items(self) -> list[TodoItem]:
        return flat_items(self.groups)


def build_report(exchanges: list[Exchange], review: ReviewStore, days: int | None = None,
                 summary_days: int = 30, now: datetime | None = None) -> Report:
    """`days` limits the to-do list to recent occurrences (None = everything)."""
    now = now or datetime.now(timezone.utc)
    skipped = getattr(exchanges, "skipped", 0)
    handoffs = getattr(exchanges, "handoffs", [])
    flags, bad_flags = _readable_flags(review.flags())
    skipped += bad_flags
    if days is not None:
        since = now - timedelta(days=days)
        exchanges = [x for x in exchanges if x.time >= since]
        flags = [f for f in flags if f.created >= since]
    groups = todo_list(exchanges, flags, review.resolutions())
    return Report(groups=groups, summary=summarize(exchanges, summary_days, local_day(now),
                                                   handoffs=handoffs),
                  flags_open=sum(1 for f in flags if f.status == "open"), skipped=skipped)


def _readable_flags(flags: list[Flag]) -> tuple[list[Flag], int]:
    """Flags whose fields have the types the report needs (SQLite columns hold anything)."""
    good = []
    for flag in flags:
        if isinstance(flag.question, str) and isinstance(flag.created, datetime) \
                and flag.created.tzinfo is not None and isinstance(flag.id, int) \
                and (flag.service is None or isinstance(flag.service, str)) \
                and isinstance(flag.note or "", str) and isinstance(flag.answer or "", str):
            good.append(flag)
    return good, len(flags) - len(good)


# ---------------------------------------------------------------- output
CSV_COLUMNS = ["service", "service_name", "question", "count", "fallback", "negative_feedback",
               "flagged", "last_seen", "notes", "flag_ids", "last_answer"]


def service_label(catalog, service_id) -> str:
    """A service's short name; the id itself if the catalog does not know it (anything stored
    before the catalog changed), UNKNOWN_SERVICE for none."""
    if not service_id:
        return UNKNOWN_SERVICE
    try:
        return catalog.short_name(service_id) if catalog is not None else str(service_id)
    except Exception:
        return str(service_id)


def csv_rows(groups: list[TodoGroup], catalog=None) -> Iterable[dict]:
    for group in groups:
        for item in group.items:
            yield {
                "service": group.service or "",
                "service_name": service_label(catalog, group.service) if catalog and group.service else "",
                "question": item.question, "count": item.count,
                "fallback": item.kinds["fallback"], "negative_feedback": item.kinds["negative"],
                "flagged": item.kinds["flagged"],
                "last_seen": item.last_seen.astimezone(HANOI_TZ).isoformat(timespec="seconds")
                if item.last_seen else "",
                "notes": " | ".join(item.notes), "flag_ids": " ".join(map(str, item.flag_ids)),
                "last_answer": item.last_answer[:500],
            }


# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): = + - @ first, also
# after spaces/tabs/newlines or in full-width form (＝ ＋ － ＠), or a tab / CR first.
_FORMULA_START = ("=", "+", "-", "@")


def safe_cell(value):
    """A text cell prefixed with ' when a spreadsheet could read it as a formula; the quote
    is shown as typed in the cell, the formula never runs. Numbers stay numbers."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in ("\t", "\r"):
        return "'" + value
    stripped = value.lstrip(" \t\r\n\u00a0\u3000")
    first = unicodedata.normalize("NFKC", stripped[:1])
    if first.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(groups: list[TodoGroup], out: IO[str], catalog=None) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in csv_rows(groups, catalog))


def kinds_text(item: TodoItem) -> str:
    return ", ".join(f"{KIND_LABELS[k]} ×{n}" for k, n in item.kinds.most_common())
