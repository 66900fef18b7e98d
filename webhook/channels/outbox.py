"""Answers waiting to go out to a chat app, and the thread that sends them.

The webhook of a channel answers the chat app at once (Zalo expects its 200 within seconds and
sends the event again otherwise); the answer is written to this outbox (SQLite, mode 0600) and
sent by a background thread. When the app's API is down, a message is retried a bounded
number of times with growing waits, then kept as `failed` with the error, logged at ERROR
level, counted (`DeliveryWorker.stats`), and resent by `requeue_failed()` (`POST
/admin/channels/retry`) once the API is back: nothing is dropped silently. Messages to one
citizen go out in order: a later one waits while an earlier one waits for its retry.

Several gunicorn workers share the file: a message is claimed (`pending` -> `sending`) by one
UPDATE before it is sent, so only one worker sends it.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from prometheus_client import Counter as PromCounter

log = logging.getLogger(__name__)

# On /metrics with the app's other series (the default registry, multiprocess-safe).
DELIVERIES = PromCounter("trolyao_channel_messages",
                         "Chat-app messages by channel and outcome (sent, retried, failed)",
                         ["channel", "outcome"])

STALE_CLAIM_SECONDS = 600.0  # a worker that died while sending: its claim expires
SEEN_EVENTS_KEEP_SECONDS = 24 * 3600.0


class SendError(Exception):
    """A send that did not work. `transient`: worth retrying (network, HTTP 5xx, token)."""

    def __init__(self, message: str, transient: bool = True):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Item:
    id: int
    channel: str
    recipient: str
    conversation: str
    body: dict
    attempts: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    conversation TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    claimed_at REAL,
    last_error TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox(status, id);
CREATE TABLE IF NOT EXISTS seen_events (key TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS recipients (
    conversation TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    last_at REAL NOT NULL
);
"""
SENT_KEEP_SECONDS = 24 * 3600.0  # sent messages are deleted a day later


class Outbox:
    def __init__(self, path: Path, clock=time.time):
        self.path = Path(path)
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)
        os.chmod(self.path, 0o600)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def add(self, channel: str, recipient: str, conversation: str, bodies: list[dict]) -> list[int]:
        now = self.clock()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            ids = [db.execute("INSERT INTO outbox (channel, recipient, conversation, body, "
                              "next_at, created) VALUES (?, ?, ?, ?, ?, ?)",
                              (channel, recipient, conversation,
                               json.dumps(body, ensure_ascii=False), now, now)).lastrowid
                   for body in bodies]
            db.execute("INSERT OR REPLACE INTO recipients (conversation, channel, recipient, "
                       "last_at) VALUES (?, ?, ?, ?)", (conversation, channel, recipient, now))
            db.execute("COMMIT")
        return ids

    def first_seen(self, key: str) -> bool:
        """True the first time an inbound event id is seen (chat apps resend events)."""
        now = self.clock()
        with self._connect() as db:
            db.execute("DELETE FROM seen_events WHERE at < ?", (now - SEEN_EVENTS_KEEP_SECONDS,))
            cursor = db.execute("INSERT OR IGNORE INTO seen_events (key, at) VALUES (?, ?)",
                                (key, now))
            return cursor.rowcount == 1

    def claim_due(self, limit: int = 20) -> list[Item]:
        """The oldest due message of each citizen, claimed for sending."""
        now = self.clock()
        claimed, blocked = [], set()
        with self._connect() as db:
            db.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending' "
                       "AND claimed_at < ?", (now - STALE_CLAIM_SECONDS,))
            rows = db.execute("SELECT id, channel, recipient, conversation, body, attempts, "
                              "next_at, status FROM outbox WHERE status IN ('pending', 'sending') "
                              "ORDER BY id").fetchall()
            for id_, channel, recipient, conversation, body, attempts, next_at, status in rows:
                key = (channel, recipient)
                if key in blocked:
                    continue
                blocked.add(key)  # later messages of this citizen wait for this one
                if status == "sending" or next_at > now or len(claimed) >= limit:
                    continue
                took = db.execute("UPDATE outbox SET status = 'sending', claimed_at = ? "
                                  "WHERE id = ? AND status = 'pending'", (now, id_)).rowcount
                if took:
                    claimed.append(Item(id_, channel, recipient, conversation,
                                        json.loads(body), attempts))
        return claimed

    def _update(self, sql: str, args: tuple) -> None:
        with self._connect() as db:
            db.execute(sql, args)

    def mark_sent(self, item: Item) -> None:
        self._update("UPDATE outbox SET status = 'sent', attempts = ?, sent_at = ?, "
                     "last_error = '' WHERE id = ?", (item.attempts + 1, self.clock(), item.id))

    def mark_retry(self, item: Item, wait: float, error: str) -> None:
        self._update("UPDATE outbox SET status = 'pending', attempts = ?, next_at = ?, "
                     "last_error = ? WHERE id = ?",
                     (item.attempts + 1, self.clock() + wait, error[:500], item.id))

    def mark_failed(self, item: Item, error: str) -> None:
        self._update("UPDATE outbox SET status = 'failed', attempts = ?, last_error = ? "
                     "WHERE id = ?", (item.attempts + 1, error[:500], item.id))

    def requeue_failed(self, channel: str | None = None) -> int:
        """Send the failed messages again (after the API is back), with fresh attempts."""
        sql = "UPDATE outbox SET status = 'pending', attempts = 0, next_at = ? WHERE status = 'failed'"
        args: tuple = (self.clock(),)
        if channel:
            sql, args = sql + " AND channel = ?", args + (channel,)
        with self._connect() as db:
            return db.execute(sql, args).rowcount

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            return dict(db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status"))

    def rows(self, channel: str | None = None) -> list[dict]:
        """Every message (tests, support): id, channel, status, attempts, last_error, body."""
        sql = "SELECT id, channel, recipient, status, attempts, last_error, body FROM outbox"
        args: tuple = ()
        if channel:
            sql, args = sql + " WHERE channel = ?", (channel,)
        with self._connect() as db:
            return [{"id": r[0], "channel": r[1], "recipient": r[2], "status": r[3],
                     "attempts": r[4], "last_error": r[5], "body": json.loads(r[6])}
                    for r in db.execute(sql + " ORDER BY id", args)]

    def recipient_of(self, conversation: str) -> tuple[str, str] | None:
        """(channel, recipient) of the last message to a stored conversation id: where a staff
        member's reply (hand-off) to that conversation must go."""
        with self._connect() as db:
            row = db.execute("SELECT channel, recipient FROM recipients WHERE conversation = ?",
                             (conversation,)).fetchone()
        return (row[0], row[1]) if row else None

    def purge(self, keep_days: float) -> int:
        """Delete sent messages after a day, and everything about a conversation not seen for
        `keep_days` (TROLYAO_RETENTION_DAYS): the outbox holds answers and chat-app ids."""
        now = self.clock()
        old = now - keep_days * 86400
        with self._connect() as db:
            count = db.execute("DELETE FROM outbox WHERE (status = 'sent' AND sent_at < ?) "
                               "OR created < ?", (now - SENT_KEEP_SECONDS, old)).rowcount
            count += db.execute("DELETE FROM recipients WHERE last_at < ?", (old,)).rowcount
        return count

    def forget(self, conversation: str) -> int:
        """Delete what the outbox holds about one conversation (privacy delete)."""
        with self._connect() as db:
            count = db.execute("DELETE FROM outbox WHERE conversation = ?", (conversation,)).rowcount
            count += db.execute("DELETE FROM recipients WHERE conversation = ?",
                                (conversation,)).rowcount
        return count


Sender = Callable[[str, dict], None]  # (recipient, body); raises SendError


class DeliveryWorker:
    """One thread per process: sends what is due, retries with growing waits, gives up after
    `max_attempts` (the message stays in the outbox as failed)."""

    PURGE_EVERY_SECONDS = 3600.0

    def __init__(self, outbox: Outbox, senders: dict[str, Sender], max_attempts: int = 5,
                 backoff: float = 2.0, poll: float = 1.0, keep_days: float = 180.0):
        self.outbox = outbox
        self.keep_days = keep_days
        self._purged_at = 0.0
        self.senders = senders
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.poll = poll
        self.stats: Counter = Counter()  # sent / retried / failed, by channel: "zalo.sent"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "DeliveryWorker":
        self._thread = threading.Thread(target=self._run, name="channel-delivery", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() - self._purged_at > self.PURGE_EVERY_SECONDS:
                    self._purged_at = time.monotonic()
                    self.outbox.purge(self.keep_days)
                busy = self.deliver_due()
            except Exception:  # the sender thread must never die (a full disk, a locked file)
                log.exception("channel delivery loop failed; trying again")
                busy = 0
            if not busy:
                self._wake.wait(min(self.poll, self.backoff))
                self._wake.clear()

    def deliver_due(self) -> int:
        items = self.outbox.claim_due()
        for item in items:
            self._deliver(item)
        return len(items)

    def _deliver(self, item: Item) -> None:
        send = self.senders.get(item.channel)
        try:
            if send is None:
                raise SendError(f"channel {item.channel} is not configured in this process")
            send(item.recipient, item.body)
        except SendError as exc:
            self._failed(item, str(exc), exc.transient)
        except Exception as exc:  # a bug or an unexpected library error: retried, logged
            log.exception("channel %s: unexpected error sending outbox message %d",
                          item.channel, item.id)
            self._failed(item, f"{exc.__class__.__name__}: {exc}", True)
        else:
            self.outbox.mark_sent(item)
            self._count(item.channel, "sent")

    def _count(self, channel: str, outcome: str) -> None:
        self.stats[f"{channel}.{outcome}"] += 1
        DELIVERIES.labels(channel, outcome).inc()

    def _failed(self, item: Item, error: str, transient: bool) -> None:
        attempt = item.attempts + 1
        if transient and attempt < self.max_attempts:
            wait = self.backoff * 2 ** (attempt - 1)
            self.outbox.mark_retry(item, wait, error)
            self._count(item.channel, "retried")
            log.warning("channel %s: outbox message %d to conversation %s not sent "
                        "(attempt %d of %d: %s); retrying in %.0f s", item.channel, item.id,
                        item.conversation, attempt, self.max_attempts, error, wait)
            return
        self.outbox.mark_failed(item, error)
        self._count(item.channel, "failed")
        log.error("channel %s: outbox message %d to conversation %s NOT DELIVERED after %d "
                  "attempt(s): %s. It is kept in %s; POST /admin/channels/retry sends it again",
                  item.channel, item.id, item.conversation, attempt, error, self.outbox.path)
