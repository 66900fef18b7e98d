"""The questions lltp_form asks (Rasa calls `action_ask_<slot>` for each missing slot)."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.replies import meta_payload

ASK_TYPE = ("Để hướng dẫn đúng giấy tờ, anh/chị cần loại phiếu nào ạ? Phiếu số 1 là loại "
            "thường nộp khi xin việc, học tập, làm hồ sơ; Phiếu số 2 ghi đầy đủ hơn (cả án tích "
            "đã được xóa) và chỉ cấp cho chính người đó.")
TYPE_BUTTONS = [{"title": "Phiếu số 1", "payload": '/inform{"lltp_type":"phieu_1"}'},
                {"title": "Phiếu số 2", "payload": '/inform{"lltp_type":"phieu_2"}'}]
ASK_REQUESTER = "Anh/chị xin phiếu cho chính mình hay làm thay cho người thân ạ?"
REQUESTER_BUTTONS = [{"title": "Cho bản thân", "payload": '/inform{"lltp_requester":"ban_than"}'},
                     {"title": "Làm thay người thân",
                      "payload": '/inform{"lltp_requester":"nguoi_than"}'}]


class ActionAskLltpType(Action):
    def name(self) -> str:
        return "action_ask_lltp_type"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict]:
        dispatcher.utter_message(text=ASK_TYPE, buttons=TYPE_BUTTONS)
        dispatcher.utter_message(json_message=meta_payload([], fallback=True))  # not an answer
        return []


class ActionAskLltpRequester(Action):
    def name(self) -> str:
        return "action_ask_lltp_requester"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict]:
        dispatcher.utter_message(text=ASK_REQUESTER, buttons=REQUESTER_BUTTONS)
        dispatcher.utter_message(json_message=meta_payload([], fallback=True))  # not an answer
        return []
