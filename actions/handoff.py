"""Hand-off to people, and the last-resort fallback when the dialogue policy is unsure."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.dependencies import PROCESS
from actions.replies import meta_payload, utter_clarify, utter_hand_off

RESET_FAILURES = [SlotSet("failure_count", 0.0), SlotSet("handoff_due", False)]


class ActionHandOff(Action):
    """The citizen asked for a person, or the bot failed twice in a row."""
    deps = PROCESS

    def name(self) -> str:
        return "action_hand_off"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict]:
        utter_hand_off(dispatcher, self.deps.settings(), tracker.get_slot("location"))
        dispatcher.utter_message(json_message=meta_payload([], fallback=True))
        return RESET_FAILURES + [SlotSet("feedback_pending", False)]


class ActionDefaultFallback(Action):
    """Replaces Rasa's default when no policy is confident about the next action: ask again
    once, hand off the second time in a row; the unclear message is forgotten, as Rasa's
    default does, so it does not steer later predictions."""
    deps = PROCESS

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict]:
        failures = int(tracker.get_slot("failure_count") or 0) + 1
        dispatcher.utter_message(json_message=meta_payload([], fallback=True))
        if failures >= 2:
            utter_hand_off(dispatcher, self.deps.settings(), tracker.get_slot("location"))
            return [UserUtteranceReverted()] + RESET_FAILURES
        utter_clarify(dispatcher)
        return [UserUtteranceReverted(), SlotSet("failure_count", float(failures))]
