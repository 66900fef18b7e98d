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

from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet

from knowledge.textnorm import nfc
from trolyao.core import runtime, tuning
from trolyao.core.inprocess_actions import InProcessActionEndpoint
from trolyao.core.payloads import STALE_PAYLOAD_REPLY, PayloadPolicy
from trolyao.core.protocol import META_KEY, cited_service
from trolyao.core.rasa_internals import WholeMessageCollector, handle_with_tracker
from trolyao.core.redaction import redact
from trolyao.core.senders import SenderIds
from trolyao.core.settings import Settings
from trolyao.core.stores import (check_reachable, check_store, close_store, innermost_store,
                                 lock_store_for, prepare_sqlite, tracker_store_endpoint)

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



# Rasa's own bookkeeping slots; with the constants the responses read ({hotline}), they are not
# shown as what the conversation is about (ChatReply.slots: the shell, answer tests).
RASA_SLOTS = ("requested_slot", "session_started_metadata")
NOT_SHOWN_SLOTS = RASA_SLOTS + ("hotline",)


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
    # The conversation is with staff (live hand-off, trolyao/core/handoff.py): the bot is
    # paused, the message was stored for staff, not answered.
    handoff: bool = False

    @property
    def cited_service(self) -> str | None:
        """The service of the first source (the document the reply quotes), None if none."""
        return cited_service(self.sources)

    def to_api(self) -> dict:
        body = {"sender": self.sender, "messages": self.messages, "sources": self.sources,
                "intent": self.intent, "fallback": self.fallback}
        if self.handoff:  # the widget then waits for staff messages (/api/handoff/updates)
            body["handoff"] = True
        return body


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
        # Imported here: rasa.core.agent loads TensorFlow (~20 s), which the web app's tests,
        # `trolyao index …` and the admin pages never need.
        from rasa.core.agent import Agent
        from rasa.core.tracker_store import TrackerStore

        endpoint = tracker_store_endpoint(self.settings.tracker_store)
        check_reachable(self.settings.tracker_store)  # Rasa would retry PostgreSQL forever
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
        intent payload only if `PayloadPolicy` allows it (see trolyao/core/payloads.py)."""
        if not self.ready:
            raise AssistantNotReady("assistant is still loading")
        text = redact(visible_text(nfc(message))).strip()
        public = self.senders.public(sender)
        if not has_words(text):
            return self._canned_reply(public, NO_WORDS_REPLY)
        return self._submit(self._handle(self.conversation_id(sender), public, text))

    def conversation_id(self, sender: str) -> str:
        """The id the conversation of `sender` is stored under (a keyed hash, trolyao/core/senders.py)."""
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
        reply = ChatReply(sender=public, handoff=tracker.is_paused())
        intent = tracker.latest_message.intent or {}
        reply.intent = {"name": intent.get("name"),
                        "confidence": round(float(intent.get("confidence") or 0.0), 4)}
        reply.slots = {k: v for k, v in tracker.current_slot_values().items()
                       if v is not None and k not in NOT_SHOWN_SLOTS}
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
            tracker = await handle_with_tracker(processor, text, collector, sender, tracker)
        return tracker

    def _bound_session(self, tracker) -> None:
        """Long conversations stay fast: once the current session holds more than
        TROLYAO_MAX_SESSION_EVENTS events, a new session starts with the slots carried over
        (what the conversation is about is kept). Rasa loads, replays and featurizes only
        the current session's events, so the work per answer stays bounded (400 turns
        otherwise took ~10x the time of the first). Not inside a form (it would be reset)."""
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
                   if value is not None and name not in RASA_SLOTS]
        tracker.update_with_events([ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(),
                                    *carried, ActionExecuted(ACTION_LISTEN_NAME)], self.agent.domain)

    def restart(self, sender: str) -> None:
        """Start a fresh conversation for `sender` (the shell's /restart; citizens cannot send
        Rasa's `/restart` payload, the widget starts a new conversation id instead)."""
        if not self.ready:
            raise AssistantNotReady("assistant is still loading")
        self._submit(self._handle(self.conversation_id(sender), sender, "/restart", trusted=True))

    @property
    def tracker_store(self):
        """The conversation store the agent reads and writes (None before `start`)."""
        return self.agent.tracker_store if self.agent is not None else None

    @property
    def intents(self) -> set[str]:
        """The intents of the loaded model's domain."""
        return set(self.agent.domain.intents) if self.agent is not None else set()

    def run(self, coro, timeout: float | None = None):
        """Run a coroutine on the assistant's event loop (where its stores live) and wait."""
        return self._submit(coro, timeout)

    def tracker_events(self, sender: str) -> list[dict]:
        """The stored events of `sender`'s conversation (current session)."""
        conversation = self.conversation_id(sender)

        async def _events():
            tracker = await self.agent.tracker_store.retrieve(conversation)
            return [e.as_dict() for e in tracker.events] if tracker else []
        return self._submit(_events())
