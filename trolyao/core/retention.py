"""What the conversation store holds about one conversation, and forgetting it.

Rasa's tracker stores can save and load a conversation but not delete one, so this module
reaches the storage under them (the same objects `trolyao/core/stores.py` configures):

- SQL (SQLite, PostgreSQL): Rasa's `events` table, one row per event;
- Redis: one JSON document per conversation (`tracker:<conversation id>`);
- memory: the dict of the in-memory store (tests, `memory://`).

Three operations, synchronous and callable from any thread (they use the stores' own
thread-safe connection pools, not Rasa's event loop):

- `events(store, conversation_id)`: every stored event of every session, oldest first;
- `delete_conversation(store, conversation_id)`: all of it, returns the events removed;
- `purge_older_than(store, cutoff)`: retention (TROLYAO_RETENTION_DAYS). A conversation is cut
  session by session (a session ends after an hour without messages, or after
  TROLYAO_MAX_SESSION_EVENTS events): every session whose last event is older than `cutoff`
  goes; a conversation with no session left goes entirely. The session in use is never cut in
  the middle, so the dialogue's state (slots, forms) stays consistent.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore, SQLTrackerStore

from trolyao.core.rasa_internals import innermost_store

log = logging.getLogger(__name__)

__all__ = ["PurgeCount", "delete_conversation", "events", "purge_older_than", "sessions_to_drop"]

SESSION_START_ACTION = "action_session_start"
_DELETE_CHUNK = 500


@dataclass
class PurgeCount:
    """What a purge removed: events, and conversations left with no event at all."""
    events: int = 0
    conversations: int = 0

    def to_dict(self) -> dict:
        return {"events": self.events, "conversations": self.conversations}


def _timestamp(cutoff: datetime | float) -> float:
    if isinstance(cutoff, datetime):
        moment = cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    return float(cutoff)


def sessions_to_drop(rows: Iterable[tuple], cutoff: float) -> list:
    """`rows` = (key, is_session_start, timestamp) in stored order -> the keys of every event
    in a session whose last event is older than `cutoff` (the events before the first session
    start form a session too)."""
    sessions: list[list] = [[]]
    for key, starts_session, moment in rows:
        if starts_session and sessions[-1]:
            sessions.append([])
        sessions[-1].append((key, moment))
    dropped = []
    for session in sessions:
        moments = [m for _, m in session if m is not None]
        if session and (not moments or max(moments) < cutoff):
            dropped.extend(key for key, _ in session)
    return dropped


def _starts_session(event: dict) -> bool:
    return event.get("event") == "action" and event.get("name") == SESSION_START_ACTION


def _store(store):
    inner = innermost_store(store)
    if isinstance(inner, (SQLTrackerStore, RedisTrackerStore, InMemoryTrackerStore)):
        return inner
    raise TypeError(f"cannot read or delete conversations in a {type(inner).__name__}")


# ---------------------------------------------------------------- one conversation
def events(store, conversation_id: str) -> list[dict]:
    """Every stored event of the conversation (all sessions), oldest first; [] if none."""
    store = _store(store)
    if isinstance(store, SQLTrackerStore):
        with store.session_scope() as session:
            rows = (session.query(store.SQLEvent.data)
                    .filter(store.SQLEvent.sender_id == conversation_id)
                    .order_by(store.SQLEvent.id).all())
        out = []
        for (data,) in rows:
            try:
                out.append(json.loads(data))
            except (TypeError, ValueError):  # shown as stored rather than dropped
                out.append({"event": "unreadable", "data": data})
        return out
    raw = _raw_document(store, conversation_id)
    return list(json.loads(raw).get("events", [])) if raw is not None else []


def delete_conversation(store, conversation_id: str) -> int:
    """Delete every event of the conversation; returns how many there were."""
    store = _store(store)
    if isinstance(store, SQLTrackerStore):
        with store.session_scope() as session:
            count = (session.query(store.SQLEvent)
                     .filter(store.SQLEvent.sender_id == conversation_id)
                     .delete(synchronize_session=False))
            session.commit()
        return int(count or 0)
    raw = _raw_document(store, conversation_id)
    if raw is None:
        return 0
    count = len(json.loads(raw).get("events", []))
    if isinstance(store, RedisTrackerStore):
        store.red.delete(store.key_prefix + conversation_id)
    else:
        store.store.pop(conversation_id, None)
    return count


def _raw_document(store, conversation_id: str):
    if isinstance(store, RedisTrackerStore):
        return store.red.get(store.key_prefix + conversation_id)
    return store.store.get(conversation_id)


# ---------------------------------------------------------------- retention
def purge_older_than(store, cutoff: datetime | float) -> PurgeCount:
    """Delete the sessions whose last event is older than `cutoff` (see the module text)."""
    store = _store(store)
    moment = _timestamp(cutoff)
    if isinstance(store, SQLTrackerStore):
        return _purge_sql(store, moment)
    if isinstance(store, RedisTrackerStore):
        return _purge_redis(store, moment)
    return _purge_memory(store, moment)


def _purge_sql(store: SQLTrackerStore, cutoff: float) -> PurgeCount:
    event = store.SQLEvent
    count = PurgeCount()
    with store.session_scope() as session:
        senders = [s for (s,) in session.query(event.sender_id)
                   .filter(event.timestamp < cutoff).distinct().all()]
    for sender in senders:  # one transaction per conversation: short locks while serving
        with store.session_scope() as session:
            rows = (session.query(event.id, event.type_name, event.action_name, event.timestamp)
                    .filter(event.sender_id == sender).order_by(event.id).all())
            dropped = sessions_to_drop(
                ((r.id, r.type_name == "action" and r.action_name == SESSION_START_ACTION,
                  r.timestamp) for r in rows), cutoff)
            for start in range(0, len(dropped), _DELETE_CHUNK):
                session.query(event).filter(event.id.in_(dropped[start:start + _DELETE_CHUNK])) \
                    .delete(synchronize_session=False)
            session.commit()
        count.events += len(dropped)
        count.conversations += bool(rows) and len(dropped) == len(rows)
    return count


def _kept_events(document: dict, cutoff: float) -> tuple[list, int]:
    stored = list(document.get("events", []))
    dropped = set(sessions_to_drop(((i, _starts_session(e), e.get("timestamp"))
                                    for i, e in enumerate(stored)), cutoff))
    return [e for i, e in enumerate(stored) if i not in dropped], len(dropped)


def _purge_redis(store: RedisTrackerStore, cutoff: float) -> PurgeCount:
    """Each conversation rewritten in a WATCH transaction: if it is answered meanwhile, it is
    left alone this time (the next purge takes it)."""
    from redis.exceptions import WatchError  # redis is imported only with a Redis store

    count = PurgeCount()
    for key in store.red.scan_iter(match=store.key_prefix + "*", count=500):
        with store.red.pipeline() as pipe:
            try:
                pipe.watch(key)
                raw = pipe.get(key)
                if raw is None:
                    continue
                document = json.loads(raw)
                kept, dropped = _kept_events(document, cutoff)
                if not dropped:
                    continue
                pipe.multi()
                if kept:
                    pipe.set(key, json.dumps({**document, "events": kept}), keepttl=True)
                else:
                    pipe.delete(key)
                pipe.execute()
            except WatchError:
                log.info("retention: a conversation changed while being purged; next time")
                continue
            except (TypeError, ValueError):
                log.warning("retention: an unreadable conversation document was left as it is")
                continue
        count.events += dropped
        count.conversations += not kept
    return count


def _purge_memory(store: InMemoryTrackerStore, cutoff: float) -> PurgeCount:
    count = PurgeCount()
    for sender, raw in list(store.store.items()):
        document = json.loads(raw)
        kept, dropped = _kept_events(document, cutoff)
        if not dropped:
            continue
        if kept:
            store.store[sender] = json.dumps({**document, "events": kept})
        else:
            del store.store[sender]
        count.events += dropped
        count.conversations += not kept
    return count
