"""Citizens' data: see it, delete it, and keep it no longer than needed (Nghị định 13/2023/NĐ-CP).

Where a conversation leaves traces:

- the conversation store (messages, answers, slots, feedback 👍/👎: Rasa events), under the
  conversation id, a keyed hash of the sender id (trolyao/core/senders.py);
- the review store (`var/review.db`): notes staff flagged on an exchange;
- the hand-off tables (`handoff_*`, trolyao/core/handoff.py) when live hand-off is used:
  the queue entry and the staff's messages;
- the chat apps' outbox (`var/channel-outbox.db`, webhook/channels/outbox.py): answers not
  yet sent or sent in the last day, and the chat-app id of the conversation;
- the audit log (trolyao/core/audit.py): who exported or deleted what, when. It keeps the
  conversation id and counts only, no message, and is never purged or deleted: it is the
  proof that a request was carried out.

`Privacy.export(sender)` gathers all of it, `Privacy.delete(sender)` removes all of it,
`Privacy.purge()` applies TROLYAO_RETENTION_DAYS to everything; each call is audit-logged.
`sender` is what staff have: the sender id as the channel gave it (`web-…`, a Zalo id, a
phone number an API client used), or the stored conversation id (`u-…`) a report shows.

`RetentionSchedule` runs the purge in the serving process once a day: every worker has the
thread, a file lock and a time stamp beside the data make one of them do it.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse

import sqlalchemy as sa
from rasa.core.tracker_store import InMemoryTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain

from trolyao.core import retention
from trolyao.core.audit import AuditLog
from trolyao.core.senders import SenderIds
from trolyao.core.stores import check_reachable, close_store, tracker_store_endpoint
from trolyao.staff.review_store import ReviewStore

log = logging.getLogger(__name__)

__all__ = ["ChannelOutboxRecords", "HandoffRecords", "Privacy", "RetentionSchedule", "privacy_for_settings", "retention_cutoff"]

DAY_SECONDS = 24 * 3600


def retention_cutoff(days: int, now: datetime | None = None) -> datetime:
    return (now or datetime.now(timezone.utc)) - timedelta(days=days)


def _iso(timestamp) -> str | None:
    if not isinstance(timestamp, (int, float)):
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


class HandoffRecords:
    """The hand-off tables, read by name (`handoff_*` with a `conversation` column) so this
    module needs nothing from the hand-off code but its table names; absent tables = nothing
    stored. Times are UNIX seconds: `at` (messages) and `updated_at` (queue entries)."""

    TIME_COLUMNS = ("at", "updated_at")

    def __init__(self, url: str | None):
        self.engine = sa.create_engine(url) if url else None

    @staticmethod
    def wanted(name: str) -> bool:
        return name.startswith("handoff")

    @classmethod
    def from_settings(cls, settings) -> "HandoffRecords":
        explicit = getattr(settings, "handoff_store", "")
        if explicit:
            return cls(explicit)
        # Same default as the hand-off queue: the conversations' SQL database, else var/handoff.db.
        if urlparse(settings.tracker_store).scheme in ("sqlite", "postgresql", "postgres"):
            return cls(settings.tracker_store.replace("postgres://", "postgresql://", 1))
        path = Path(settings.home) / "var" / "handoff.db"
        return cls(f"sqlite:///{path}" if path.exists() else None)

    def _tables(self) -> list[sa.Table]:
        if self.engine is None:
            return []
        names = [n for n in sa.inspect(self.engine).get_table_names() if self.wanted(n)]
        metadata = sa.MetaData()
        tables = [sa.Table(n, metadata, autoload_with=self.engine) for n in sorted(names)]
        return [t for t in tables if "conversation" in t.c]

    def export(self, conversations: list[str]) -> dict[str, list[dict]]:
        out = {}
        with self.engine.connect() if self.engine is not None else _nothing() as conn:
            for table in self._tables():
                order = table.c.id if "id" in table.c else table.c.conversation
                rows = conn.execute(sa.select(table).where(table.c.conversation.in_(conversations))
                                    .order_by(order)).mappings().all()
                out[table.name] = [dict(r) for r in rows]
        return out

    def delete(self, conversations: list[str]) -> int:
        removed = 0
        with self.engine.begin() if self.engine is not None else _nothing() as conn:
            for table in self._tables():
                removed += conn.execute(table.delete().where(
                    table.c.conversation.in_(conversations))).rowcount or 0
        return removed

    def purge_before(self, cutoff: datetime) -> int:
        """Rows last changed before `cutoff` (an open hand-off changes often: it stays)."""
        removed = 0
        moment = cutoff.timestamp()
        with self.engine.begin() if self.engine is not None else _nothing() as conn:
            for table in self._tables():
                column = next((table.c[c] for c in self.TIME_COLUMNS if c in table.c), None)
                if column is not None:
                    removed += conn.execute(table.delete().where(column < moment)).rowcount or 0
        return removed

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


class ChannelOutboxRecords(HandoffRecords):
    """The chat apps' outbox (webhook/channels/outbox.py, a SQLite file): answers waiting to
    be sent or sent in the last day, and the chat-app id of each conversation. Read by table
    name like the hand-off tables; it purges itself too, the purge here covers the CLI."""

    TIME_COLUMNS = ("created", "last_at")

    @staticmethod
    def wanted(name: str) -> bool:
        return name in ("outbox", "recipients")

    @classmethod
    def from_settings(cls, settings) -> "ChannelOutboxRecords":
        # Same place as webhook/channels/config.py DeliveryConfig (read there from the environment).
        path = Path(os.environ.get("TROLYAO_CHANNEL_OUTBOX") or Path(settings.home) / "var" / "channel-outbox.db")
        return cls(f"sqlite:///{path}" if path.exists() else None)


@contextmanager
def _nothing():
    yield None


@dataclass
class Privacy:
    """Export, delete and purge over every store (see the module text)."""
    tracker_store: object          # Rasa's tracker store (the assistant's, or one made for the CLI)
    senders: SenderIds
    review: ReviewStore
    audit: AuditLog
    handoff: HandoffRecords
    retention_days: int = 180
    outbox: HandoffRecords = field(default_factory=lambda: ChannelOutboxRecords(None))

    @classmethod
    def for_store(cls, settings, tracker_store) -> "Privacy":
        """Over the given conversation store (the running assistant's, or `opened_store`)."""
        return cls(tracker_store, SenderIds.for_settings(settings), ReviewStore.for_settings(settings),
                   AuditLog.from_settings(settings), HandoffRecords.from_settings(settings),
                   settings.retention_days, ChannelOutboxRecords.from_settings(settings))

    def close(self) -> None:
        self.audit.close()
        self.handoff.close()
        self.outbox.close()

    def conversation_ids(self, sender: str) -> list[str]:
        """The id the conversation is stored under, and the sender id itself when it differs
        (tools' conversations and flags keep a readable id)."""
        sender = (sender or "").strip()
        if not sender:
            raise ValueError("which conversation? give the sender id")
        stored = self.senders.stored(sender)
        return [stored] if stored == sender else [stored, sender]

    def export(self, sender: str, actor: str) -> dict:
        ids = self.conversation_ids(sender)
        events = [e for cid in ids for e in retention.events(self.tracker_store, cid)]
        flags = self.review.flags_of(ids)
        handoff = self.handoff.export(ids)
        outbox = self.outbox.export(ids)
        feedback = [{"value": e.get("value"), "at": _iso(e.get("timestamp"))} for e in events
                    if e.get("event") == "slot" and e.get("name") == "feedback" and e.get("value")]
        self.audit.record(actor, "privacy.export", ids[0],
                          {"events": len(events), "review_flags": len(flags),
                           "handoff_rows": sum(len(v) for v in handoff.values()),
                           "channel_outbox_rows": sum(len(v) for v in outbox.values())})
        return {
            "conversation_id": ids[0],
            "exported_at": datetime.now(timezone.utc).isoformat(),
            "retention_days": self.retention_days,
            "messages": [{"from": "citizen" if e.get("event") == "user" else "assistant",
                          "text": e.get("text"), "at": _iso(e.get("timestamp"))}
                         for e in events if e.get("event") in ("user", "bot") and e.get("text")],
            "feedback": feedback,
            "events": events,
            "review_flags": [_flag_dict(f) for f in flags],
            "handoff": handoff,
            "channel_outbox": outbox,
        }

    def delete(self, sender: str, actor: str) -> dict:
        ids = self.conversation_ids(sender)
        counts = {"events": sum(retention.delete_conversation(self.tracker_store, cid) for cid in ids),
                  "review_flags": self.review.delete_flags_of(ids),
                  "handoff_rows": self.handoff.delete(ids),
                  "channel_outbox_rows": self.outbox.delete(ids)}
        self.audit.record(actor, "privacy.delete", ids[0], counts)
        return {"conversation_id": ids[0], "deleted": counts}

    def purge(self, actor: str = "retention", days: int | None = None,
              now: datetime | None = None) -> dict:
        days = self.retention_days if days is None else days
        if days < 1:
            raise ValueError("TROLYAO_RETENTION_DAYS must be at least 1")
        cutoff = retention_cutoff(days, now)
        conversations = retention.purge_older_than(self.tracker_store, cutoff)
        counts = {"days": days, "cutoff": cutoff.isoformat(),
                  "conversation_events": conversations.events,
                  "conversations": conversations.conversations,
                  **self.review.purge_before(cutoff),
                  "handoff_rows": self.handoff.purge_before(cutoff),
                  "channel_outbox_rows": self.outbox.purge_before(cutoff)}
        self.audit.record(actor, "retention.purge", "", counts)
        return counts


@contextmanager
def privacy_for_settings(settings):
    """`Privacy` over a conversation store opened here (the CLI: no assistant running);
    StoreUnreachable at once if a PostgreSQL or Redis store does not answer."""
    check_reachable(settings.tracker_store)
    endpoint = tracker_store_endpoint(settings.tracker_store)
    store = TrackerStore.create(endpoint) if endpoint else InMemoryTrackerStore(Domain.empty())
    privacy = Privacy.for_store(settings, store)
    try:
        yield privacy
    finally:
        privacy.close()
        close_store(store)


def _flag_dict(flag) -> dict:
    return {"id": flag.id, "created": flag.created.isoformat(), "question": flag.question,
            "answer": flag.answer, "note": flag.note, "status": flag.status,
            "service": flag.service}


class RetentionSchedule:
    """Once a day, in one process: each worker's thread wakes every `check_seconds`, takes a
    file lock without waiting and runs `purge` only if the stamp file says the last run is
    a day old. A purge that fails is logged and tried again at the next wake-up."""

    def __init__(self, purge, state_dir: Path, every_seconds: float = DAY_SECONDS,
                 check_seconds: float = 3600.0, clock=time.time):
        self.purge = purge
        self.lock_path = Path(state_dir) / "retention.lock"
        self.stamp_path = Path(state_dir) / "retention.last"
        self.every_seconds = every_seconds
        self.check_seconds = check_seconds
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def last_run(self) -> float | None:
        try:
            return float(self.stamp_path.read_text().strip())
        except (OSError, ValueError):
            return None

    def run_if_due(self) -> dict | None:
        """Purge if due and no other process is purging; returns the counts, None if skipped."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # another worker is purging right now
            last = self.last_run()
            if last is not None and self.clock() - last < self.every_seconds:
                return None
            counts = self.purge()
            self.stamp_path.write_text(f"{self.clock():.0f}\n")
            return counts

    def start(self) -> "RetentionSchedule":
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while True:
            try:
                counts = self.run_if_due()
                if counts is not None:
                    log.info("retention purge: %s", counts)
            except Exception:  # the thread must live on; the next wake-up tries again
                log.exception("retention purge failed")
            if self._stop.wait(self.check_seconds):
                return

    def stop(self) -> None:
        self._stop.set()
