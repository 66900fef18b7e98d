"""The citizen's verdict on an answer ("Câu trả lời có hữu ích không?").

The verdict is stored in the conversation as slot `feedback` = "positive" | "negative" (a
SlotSet event in the tracker store), which the admin report reads. A button click fills the
slot from its entity before this action runs; a typed verdict ("chưa đúng lắm") or a yes/no
reply to the question is read here.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from knowledge.textnorm import words

POSITIVE, NEGATIVE = "positive", "negative"
_NEGATIVE_WORDS = {"khong", "chua", "sai", "chang", "te", "kem", "thieu", "kho"}
_NEGATIVE_PHRASES = [("vo", "ich"), ("khong", "ro"), ("chua", "ro"), ("khong", "dung")]

# What the bot says to each verdict (texts in bot/domain/responses.yml).
THANKS = {POSITIVE: "utter_feedback_positive", NEGATIVE: "utter_feedback_negative"}


def verdict_from_text(text: str) -> str:
    ws = words(text)
    pairs = set(zip(ws, ws[1:]))
    if set(ws) & _NEGATIVE_WORDS or pairs & set(_NEGATIVE_PHRASES):
        return NEGATIVE
    return POSITIVE


class ActionHandleFeedback(Action):
    def name(self) -> str:
        return "action_handle_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        entities = tracker.latest_message.get("entities") or []
        from_button = [e["value"] for e in entities if e.get("entity") == "feedback"]
        pending = bool(tracker.get_slot("feedback_pending"))
        events: list[dict] = [SlotSet("feedback_pending", False)]
        if intent == "give_feedback" and not pending and not from_button:
            # A typed verdict with no answer waiting for one: nothing to rate, nothing stored
            # (it would count in the maintainers' satisfaction figures).
            dispatcher.utter_message(response="utter_feedback_nothing_to_rate")
            return events
        if intent == "give_feedback":
            verdict = from_button[0] if from_button else verdict_from_text(
                tracker.latest_message.get("text") or "")
        elif pending and intent in ("affirm", "deny"):
            verdict = POSITIVE if intent == "affirm" else NEGATIVE
        else:
            dispatcher.utter_message(
                response="utter_anything_else" if intent == "affirm" else "utter_whenever_needed")
            return events
        if verdict not in THANKS:
            verdict = POSITIVE if verdict_from_text(str(verdict)) == POSITIVE else NEGATIVE
        if not from_button or from_button[0] != verdict:
            # A button's entity already filled the slot; anything else is recorded here.
            events.append(SlotSet("feedback", verdict))
        dispatcher.utter_message(response=THANKS[verdict])
        return events
