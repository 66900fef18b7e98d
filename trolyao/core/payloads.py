"""Which messages reach Rasa as intent payloads (`/intent{"entity": "value"}`).

Rasa reads any text that starts with "/" as an intent with entities, bypassing the NLU
model: a citizen typing `/ask_procedure{"service": 1}` would set any slot to any value. So
the assistant lets a payload through only when

1. it is exactly one of the buttons the bot offered in its last reply to this sender
   (quick replies, the LLTP form's choices, the feedback buttons), or
2. it is one of a small set that is safe at any time:
   - `/ask_procedure{"service":"<catalog id>"}` and
     `/ask_procedure{"service":"<catalog id>","aspect":"<aspect>"}` (the "did you mean" and
     the aspect buttons under an answer; clicking an older one is the same as typing the
     service's name and the aspect),
   - `/give_feedback{"feedback":"positive"|"negative"}` while the last answer's
     "Câu trả lời có hữu ích không?" is still open (slot `feedback_pending`; the widget lets
     citizens vote on an answer after a "cảm ơn"),

and, in both cases, its intent is in the domain and every entity is a domain entity whose
value is a short string that fits the slot: a catalog id for `service`, one of the values of
a categorical slot (`feedback`, `lltp_type`, `lltp_requester`), one of the aspects of
knowledge/answering/aspects.py for `aspect`. Anything else that starts with
"/" is plain text: the slashes are removed, and a payload-shaped text
(`/give_feedback{"feedback":"negative"}` typed by hand, a stale or forged button) is not passed
to Rasa at all; the citizen gets `STALE_PAYLOAD_REPLY` and nothing is stored.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from rasa.shared.core.events import BotUttered, SessionStarted, UserUttered

from knowledge.answering.aspects import ASPECT_SECTIONS

PREFIX = "/"
# Intent names are identifiers; the entities part is one JSON object (no "@confidence").
_PAYLOAD_RE = re.compile(r"/(?P<intent>[A-Za-z_][A-Za-z0-9_]{0,63})(?P<entities>\{.*\})?", re.S)
# Looks like a payload (to refuse rather than read as words): /name or /name{…} or /name@…
_PAYLOAD_SHAPED_RE = re.compile(r"/+\s*[A-Za-z_][A-Za-z0-9_]*\s*(?:[{@].*)?", re.S)
_VALUE_RE = re.compile(r"[\w\-]{1,64}")

# Names in the domain (bot/domain/core.yml) the policy knows.
ASK_INTENT, FEEDBACK_INTENT = "ask_procedure", "give_feedback"
SERVICE_ENTITY, ASPECT_ENTITY, FEEDBACK_ENTITY = "service", "aspect", "feedback"
FEEDBACK_PENDING_SLOT = "feedback_pending"

STALE_PAYLOAD_REPLY = ("Lựa chọn này không còn dùng được. Anh/chị vui lòng gõ câu hỏi của mình, "
                       "ví dụ: \"Đăng ký tạm trú online cần giấy tờ gì?\"")


@dataclass(frozen=True)
class Payload:
    intent: str
    entities: dict

    @property
    def text(self) -> str:
        """The canonical text Rasa gets (what the bot's own buttons look like)."""
        if not self.entities:
            return PREFIX + self.intent
        return PREFIX + self.intent + json.dumps(self.entities, ensure_ascii=False,
                                                 separators=(",", ":"))


def known_aspects() -> set[str]:
    """The aspects answers are organised by."""
    return set(ASPECT_SECTIONS)


def offered_payloads(events) -> set[str]:
    """Button payloads of the bot's reply since the citizen's previous message, in the
    current session (Rasa event objects, oldest first)."""
    offered: set[str] = set()
    for event in reversed(list(events)):
        if isinstance(event, (UserUttered, SessionStarted)):
            break
        if isinstance(event, BotUttered):
            for button in (event.data or {}).get("buttons") or []:
                payload = button.get("payload") if isinstance(button, dict) else None
                if isinstance(payload, str):
                    offered.add(payload.strip())
    return offered


class PayloadPolicy:
    """Decides, per message, whether Rasa may read it as an intent payload."""

    def __init__(self, intents, entities, allowed_values: dict[str, set[str]]):
        self.intents = set(intents)
        self.entities = set(entities)
        self.allowed_values = allowed_values

    @classmethod
    def from_domain(cls, domain, service_ids) -> "PayloadPolicy":
        allowed: dict[str, set[str]] = {SERVICE_ENTITY: set(service_ids)}
        aspects = known_aspects()
        if aspects:
            allowed[ASPECT_ENTITY] = aspects
        for slot in domain.slots:
            values = getattr(slot, "values", None)
            if slot.type_name != "categorical" or not values:
                continue
            for mapping in slot.mappings or []:
                if mapping.get("type") == "from_entity" and mapping.get("entity"):
                    allowed.setdefault(mapping["entity"], set()).update(
                        str(v) for v in values if str(v) != "__other__")
        return cls(domain.intents, domain.entities, allowed)

    def parse(self, text: str) -> Payload | None:
        """A valid payload (known intent, known entities with values that fit), else None."""
        match = _PAYLOAD_RE.fullmatch(text)
        if match is None or match["intent"] not in self.intents:
            return None
        entities: dict = {}
        if match["entities"]:
            try:
                entities = json.loads(match["entities"])
            except (ValueError, RecursionError):
                return None
            if not isinstance(entities, dict):
                return None
        for name, value in entities.items():
            if name not in self.entities or not isinstance(value, str) \
                    or not _VALUE_RE.fullmatch(value):
                return None
            allowed = self.allowed_values.get(name)
            if allowed is not None and value not in allowed:
                return None
        return Payload(match["intent"], entities)

    @staticmethod
    def always_allowed(payload: Payload, tracker) -> bool:
        if payload.intent == ASK_INTENT:
            return set(payload.entities) in ({SERVICE_ENTITY}, {SERVICE_ENTITY, ASPECT_ENTITY})
        if payload.intent == FEEDBACK_INTENT:
            pending = FEEDBACK_PENDING_SLOT in tracker.slots and \
                bool(tracker.get_slot(FEEDBACK_PENDING_SLOT))
            return set(payload.entities) == {FEEDBACK_ENTITY} and pending
        return False

    def decide(self, text: str, tracker) -> tuple[str | None, bool]:
        """(text for Rasa, accepted as a payload). None = do not pass the message to Rasa."""
        if not text.startswith(PREFIX):
            return text, False
        payload = self.parse(text)
        if payload is not None and (text in offered_payloads(tracker.events)
                                    or self.always_allowed(payload, tracker)):
            return payload.text, True
        return neutralise(text), False


def neutralise(text: str) -> str | None:
    """A refused "/…" text as plain words; None when it is shaped like a payload (a button
    that no longer applies, or a forged one), which no words can stand for."""
    if _PAYLOAD_SHAPED_RE.fullmatch(text) and ("{" in text or "@" in text or "_" in text):
        return None
    return text.lstrip(PREFIX + " \t").strip() or None
