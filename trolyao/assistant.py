"""The assistant: one Rasa agent + the knowledge base, served from any thread.

Rasa is asyncio-based. The assistant owns one event loop running in a background
thread; callers (Flask views, the shell, `trolyao ask`) submit coroutines to it and
wait for the result, so web threads stay thin and synchronous.

Data flow of one message: redact -> Rasa NLU -> policies pick actions -> custom actions
run in-process (search the knowledge base, write the answer + sources) -> tracker saved
-> `ChatReply` with messages, sources, intent and the fallback flag.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import unicodedata
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from knowledge.textnorm import nfc
from trolyao import runtime, tuning
from trolyao.payloads import STALE_PAYLOAD_REPLY, PayloadPolicy
from trolyao.protocol import META_KEY
from trolyao.redaction import redact
from trolyao.senders import SenderIds
from trolyao.settings import Settings

log = logging.getLogger(__name__)

# A message without a single letter or digit (only emoji, punctuation, invisible characters)
# is not a question: Rasa would read it as some intent (1,000 emoji came out as "affirm", i.e.
# positive feedback), so it gets this reply instead and is not stored.
NO_WORDS_REPLY = ("Anh/chị vui lòng gõ câu hỏi bằng chữ, ví dụ: \"Làm lý lịch tư pháp trên "
                  "VNeID thế nào?\"")


def visible_text(message: str) -> str:
    """The message without format characters (zero-width spaces/joiners, BOM, bidi marks):
    invisible, never meaningful to the NLU, and a way to make text look different in logs."""
    return "".join(ch for ch in message if unicodedata.category(ch) != "Cf")


def has_words(text: str) -> bool:
    """At least one letter or digit."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)



class AssistantNotReady(RuntimeError):
    pass


class ModelMissing(AssistantNotReady):
    pass


@dataclass
class ChatReply:
    sender: str
    messages: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    intent: dict = field(default_factory=lambda: {"name": None, "confidence": 0.0})
    fallback: bool = False
    slots: dict = field(default_factory=dict)
    passages: list[dict] = field(default_factory=list)
    rest_messages: list[dict] = field(default_factory=list)

    def to_api(self) -> dict:
        return {"sender": self.sender, "messages": self.messages, "sources": self.sources,
                "intent": self.intent, "fallback": self.fallback}


def tracker_store_endpoint(url: str):
    """`sqlite:///path`, `postgresql://user:pw@host:port/db?sslmode=…`, `redis://[:pw@]host:port/db`
    (`rediss://` for TLS) or `memory://` -> Rasa EndpointConfig (None = in-memory)."""
    from rasa.utils.endpoints import EndpointConfig

    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = Path(url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return EndpointConfig(type="sql", dialect="sqlite", db=str(path))
    if parsed.scheme in ("postgresql", "postgres"):
        query = dict(parse_qsl(parsed.query)) or None
        return EndpointConfig(type="sql", dialect="postgresql", url=parsed.hostname or "localhost",
                              port=parsed.port or 5432, db=unquote(parsed.path.lstrip("/")),
                              username=unquote(parsed.username or "") or None,
                              password=unquote(parsed.password or "") or None, query=query)
    if parsed.scheme in ("redis", "rediss"):
        return EndpointConfig(type="redis", url=parsed.hostname or "localhost",
                              port=parsed.port or 6379, db=int(parsed.path.lstrip("/") or 0),
                              username=unquote(parsed.username or "") or None,
                              password=unquote(parsed.password or "") or None,
                              use_ssl=parsed.scheme == "rediss", record_exp=None)
    if parsed.scheme == "memory":
        return None
    raise ValueError(f"unsupported TROLYAO_TRACKER_STORE {url!r} (sqlite, postgresql, redis, memory)")


def lock_store_for(endpoint, tracker_store=None):
    """Conversation locks that hold wherever the conversation can be processed (trolyao/locks.py):
    in Redis with Redis, PostgreSQL advisory locks with PostgreSQL, file locks beside the SQLite
    database (every worker on the machine), in memory for memory://."""
    from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

    from trolyao.locks import FileLockStore, PostgresAdvisoryLockStore

    if endpoint is not None and endpoint.type == "redis":
        kwargs = endpoint.kwargs
        return RedisLockStore(host=endpoint.url, port=kwargs["port"], db=kwargs["db"],
                              username=kwargs.get("username"), password=kwargs.get("password"),
                              use_ssl=kwargs.get("use_ssl", False), key_prefix="trolyao")
    if endpoint is not None and endpoint.type == "sql":
        dialect = endpoint.kwargs.get("dialect")
        if dialect == "sqlite":
            return FileLockStore.beside(Path(endpoint.kwargs["db"]))
        if dialect == "postgresql" and tracker_store is not None:
            return PostgresAdvisoryLockStore.for_store(innermost_store(tracker_store))
    return InMemoryLockStore()


def innermost_store(store):
    """Rasa wraps stores (FailSafe -> Awaitable -> SQL/Redis); the one that holds connections."""
    while hasattr(store, "_tracker_store"):
        store = store._tracker_store
    return store


def prepare_sqlite(store) -> None:
    """Tune Rasa's SQLite conversation store.

    - Write-ahead logging: several gunicorn workers can read while one writes.
    - `synchronous=NORMAL`: in WAL mode a crashed process still loses nothing (only a power
      cut can lose the last answers) and each answer saves an fsync.
    - A connection pool: SQLAlchemy 1.4 opens and closes a new SQLite connection for every
      session by default, three times per answer.
    """
    import sqlalchemy as sa
    from sqlalchemy import event
    from sqlalchemy.orm import sessionmaker
    from sqlalchemy.pool import QueuePool

    engine = getattr(store, "engine", None)
    if engine is None or engine.dialect.name != "sqlite":
        return
    pooled = sa.create_engine(engine.url, poolclass=QueuePool, pool_size=2, max_overflow=8,
                              connect_args={"check_same_thread": False})

    @event.listens_for(pooled, "connect")
    def _tune(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    engine.dispose()
    store.engine = pooled
    store.sessionmaker = sessionmaker(bind=pooled)


def check_store(store, url: str) -> None:
    """Fail at start-up, with the URL in the message, if a Redis server does not answer
    (Rasa would otherwise fall back to memory and silently forget conversations)."""
    client = getattr(innermost_store(store), "red", None)
    if client is None:
        return
    try:
        client.ping()
    except Exception as exc:
        where = urlparse(url)  # no password in the message
        raise RuntimeError(f"conversation store {where.scheme}://{where.hostname}:{where.port or 6379}"
                           f" is unreachable: {exc}") from exc


def close_store(store) -> None:
    """Release the database connections so the file/server can be reused at once."""
    store = innermost_store(store)
    engine = getattr(store, "engine", None)
    if engine is not None:
        engine.dispose()
    client = getattr(store, "red", None)
    if client is not None:
        client.close()


class WholeMessageCollector(CollectingOutputChannel):
    """Keeps an answer in one message (Rasa's collector splits text on blank lines)."""

    async def send_text_message(self, recipient_id, text, **kwargs):
        await self._persist_message(self._message(recipient_id, text=text.strip()))


class Assistant:
    def __init__(self, settings: Settings | None = None):
        runtime.quiet_environment()
        self.settings = settings or runtime.settings()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="rasa-loop", daemon=True)
        self._thread.start()
        self.agent = None
        self.knowledge = None
        self.model_version: str | None = None
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        self.payloads: PayloadPolicy | None = None
        self.senders = SenderIds.for_settings(self.settings)

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def _submit(self, coro, timeout: float | None = None):
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout or self.settings.response_timeout)
        except FutureTimeout:
            future.cancel()
            raise

    # ---------- start-up ----------
    def start(self, watch_index: bool = True) -> "Assistant":
        """Load the knowledge index and the Rasa model; raises with a clear message if missing."""
        tuning.apply()
        self.knowledge = runtime.knowledge_base()
        model_path = self.settings.rasa_model_path
        if not model_path.exists():
            raise ModelMissing(f"Rasa model not found at {model_path}; run `trolyao train` first")
        self.agent = self._submit(self._load_agent(model_path), timeout=600)
        self.model_version = self.agent.processor.model_metadata.model_id
        self.payloads = PayloadPolicy.from_domain(self.agent.domain, runtime.catalog().ids)
        log.info("assistant ready: model %s, index %s", self.model_version, self.knowledge.version)
        if watch_index and self.settings.index_watch_seconds > 0:
            self._watcher = threading.Thread(target=self._watch_index, name="index-watch", daemon=True)
            self._watcher.start()
        return self

    async def _load_agent(self, model_path: Path):
        from rasa.core.agent import Agent
        from rasa.core.tracker_store import TrackerStore

        from trolyao.inprocess_actions import InProcessActionEndpoint

        endpoint = tracker_store_endpoint(self.settings.tracker_store)
        tracker_store = TrackerStore.create(endpoint) if endpoint else None
        if tracker_store is not None:
            check_store(tracker_store, self.settings.tracker_store)
            prepare_sqlite(innermost_store(tracker_store))
        agent = Agent(tracker_store=tracker_store, lock_store=lock_store_for(endpoint, tracker_store),
                      action_endpoint=InProcessActionEndpoint("actions"))
        try:
            agent.load_model(str(model_path))
        except Exception as exc:  # a corrupt archive raises many different errors
            raise ModelMissing(f"Rasa model {model_path} cannot be loaded: {exc}") from exc
        return agent

    def _watch_index(self) -> None:
        while not self._stop.wait(self.settings.index_watch_seconds):
            try:
                self.knowledge.reload_if_changed()
            except Exception:  # the watcher must never die
                log.exception("index watch failed")

    @property
    def ready(self) -> bool:
        return self.agent is not None and self.knowledge is not None and \
            self.knowledge.version is not None

    def close(self) -> None:
        """Stop the loop and release the conversation store (a new Assistant may reopen it)."""
        self._stop.set()
        if self.agent is not None:
            if self.agent.tracker_store is not None:
                close_store(self.agent.tracker_store)
            lock_client = getattr(self.agent.lock_store, "red", None)
            if lock_client is not None:
                lock_client.close()
            if hasattr(self.agent.lock_store, "close"):
                self.agent.lock_store.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    # ---------- conversation ----------
    def chat(self, sender: str, message: str) -> ChatReply:
        """Answer one message typed by a citizen (API, REST webhook, shell, `trolyao ask`).

        Text is normalised (NFC, invisible characters removed), redacted, and read as an
        intent payload only if `PayloadPolicy` allows it (see trolyao/payloads.py)."""
        if not self.ready:
            raise AssistantNotReady("assistant is still loading")
        text = redact(visible_text(nfc(message))).strip()
        public = self.senders.public(sender)
        if not has_words(text):
            return self._canned_reply(public, NO_WORDS_REPLY)
        return self._submit(self._handle(self.conversation_id(sender), public, text))

    def conversation_id(self, sender: str) -> str:
        """The id the conversation of `sender` is stored under (a keyed hash, trolyao/senders.py)."""
        return self.senders.stored(sender)

    @staticmethod
    def _canned_reply(sender: str, text: str) -> ChatReply:
        """A reply that does not go through Rasa (nothing is stored)."""
        reply = ChatReply(sender=sender, fallback=True)
        reply.messages.append({"text": text})
        reply.rest_messages.append({"recipient_id": sender, "text": text})
        return reply

    async def _handle(self, conversation: str, public: str, text: str,
                      trusted: bool = False) -> ChatReply:
        collector = WholeMessageCollector()
        tracker = await self._process(conversation, text, collector, trusted)
        if tracker is None:  # a refused payload
            return self._canned_reply(public, STALE_PAYLOAD_REPLY)
        reply = ChatReply(sender=public)
        intent = tracker.latest_message.intent or {}
        reply.intent = {"name": intent.get("name"),
                        "confidence": round(float(intent.get("confidence") or 0.0), 4)}
        reply.slots = {k: v for k, v in tracker.current_slot_values().items()
                       if v is not None and k not in ("requested_slot", "session_started_metadata")}
        for msg in collector.messages:
            custom = msg.get("custom")
            meta = custom.get(META_KEY) if isinstance(custom, dict) else None
            if meta is not None:
                reply.sources.extend(meta.get("sources", []))
                reply.passages.extend(meta.get("passages", []))
                reply.fallback = reply.fallback or bool(meta.get("fallback"))
                continue
            out = {k: v for k, v in msg.items() if k not in ("recipient_id",) and v}
            if "text" in out or "buttons" in out:
                reply.messages.append({"text": out.get("text", ""),
                                       **({"buttons": out["buttons"]} if out.get("buttons") else {})})
            rest = {k: v for k, v in msg.items() if v}
            rest["recipient_id"] = public
            reply.rest_messages.append(rest)
        return reply

    async def _process(self, sender: str, text: str, collector, trusted: bool = False):
        """Rasa 3.6's `Agent.handle_message` step by step, keeping the updated tracker: reading
        it back from the store afterwards cost a query and ~7 ms per answer. Between loading
        the tracker and parsing, `PayloadPolicy` decides whether a "/…" text may be read as an
        intent payload (it needs the bot's last reply). None: refused, nothing stored."""
        processor = self.agent.processor
        async with self.agent.lock_store.lock(sender):
            tracker = await processor.fetch_tracker_and_update_session(sender, collector)
            if not trusted and self.payloads is not None:
                text, _accepted = self.payloads.decide(text, tracker)
                if text is None:
                    return None
            self._bound_session(tracker)
            message = UserMessage(text, collector, sender, input_channel="trolyao")
            await processor._handle_message_with_tracker(message, tracker)
            tracker = await processor.run_action_extract_slots(message.output_channel, tracker)
            await processor._run_prediction_loop(message.output_channel, tracker)
            await processor.run_anonymization_pipeline(tracker)
            await processor.save_tracker(tracker)
        return tracker

    def _bound_session(self, tracker) -> None:
        """Long conversations stay fast: once the current session holds more than
        TROLYAO_MAX_SESSION_EVENTS events, a new session starts with the slots carried over
        (what the conversation is about is kept). Rasa loads, replays and featurizes only
        the current session's events, so the work per answer stays bounded (400 turns
        otherwise took ~10x the time of the first). Not inside a form (it would be reset)."""
        from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
        from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet

        limit = self.settings.max_session_events
        if limit <= 0 or tracker.active_loop_name:
            return
        since_start = 0
        for event in reversed(tracker.events):
            if isinstance(event, SessionStarted):
                break
            since_start += 1
            if since_start > limit:
                break
        if since_start <= limit:
            return
        carried = [SlotSet(name, value) for name, value in tracker.current_slot_values().items()
                   if value is not None and name not in ("requested_slot", "session_started_metadata")]
        tracker.update_with_events([ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(),
                                    *carried, ActionExecuted(ACTION_LISTEN_NAME)], self.agent.domain)

    def restart(self, sender: str) -> None:
        """Start a fresh conversation for `sender` (the shell's /restart; citizens cannot send
        Rasa's `/restart` payload, the widget starts a new conversation id instead)."""
        if not self.ready:
            raise AssistantNotReady("assistant is still loading")
        self._submit(self._handle(self.conversation_id(sender), sender, "/restart", trusted=True))

    def tracker_events(self, sender: str) -> list[dict]:
        """The stored events of `sender`'s conversation (current session)."""
        conversation = self.conversation_id(sender)

        async def _events():
            tracker = await self.agent.tracker_store.retrieve(conversation)
            return [e.as_dict() for e in tracker.events] if tracker else []
        return self._submit(_events())
