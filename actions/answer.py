"""action_answer_question: search the knowledge base and answer with a cited passage."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.aspects import ASPECT_LABELS, section_matches
from actions.replies import decline_message, format_answer, meta_payload, service_buttons
from knowledge.decision import decide
from knowledge.index_store import IndexUnavailable
from trolyao import runtime

log = logging.getLogger(__name__)


def entity_values(tracker: Tracker, name: str) -> list[str]:
    entities = tracker.latest_message.get("entities") or []
    return [e["value"] for e in entities if e.get("entity") == name and e.get("value")]


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict]:
        text = (tracker.latest_message.get("text") or "").strip()
        services_now = entity_values(tracker, "service")
        aspects_now = entity_values(tracker, "aspect")
        service = services_now[0] if services_now else tracker.get_slot("service")
        aspect = aspects_now[0] if aspects_now else tracker.get_slot("aspect")
        catalog = runtime.catalog()

        query = text
        if text.startswith("/") or len(text) < 3:  # a button payload: ask about the service itself
            query = catalog.name(service) if service else ""
        elif service and not services_now:  # a follow-up ("mất bao lâu?"): add the context
            query = f"{catalog.name(service)} {text}"
        if aspect and aspect not in aspects_now:
            query = f"{query} {ASPECT_LABELS.get(aspect, '')}"

        try:
            kb = runtime.knowledge_base()
            hits = kb.search(query, k=8)
        except IndexUnavailable as exc:
            log.error("knowledge index unavailable: %s", exc)
            dispatcher.utter_message(text=decline_message(runtime.settings(), unavailable=True))
            dispatcher.utter_message(json_message=meta_payload([], fallback=True))
            return []

        intent = tracker.latest_message.get("intent") or {}
        decision = decide(query, hits, intent.get("name"), float(intent.get("confidence") or 0.0),
                          services_now)
        if not decision.answer:
            dispatcher.utter_message(text=decline_message(runtime.settings()),
                                     buttons=service_buttons(hits, catalog))
            dispatcher.utter_message(json_message=meta_payload(hits, fallback=True))
            return [SlotSet("aspect", aspect)]

        best = choose_passage(hits, service if service else None, aspect)
        ordered = [best] + [h for h in hits if h is not best]
        dispatcher.utter_message(text=format_answer(best))
        dispatcher.utter_message(json_message=meta_payload(ordered, fallback=False))
        return [SlotSet("service", best.passage.service), SlotSet("aspect", aspect)]


def choose_passage(hits, service: str | None, aspect: str | None):
    """Prefer the passage of the asked service whose section answers the asked aspect."""
    pool = [h for h in hits if service and h.passage.service == service] or hits
    top = pool[0]
    if aspect:
        for hit in pool:
            if section_matches(hit.passage.section, aspect) and hit.score >= top.score * 0.7:
                return hit
    return top
