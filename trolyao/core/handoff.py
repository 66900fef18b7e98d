"""Live hand-off: a staff member takes over a conversation from the assistant.

- `OfficeHours`: when staff answer (per weekday, time zone Asia/Ho_Chi_Minh, holidays).
- `HandoffQueue`: the conversations waiting for staff, taken by one, returned or closed, and the
  messages staff sent, in SQL tables (the conversation store's database when it is SQL, else
  `TROLYAO_HANDOFF_STORE`, default `var/handoff.db`). Every worker and machine sees the same
  queue; "take" is one conditional UPDATE, so two staff members can never take the same
  conversation.
- Wake-ups: a citizen's widget waits (long polling) for staff messages. With a Redis
  conversation store a new message is published on a Redis channel and the waiting request in
  any worker wakes at once; otherwise waiting requests re-read the table every
  `POLL_SECONDS` (and wake at once within the same process).
- The conversation itself carries Rasa's `ConversationPaused` / `ConversationResumed` events
  (Rasa predicts nothing for a paused conversation: the citizen's messages are stored, not
  answered), and staff replies are `BotUttered` events with `metadata.staff`, so reports count
  hand-offs, waiting time and time to the first staff reply from the conversation store.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed
from sqlalchemy.engine import make_url

from trolyao.core.redaction import redact

log = logging.getLogger(__name__)

WAITING, TAKEN, RETURNED, CLOSED = "waiting", "taken", "returned", "closed"
OPEN_STATES = (WAITING, TAKEN)
POLL_SECONDS = 0.25  # SQL stores: how often a waiting request re-reads the queue
STAFF_LABEL = "Cán bộ hỗ trợ"  # what the citizen sees as the author of a staff message
MAX_REPLY_CHARS = 2000

# ---------------------------------------------------------------- office hours
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
DEFAULT_OFFICE_HOURS = "mon-fri 07:30-11:30 13:30-17:00"
_SPAN_RE = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


class ConfigError(ValueError):
    pass


@dataclass
class OfficeHours:
    """`spec`: "mon-fri 07:30-11:30 13:30-17:00; sat 07:30-11:30" (days: mon … sun, ranges
    mon-fri; times HH:MM-HH:MM, 24:00 allowed). Holidays are whole days without staff."""
    week: dict[int, list[tuple[clock_time, clock_time | None]]]
    holidays: frozenset[date] = frozenset()
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))
    spec: str = DEFAULT_OFFICE_HOURS

    @classmethod
    def parse(cls, spec: str, holidays: str = "", zone: str = "Asia/Ho_Chi_Minh") -> "OfficeHours":
        week: dict[int, list] = {}
        for part in filter(None, (p.strip() for p in spec.split(";"))):
            days, _, spans = part.partition(" ")
            first, _, last = days.lower().partition("-")
            if first not in DAYS or (last and last not in DAYS):
                raise ConfigError(f"TROLYAO_OFFICE_HOURS: unknown day in {part!r} (mon … sun)")
            start, end = DAYS.index(first), DAYS.index(last or first)
            found = _SPAN_RE.findall(spans)
            if not found or _SPAN_RE.sub("", spans).strip(" ,"):
                raise ConfigError(f"TROLYAO_OFFICE_HOURS: times must look like 07:30-11:30 in {part!r}")
            periods = []
            for h1, m1, h2, m2 in found:
                opens = clock_time(int(h1), int(m1))
                closes = None if (int(h2), int(m2)) == (24, 0) else clock_time(int(h2), int(m2))
                if closes is not None and closes <= opens:
                    raise ConfigError(f"TROLYAO_OFFICE_HOURS: {h1}:{m1}-{h2}:{m2} ends before it starts")
                periods.append((opens, closes))
            for day in range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]:
                week.setdefault(day, []).extend(periods)
        days_off = set()
        for item in re.split(r"[\s,;]+", holidays.strip()):
            if item:
                try:
                    days_off.add(date.fromisoformat(item))
                except ValueError:
                    raise ConfigError(f"TROLYAO_HOLIDAYS: {item!r} is not a date like 2026-09-02")
        try:
            tz = ZoneInfo(zone)
        except Exception:
            raise ConfigError(f"TROLYAO_TIMEZONE: unknown time zone {zone!r}")
        return cls({d: sorted(p) for d, p in week.items()}, frozenset(days_off), tz, spec)

    @classmethod
    def from_settings(cls, settings) -> "OfficeHours":
        return cls.parse(settings.office_hours, settings.holidays, settings.timezone)

    def local(self, moment: datetime | None = None) -> datetime:
        return (moment or datetime.now(self.zone)).astimezone(self.zone)

    def is_open(self, moment: datetime | None = None) -> bool:
        now = self.local(moment)
        if now.date() in self.holidays:
            return False
        return any(opens <= now.time() and (closes is None or now.time() < closes)
                   for opens, closes in self.week.get(now.weekday(), []))

    def next_opening(self, moment: datetime | None = None) -> datetime | None:
        """When staff are next on duty (None: never, no hours configured)."""
        now = self.local(moment)
        for offset in range(0, 400):
            day = now.date() + timedelta(days=offset)
            if day in self.holidays:
                continue
            for opens, closes in self.week.get(day.weekday(), []):
                start = datetime.combine(day, opens, self.zone)
                if start > now:
                    return start
        return None

    def describe_next(self, moment: datetime | None = None) -> str:
        """'8:00 Thứ Hai, 07/12/2026' (Vietnamese), '' if never."""
        when = self.next_opening(moment)
        if when is None:
            return ""
        return f"{when.hour}:{when.minute:02d} {DAY_NAMES[when.weekday()]}, {when:%d/%m/%Y}"


# ---------------------------------------------------------------- the queue
_metadata = sa.MetaData()
_queue = sa.Table(
    "handoff_queue", _metadata,
    sa.Column("conversation", sa.String(128), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False, default=""),
    sa.Column("in_office_hours", sa.Boolean, nullable=False, default=True),
    sa.Column("queued_at", sa.Float, nullable=False),
    sa.Column("taken_by", sa.String(128)),
    sa.Column("taken_name", sa.String(200)),
    sa.Column("taken_at", sa.Float),
    sa.Column("first_reply_at", sa.Float),
    sa.Column("ended_at", sa.Float),
    sa.Column("ended_by", sa.String(128)),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("handoff_queue_state", "state", "queued_at"),
)
_messages = sa.Table(
    "handoff_messages", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation", sa.String(128), nullable=False),
    sa.Column("author", sa.String(16), nullable=False),  # "staff" | "system"
    sa.Column("staff", sa.String(128)),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("handoff_messages_conversation", "conversation", "id"),
)


class AlreadyTaken(RuntimeError):
    def __init__(self, ticket: "Ticket | None"):
        self.ticket = ticket
        who = ticket.taken_name or ticket.taken_by if ticket else None
        super().__init__(f"taken by {who}" if who else "not waiting any more")


class NotYours(RuntimeError):
    pass


@dataclass
class Ticket:
    conversation: str
    state: str
    reason: str
    in_office_hours: bool
    queued_at: float
    taken_by: str | None = None
    taken_name: str | None = None
    taken_at: float | None = None
    first_reply_at: float | None = None
    ended_at: float | None = None
    ended_by: str | None = None
    updated_at: float = 0.0

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def default_store_url(settings) -> str:
    """The conversation store's database when it is SQL, else var/handoff.db."""
    explicit = getattr(settings, "handoff_store", "")
    if explicit:
        return explicit
    scheme = urlparse(settings.tracker_store).scheme
    if scheme in ("sqlite", "postgresql", "postgres"):
        return settings.tracker_store.replace("postgres://", "postgresql://", 1)
    return f"sqlite:///{Path(settings.home) / 'var' / 'handoff.db'}"


class LocalWaiter:
    """Wake-ups inside one process (and a short sleep so other processes' changes, seen only
    in the table, are noticed within POLL_SECONDS)."""

    def __init__(self, poll_seconds: float = POLL_SECONDS):
        self.poll_seconds = poll_seconds
        self._changed = threading.Condition()
        self._version = 0

    def notify(self, conversation: str) -> None:
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    def wait(self, conversation: str, timeout: float) -> None:
        with self._changed:
            seen = self._version
            self._changed.wait_for(lambda: self._version != seen, min(timeout, self.poll_seconds))

    def close(self) -> None:
        pass


class RedisWaiter(LocalWaiter):
    """Wake-ups through Redis pub/sub (channel per conversation): a staff reply saved by any
    worker on any machine wakes the citizen's waiting request at once."""
    PREFIX = "trolyao:handoff:"

    # A reply published between the table read and the subscription is still seen within this.
    def __init__(self, client, poll_seconds: float = 1.0):
        super().__init__(poll_seconds)
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> "RedisWaiter":
        import redis  # only with a Redis conversation store (the package is Rasa's dependency)

        return cls(redis.Redis.from_url(url))

    def notify(self, conversation: str) -> None:
        super().notify(conversation)
        try:
            self.client.publish(self.PREFIX + conversation, b"1")
        except Exception:  # the table still has the change: waiting requests re-read it anyway
            log.warning("hand-off: cannot publish the wake-up on Redis", exc_info=True)

    def wait(self, conversation: str, timeout: float) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.PREFIX + conversation)
            deadline = time.monotonic() + min(timeout, self.poll_seconds)
            while (left := deadline - time.monotonic()) > 0:
                if pubsub.get_message(timeout=left) is not None:
                    return
        except Exception:
            log.warning("hand-off: Redis wake-ups unavailable, polling", exc_info=True)
            super().wait(conversation, timeout)
        finally:
            pubsub.close()

    def close(self) -> None:
        self.client.close()


class HandoffQueue:
    """The hand-off queue and the staff messages of each conversation (see the module doc)."""

    def __init__(self, url: str, waiter: LocalWaiter | None = None, clock=time.time):
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        self.waiter = waiter or LocalWaiter()
        self.clock = clock
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":  # workers start at once: one creates
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('trolyao.handoff'))"))
            _metadata.create_all(conn, checkfirst=True)

    @classmethod
    def from_settings(cls, settings) -> "HandoffQueue":
        waiter = None
        if urlparse(settings.tracker_store).scheme in ("redis", "rediss"):
            waiter = RedisWaiter.from_url(settings.tracker_store)
        return cls(default_store_url(settings), waiter)

    def close(self) -> None:
        self.waiter.close()
        self.engine.dispose()

    # ---- reading
    def get(self, conversation: str) -> Ticket | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_queue).where(_queue.c.conversation == conversation)).mappings().first()
        return Ticket(**row) if row else None

    def tickets(self, states: tuple[str, ...], limit: int = 200) -> list[Ticket]:
        """Oldest first for open states (who waits longest comes first), newest first otherwise."""
        order = _queue.c.queued_at.asc() if set(states) <= set(OPEN_STATES) else _queue.c.updated_at.desc()
        query = sa.select(_queue).where(_queue.c.state.in_(states)).order_by(order).limit(limit)
        with self.engine.connect() as conn:
            return [Ticket(**r) for r in conn.execute(query).mappings().all()]

    def position(self, conversation: str) -> int | None:
        """1 = next to be taken; None when not waiting."""
        ticket = self.get(conversation)
        if ticket is None or ticket.state != WAITING:
            return None
        with self.engine.connect() as conn:
            ahead = conn.execute(sa.select(sa.func.count()).select_from(_queue).where(
                _queue.c.state == WAITING, _queue.c.queued_at < ticket.queued_at)).scalar()
        return int(ahead) + 1

    def messages_after(self, conversation: str, after: int = 0, since: float = 0.0) -> list[dict]:
        """Staff and system messages after id `after`, sent at or after `since` (the current
        hand-off's messages, not an earlier one's)."""
        query = (sa.select(_messages).where(_messages.c.conversation == conversation,
                                            _messages.c.id > after, _messages.c.at >= since)
                 .order_by(_messages.c.id))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    # ---- changing
    def enqueue(self, conversation: str, reason: str, in_office_hours: bool) -> tuple[Ticket, bool]:
        """Put the conversation in the queue (again). Returns (ticket, newly queued); a
        conversation already waiting or taken keeps its place."""
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(_queue).where(_queue.c.conversation == conversation)).mappings().first()
            if row is not None and row["state"] in OPEN_STATES:
                return Ticket(**row), False
            values = dict(state=WAITING, reason=reason, in_office_hours=in_office_hours, queued_at=now,
                          taken_by=None, taken_name=None, taken_at=None, first_reply_at=None,
                          ended_at=None, ended_by=None, updated_at=now)
            if row is None:
                conn.execute(_queue.insert().values(conversation=conversation, **values))
            else:
                conn.execute(_queue.update().where(_queue.c.conversation == conversation).values(**values))
        self.waiter.notify(conversation)
        return self.get(conversation), True

    def take(self, conversation: str, staff: str, name: str) -> Ticket:
        """One conditional UPDATE: exactly one of several staff members (any worker) wins."""
        now = self.clock()
        with self.engine.begin() as conn:
            taken = conn.execute(_queue.update().where(
                _queue.c.conversation == conversation, _queue.c.state == WAITING).values(
                state=TAKEN, taken_by=staff, taken_name=name, taken_at=now, updated_at=now)).rowcount
        ticket = self.get(conversation)
        if taken != 1:
            raise AlreadyTaken(ticket)
        self._system(conversation, TAKEN_NOTICE)
        return ticket

    def reply(self, conversation: str, staff: str, text: str) -> dict:
        """A staff message (redacted) for the citizen; only the staff member who took it."""
        ticket = self.get(conversation)
        if ticket is None or ticket.state != TAKEN or ticket.taken_by != staff:
            raise NotYours("this conversation is not taken by you")
        now = self.clock()
        with self.engine.begin() as conn:
            message_id = conn.execute(_messages.insert().values(
                conversation=conversation, author="staff", staff=staff, text=redact(text), at=now)
            ).inserted_primary_key[0]
            conn.execute(_queue.update().where(_queue.c.conversation == conversation,
                                               _queue.c.first_reply_at.is_(None))
                         .values(first_reply_at=now))
            conn.execute(_queue.update().where(_queue.c.conversation == conversation).values(updated_at=now))
        self.waiter.notify(conversation)
        return {"id": message_id, "author": "staff", "text": redact(text), "at": now}

    def end(self, conversation: str, staff: str, state: str, may_end_others: bool = False) -> Ticket:
        """Return to the assistant (RETURNED) or close (CLOSED). A waiting conversation may be
        ended by anybody on duty; a taken one by whoever took it (admins: any)."""
        if state not in (RETURNED, CLOSED):
            raise ValueError(state)
        ticket = self.get(conversation)
        if ticket is None or not ticket.open:
            raise NotYours("this conversation is not in the queue")
        if ticket.state == TAKEN and ticket.taken_by != staff and not may_end_others:
            raise NotYours(f"taken by {ticket.taken_name or ticket.taken_by}")
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(_queue.update().where(_queue.c.conversation == conversation,
                                               _queue.c.state.in_(OPEN_STATES))
                         .values(state=state, ended_at=now, ended_by=staff, updated_at=now))
        text = (f"{STAFF_LABEL} đã chuyển anh/chị lại cho trợ lý ảo. Anh/chị cứ tiếp tục đặt câu hỏi nhé."
                if state == RETURNED else
                f"{STAFF_LABEL} đã kết thúc cuộc hỗ trợ. Cảm ơn anh/chị; nếu cần hỏi thêm, anh/chị cứ nhắn "
                f"tại đây, trợ lý ảo sẽ trả lời.")
        self._system(conversation, text)
        return self.get(conversation)

    def _system(self, conversation: str, text: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(_messages.insert().values(conversation=conversation, author="system",
                                                   staff=None, text=text, at=self.clock()))
        self.waiter.notify(conversation)

    # ---- the citizen's waiting request
    def updates(self, conversation: str, after: int, wait: float) -> tuple[Ticket | None, list[dict]]:
        """The conversation's ticket and the messages after `after`; waits up to `wait` seconds
        for a new one (long polling)."""
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            ticket = self.get(conversation)
            messages = self.messages_after(conversation, after, ticket.queued_at) if ticket else []
            left = deadline - time.monotonic()
            if messages or ticket is None or left <= 0:
                return ticket, messages
            self.waiter.wait(conversation, left)


_shared: dict[str, HandoffQueue] = {}
_shared_lock = threading.Lock()


def shared_queue(settings) -> HandoffQueue:
    """One queue (one connection pool) per process and store, for the actions and the web app."""
    key = f"{default_store_url(settings)}|{settings.tracker_store}"
    with _shared_lock:
        if key not in _shared:
            _shared[key] = HandoffQueue.from_settings(settings)
        return _shared[key]


# ---------------------------------------------------------------- the conversation's events
TAKEN_NOTICE = f"{STAFF_LABEL} đã tiếp nhận cuộc trò chuyện và sẽ trả lời anh/chị tại đây."


def staff_message_event(text: str, staff: str, marker: str = "reply", name: str = "") -> BotUttered:
    """A staff message as Rasa stores bot messages, marked so reports and transcripts tell
    staff from the assistant: metadata.handoff "taken" (the notice when staff take the
    conversation: waiting time) or "reply" (time to the first staff reply)."""
    metadata = {"staff": staff, "handoff": marker, **({"staff_name": name} if name else {})}
    return BotUttered(redact(text), data={}, metadata=metadata)


def resume_events() -> list:
    """Back to the assistant: resumed, listening (the next message is predicted afresh)."""
    return [ConversationResumed(), ActionExecuted(ACTION_LISTEN_NAME)]


async def append_events(agent, conversation: str, events: list):
    """Add events to a stored conversation, under its lock (the assistant's event loop)."""
    async with agent.lock_store.lock(conversation):
        tracker = await agent.tracker_store.retrieve(conversation)
        if tracker is None:
            tracker = await agent.tracker_store.get_or_create_tracker(conversation)
        for event in events:
            tracker.update(event, agent.domain)
        await agent.tracker_store.save(tracker)
    return tracker


async def read_events(agent, conversation: str) -> list[dict]:
    tracker = await agent.tracker_store.retrieve_full_tracker(conversation)
    return [e.as_dict() for e in tracker.events] if tracker else []
