"""Multi-turn conversations through the real assistant (Rasa agent, in-process actions, FAISS).

Assertions are on service ids, documents, slots and tracker events, and on what the reply
states first: a follow-up "mất bao lâu?" must be answered with a duration, "còn phí?" with an
amount, whichever section of the document it comes from (a procedure section or an entry of
its "Câu hỏi thường gặp").
"""
from __future__ import annotations

import json
import re
import uuid

import pytest

from knowledge.answering.aspects import section_matches
from knowledge.textnorm import fold

LLTP = "ly-lich-tu-phap"


def new_sender() -> str:
    return f"dlg-{uuid.uuid4().hex[:12]}"


def text_of(reply) -> str:
    messages = reply["messages"] if isinstance(reply, dict) else reply.messages
    return "\n".join(m["text"] for m in messages)


def buttons_of(reply) -> list[dict]:
    messages = reply["messages"] if isinstance(reply, dict) else reply.messages
    return [b for m in messages for b in m.get("buttons", [])]


def cited_section(reply) -> str:
    assert reply.passages, f"no passage cited: {text_of(reply)}"
    return reply.passages[0]["section"]


# What the reply (before its sources) must state for each aspect, on folded text.
STATES = {
    "time": r"\d+ ngay|trong ngay|ngay lam viec",
    "fee": r"\d[\d.]* dong|mien (le )?phi|khong (mat|thu|phai nop) (le )?phi",
    "steps": r"(^|\n)1\. ",
    "documents": r"to khai|giay to|ban sao|hop dong|van ban",
}


def answers(reply, aspect: str) -> bool:
    """The reply states the aspect's kind of fact, from a document of the cited service."""
    assert reply.passages, f"no passage cited: {text_of(reply)}"
    answer = text_of(reply).split("Nguồn:", 1)[0]
    return bool(re.search(STATES[aspect], fold(answer)))


def slot_events(assistant, sender: str, name: str) -> list:
    return [e["value"] for e in assistant.tracker_events(sender)
            if e.get("event") == "slot" and e.get("name") == name]


# ---------- follow-ups ----------

def test_six_turn_api_conversation_keeps_the_service(chat):
    sender = new_sender()
    turns = ["Làm lý lịch tư pháp online thế nào?", "mất bao lâu?", "còn phí?",
             "nộp ở đâu?", "ai được làm?", "thủ tục này liên hệ ai để hỏi thêm?"]
    answers = []
    for message in turns:
        reply = chat(message, sender)
        assert reply["fallback"] is False, (message, text_of(reply))
        assert reply["sources"][0]["service"] == LLTP, (message, reply["sources"])
        answers.append(text_of(reply))
    # Each follow-up is answered from another part of the document, not the same passage again.
    assert len(set(answers)) == len(answers)


def test_follow_ups_answer_the_asked_aspect_of_the_same_service(assistant):
    sender = new_sender()
    first = assistant.chat(sender, "Làm lý lịch tư pháp online thế nào?")
    assert first.sources[0]["service"] == LLTP
    assert answers(first, "steps")

    time = assistant.chat(sender, "mất bao lâu?")
    assert time.sources[0]["service"] == LLTP
    assert answers(time, "time")

    fee = assistant.chat(sender, "còn phí?")
    assert fee.sources[0]["service"] == LLTP
    assert answers(fee, "fee")
    assert fee.slots["service"] == LLTP and fee.slots["aspect"] == "fee"


@pytest.mark.parametrize("plain", [False, True], ids=["with-tone-marks", "without-tone-marks"])
def test_lltp_request_then_time_then_fee_then_switch_to_tam_tru(assistant, plain):
    from knowledge.textnorm import strip_diacritics

    def say(text):
        return assistant.chat(sender, strip_diacritics(text) if plain else text)

    sender = new_sender()
    request = say("Tôi muốn xin phiếu lý lịch tư pháp số 1 cho bản thân trên VNeID")
    assert request.fallback is False and request.sources[0]["service"] == LLTP
    assert answers(request, "steps"), "a request to do it gets the steps"
    time = say("mất bao lâu thì có kết quả?")
    assert time.fallback is False, text_of(time)
    assert time.sources[0]["service"] == LLTP and answers(time, "time"), text_of(time)
    fee = say("còn lệ phí thì sao?")
    assert fee.sources[0]["service"] == LLTP and answers(fee, "fee"), text_of(fee)
    switched = say("thế còn đăng ký tạm trú thì làm thế nào?")
    assert switched.sources[0]["service"] == "tam-tru", switched.sources
    assert switched.sources[0]["doc_id"] == "procedure/tam-tru", "registering, not removing"
    assert answers(switched, "steps"), text_of(switched)


def test_aspect_buttons_under_an_answer_ask_about_the_same_service(assistant):
    sender = new_sender()
    first = assistant.chat(sender, "Đăng ký tạm trú online thế nào?")
    titles = {b["title"]: b["payload"] for b in buttons_of(first)}
    assert {"Lệ phí", "Thời gian", "Giấy tờ"} <= set(titles), titles
    fee = assistant.chat(sender, titles["Lệ phí"])
    assert fee.sources[0]["service"] == "tam-tru" and answers(fee, "fee"), text_of(fee)
    assert fee.sources[0]["doc_id"] == "procedure/tam-tru"


def test_switching_service_keeps_the_aspect(assistant):
    sender = new_sender()
    assistant.chat(sender, "Làm lý lịch tư pháp online thế nào?")
    assistant.chat(sender, "còn phí?")
    switched = assistant.chat(sender, "thế còn đăng ký tạm trú?")
    assert switched.sources[0]["service"] == "tam-tru"
    assert answers(switched, "fee")
    # The overview document of the service, not a sub-procedure (gia hạn, xóa tạm trú).
    assert switched.passages[0]["doc_id"].endswith("/tam-tru")
    assert switched.slots["service"] == "tam-tru" and switched.slots["aspect"] == "fee"


def test_a_new_full_question_resets_the_aspect(assistant):
    sender = new_sender()
    assistant.chat(sender, "lệ phí làm lý lịch tư pháp bao nhiêu?")
    reply = assistant.chat(sender, "Làm căn cước cho con dưới 14 tuổi")
    assert reply.sources[0]["service"] == "can-cuoc"
    assert "aspect" not in reply.slots, "a new question must not inherit the old aspect (fee)"
    assert not section_matches(cited_section(reply), "fee")


def test_follow_up_stays_in_the_document_of_the_previous_answer(assistant):
    sender = new_sender()
    first = assistant.chat(sender, "gia hạn tạm trú online thế nào?")
    assert first.sources[0]["service"] == "tam-tru"
    doc = first.passages[0]["doc_id"]
    follow = assistant.chat(sender, "mất bao lâu?")
    assert follow.passages[0]["doc_id"] == doc
    assert answers(follow, "time")


def test_conversation_without_diacritics(chat, assistant):
    sender = new_sender()
    assert chat("xin chao", sender)["intent"]["name"] == "greet"
    first = assistant.chat(sender, "lam can cuoc cho con duoi 14 tuoi the nao")
    assert first.sources[0]["service"] == "can-cuoc"
    time = assistant.chat(sender, "mat bao lau")
    assert time.sources[0]["service"] == "can-cuoc"
    assert answers(time, "time")
    fee = assistant.chat(sender, "con phi thi sao")
    assert fee.sources[0]["service"] == "can-cuoc"
    assert answers(fee, "fee")
    thanks = chat("cam on", sender)
    assert thanks["intent"]["name"] == "thanks" and thanks["fallback"] is False


def test_of_two_services_named_the_one_asked_to_do_is_answered(assistant):
    reply = assistant.chat(new_sender(), "ko co cccd thi lam lltp dc ko")
    assert reply.sources and reply.sources[0]["service"] == LLTP, reply.sources


def test_typed_with_telex_leftovers_is_understood(assistant):
    reply = assistant.chat(new_sender(), "lys lichj tuw phaps online lamf the nao")
    assert reply.sources and reply.sources[0]["service"] == LLTP


# ---------- the LLTP choice form ----------

def test_form_asks_the_choice_survives_an_interruption_then_answers(assistant):
    sender = new_sender()
    ask = assistant.chat(sender, "làm lý lịch tư pháp cần giấy tờ gì?")
    assert ask.fallback is True and ask.sources == []
    assert {b["payload"] for b in buttons_of(ask)} == {
        '/inform{"lltp_type":"phieu_1"}', '/inform{"lltp_type":"phieu_2"}'}

    interruption = assistant.chat(sender, "bạn là người hay máy")
    assert interruption.intent["name"] == "bot_challenge"
    assert "trợ lý ảo" in text_of(interruption)
    assert buttons_of(interruption) == buttons_of(ask), "the form asks its question again"

    second = assistant.chat(sender, "phiếu số 1")
    assert {b["payload"] for b in buttons_of(second)} == {
        '/inform{"lltp_requester":"ban_than"}', '/inform{"lltp_requester":"nguoi_than"}'}

    answer = assistant.chat(sender, "cho bố tôi")
    assert answer.fallback is False
    assert answer.sources[0]["service"] == LLTP
    assert answers(answer, "documents")
    assert "ủy quyền" in text_of(answer)
    assert answer.slots["lltp_type"] == "phieu_1" and answer.slots["lltp_requester"] == "nguoi_than"
    loops = [e.get("name") for e in assistant.tracker_events(sender) if e["event"] == "active_loop"]
    assert loops[0] == "lltp_form" and loops[-1] is None, "the form ended"


def test_form_buttons_and_a_choice_given_up_front(assistant):
    sender = new_sender()
    ask = assistant.chat(sender, "xin phiếu lý lịch tư pháp số 2 cần giấy tờ gì")
    # Phiếu số 2 was said: only "for whom" is asked.
    assert {b["payload"] for b in buttons_of(ask)} == {
        '/inform{"lltp_requester":"ban_than"}', '/inform{"lltp_requester":"nguoi_than"}'}
    answer = assistant.chat(sender, '/inform{"lltp_requester":"nguoi_than"}')
    assert answer.sources[0]["service"] == LLTP
    assert "không được ủy quyền" in text_of(answer), "phiếu số 2 cannot be requested for others"


def test_choice_already_known_is_not_asked_again(assistant):
    sender = new_sender()
    reply = assistant.chat(sender, "xin phiếu lý lịch tư pháp số 1 cho bản thân cần giấy tờ gì")
    assert reply.fallback is False and reply.sources[0]["service"] == LLTP
    assert not any("inform" in b["payload"] for b in buttons_of(reply))


def test_leaving_the_form_for_another_question(assistant):
    sender = new_sender()
    assistant.chat(sender, "xin lý lịch tư pháp cho mẹ tôi")
    other = assistant.chat(sender, "thế còn hộ chiếu thì sao")
    assert other.sources[0]["service"] == "ho-chieu"
    loops = [e.get("name") for e in assistant.tracker_events(sender) if e["event"] == "active_loop"]
    assert loops[-1] is None


def test_no_choice_gets_a_general_answer_not_the_question_again(assistant):
    sender = new_sender()
    assistant.chat(sender, "làm lý lịch tư pháp cần giấy tờ gì?")
    reply = assistant.chat(sender, "tôi không biết")
    assert reply.fallback is False and reply.sources[0]["service"] == LLTP
    assert not any("inform" in b["payload"] for b in buttons_of(reply))


# ---------- fallbacks and hand-off ----------

def test_unclear_message_gets_a_clarifying_question_with_service_buttons(assistant):
    sender = new_sender()
    reply = assistant.chat(sender, "asdkj qwe zxc")
    assert reply.intent["name"] == "nlu_fallback"
    assert reply.fallback is True and reply.sources == []
    payloads = [b["payload"] for b in buttons_of(reply)]
    assert payloads and all(p.startswith('/ask_procedure{"service":') for p in payloads)
    # Clicking a candidate answers about that service.
    service = json.loads(payloads[0][len("/ask_procedure"):])["service"]
    picked = assistant.chat(sender, payloads[0])
    assert picked.fallback is False and picked.sources[0]["service"] == service


def test_second_failure_in_a_row_hands_off_and_never_loops(chat):
    sender = new_sender()
    first = chat("asdkj qwe zxc", sender)
    assert first["fallback"] is True and "18001096" not in text_of(first)
    second = chat("xyz abc uvw", sender)
    assert second["fallback"] is True
    assert "18001096" in text_of(second) and "Tổ công nghệ số cộng đồng" in text_of(second)
    assert not buttons_of(second), "the hand-off does not ask to rephrase again"
    # The count starts again: a real question is answered.
    after = chat("đăng ký tạm trú online thế nào", sender)
    assert after["fallback"] is False and after["sources"][0]["service"] == "tam-tru"


def test_asking_for_a_person_hands_off(chat):
    reply = chat("cho tôi gặp người thật", new_sender())
    assert reply["intent"]["name"] == "request_human"
    assert reply["fallback"] is True and reply["sources"] == []
    assert "18001096" in text_of(reply) and "Tổ công nghệ số cộng đồng" in text_of(reply)


def test_hand_off_names_the_citizens_ward(chat):
    sender = new_sender()
    chat("tôi ở phường Cầu Giấy, muốn hỏi đăng ký tạm trú", sender)
    reply = chat("cho tôi nói chuyện với nhân viên", sender)
    assert "Cầu Giấy" in text_of(reply)


def test_help_answer_points_to_the_citizens_ward(assistant):
    reply = assistant.chat(new_sender(), "tổ công nghệ số cộng đồng ở phường Cầu Giấy ở đâu")
    assert reply.fallback is False and reply.sources
    assert reply.slots["location"] == "Cầu Giấy"
    assert "Ở Cầu Giấy" in text_of(reply)


def test_out_of_scope_is_declined_politely(chat):
    reply = chat("tỷ giá đô la hôm nay bao nhiêu", new_sender())
    assert reply["intent"]["name"] == "out_of_scope"
    assert reply["fallback"] is True and reply["sources"] == []
    assert "Xin lỗi" in text_of(reply)


def test_bot_challenge_says_it_is_a_machine(chat):
    reply = chat("bạn là người hay máy", new_sender())
    assert reply["intent"]["name"] == "bot_challenge"
    assert "trợ lý ảo" in text_of(reply)


# ---------- feedback ----------

def test_answers_ask_for_feedback_with_the_agreed_buttons(chat):
    reply = chat("đăng ký khai sinh online cần giấy tờ gì", new_sender())
    assert reply["fallback"] is False
    question = [m for m in reply["messages"] if m["text"] == "Câu trả lời có hữu ích không?"]
    assert len(question) == 1, text_of(reply)
    assert {b["payload"] for b in question[0]["buttons"]} == {
        '/give_feedback{"feedback":"positive"}', '/give_feedback{"feedback":"negative"}'}
    # The answer itself offers the other aspects of the same service, not feedback.
    answer_buttons = {b["payload"] for b in reply["messages"][0].get("buttons", [])}
    assert '/ask_procedure{"service":"khai-sinh","aspect":"fee"}' in answer_buttons


def test_a_typed_verdict_with_no_answer_before_it_is_not_stored(assistant):
    sender = new_sender()
    reply = assistant.chat(sender, "câu trả lời chưa đúng")
    assert slot_events(assistant, sender, "feedback") == [], text_of(reply)


@pytest.mark.parametrize("verdict", ["positive", "negative"])
def test_feedback_button_is_stored_with_the_conversation(chat, assistant, verdict):
    sender = new_sender()
    chat("đổi bằng lái xe online được không", sender)
    thanks = chat(f'/give_feedback{{"feedback":"{verdict}"}}', sender)
    assert "Cảm ơn" in text_of(thanks)
    assert slot_events(assistant, sender, "feedback") == [verdict], "stored exactly once"


def test_typed_feedback_and_a_yes_are_stored(assistant):
    sender = new_sender()
    assistant.chat(sender, "kích hoạt định danh mức 2 ở đâu")
    assistant.chat(sender, "câu trả lời chưa đúng")
    assistant.chat(sender, "cccd mất bao lâu")
    assistant.chat(sender, "có")
    assert slot_events(assistant, sender, "feedback") == ["negative", "positive"]


def test_a_yes_without_a_pending_question_is_not_feedback(assistant):
    sender = new_sender()
    reply = assistant.chat(sender, "vâng")
    assert reply.intent["name"] == "affirm"
    assert slot_events(assistant, sender, "feedback") == []
    assert text_of(reply)
