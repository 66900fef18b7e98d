"""Hand-off to people, and the last-resort fallback when the dialogue policy is unsure.

With live hand-off on (staff accounts configured, trolyao/core/handoff.py) the conversation
enters the staff queue and is paused: Rasa answers nothing until staff return it to the
assistant, the citizen's messages are stored for staff. The citizen is told honestly what
happens next: within office hours a staff member replies in the same window (with the place
in the queue); outside them the message waits for staff and the official channels are named.
Without live hand-off: the hotline and the places where people help (domain responses).
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.dependencies import PROCESS
from actions.replies import meta_payload, portal_links, utter_clarify, utter_hand_off
from trolyao.core.handoff import OfficeHours, shared_queue

RESET_FAILURES = [SlotSet("failure_count", 0.0), SlotSet("handoff_due", False)]

# The queue's texts carry run-time values (place in the queue, next opening), so they are
# composed here rather than in bot/domain/responses.yml.
IN_HOURS = ("Tôi đã chuyển cuộc trò chuyện tới cán bộ hỗ trợ. Cán bộ sẽ trả lời anh/chị ngay tại "
            "cửa sổ này; anh/chị đang ở vị trí số {position} trong hàng chờ. Trong lúc chờ, anh/chị "
            "có thể nhắn thêm nội dung cần hỏi, cán bộ sẽ đọc được.")
OUT_OF_HOURS = ("Hiện đang ngoài giờ làm việc của cán bộ hỗ trợ. Anh/chị cứ để lại lời nhắn tại đây, "
                "cán bộ sẽ đọc và trả lời ngay trong cửa sổ này khi vào ca{next_open}.\n"
                "Nếu cần gấp, anh/chị có thể liên hệ:\n"
                "- Tổng đài Cổng Dịch vụ công quốc gia: {hotline} (miễn phí).\n"
                "- Gửi câu hỏi trên [Cổng Dịch vụ công quốc gia]({portal_url}) hoặc "
                "[Cổng dịch vụ công Hà Nội]({hanoi_portal_url}).")


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, settings, reason: str) -> list[dict]:
    """Queue the conversation for staff (live hand-off) or give the hotline; the events to return."""
    if not settings.live_handoff:
        utter_hand_off(dispatcher, settings, tracker.get_slot("location"))
        return []
    hours = OfficeHours.from_settings(settings)
    on_duty = hours.is_open()
    queue = shared_queue(settings)
    queue.enqueue(tracker.sender_id, reason, on_duty)
    if on_duty:
        dispatcher.utter_message(text=IN_HOURS.format(position=queue.position(tracker.sender_id) or 1))
    else:
        next_open = hours.describe_next()
        dispatcher.utter_message(text=OUT_OF_HOURS.format(
            next_open=f" (từ {next_open})" if next_open else "",
            hotline=tracker.get_slot("hotline") or "", **portal_links(settings)))
    return [ConversationPaused()]


class ActionHandOff(Action):
    """The citizen asked for a person, or the bot failed twice in a row."""
    deps = PROCESS

    def name(self) -> str:
        return "action_hand_off"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        paused = hand_off(dispatcher, tracker, self.deps.settings(),
                          "asked" if intent == "request_human" else "failed_twice")
        dispatcher.utter_message(json_message=meta_payload([], fallback=True))
        return RESET_FAILURES + [SlotSet("feedback_pending", False)] + paused


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
            paused = hand_off(dispatcher, tracker, self.deps.settings(), "failed_twice")
            return [UserUtteranceReverted()] + RESET_FAILURES + paused
        utter_clarify(dispatcher)
        return [UserUtteranceReverted(), SlotSet("failure_count", float(failures))]
