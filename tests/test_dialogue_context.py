"""What a message asks given the conversation, and the entities the NLU reads from Vietnamese
typed with or without diacritics, with typos and Telex leftovers (no Rasa model needed)."""
from __future__ import annotations

import pytest

from actions.context import has_followup_cue, resolve_turn
from actions.feedback import verdict_from_text
from actions.lltp import needs_choice
from bot.components.entities import EntityFinder
from knowledge.catalog import load_catalog


@pytest.fixture(scope="module")
def finder():
    return EntityFinder(load_catalog())


def found(finder, text) -> dict[str, str]:
    return {e["entity"]: e["value"] for e in finder.extract(text)}


def name(service_id: str) -> str:
    return {"ly-lich-tu-phap": "Cấp Phiếu lý lịch tư pháp", "tam-tru": "Đăng ký tạm trú"}[service_id]


@pytest.mark.parametrize("text, service", [
    ("Làm lý lịch tư pháp online thế nào?", "ly-lich-tu-phap"),
    ("lam ly lich tu phap online the nao", "ly-lich-tu-phap"),
    ("lys lichj tuw phaps online", "ly-lich-tu-phap"),  # Telex keys without an IME
    ("ly lich tu phapp can gi", "ly-lich-tu-phap"),  # one wrong letter
    ("lí lịch tư pháp", "ly-lich-tu-phap"),  # i/y spelling
    ("đổi chứng minh thư sang căn cước", "can-cuoc"),  # synonym outside the catalog
    ("dang ky tam tru cho sinh vien", "tam-tru"),
])
def test_service_is_recognised_however_it_is_typed(finder, text, service):
    assert found(finder, text)["service"] == service


def test_short_unrelated_words_are_not_corrected_into_a_service(finder):
    assert "service" not in found(finder, "hôm nay trời mưa to quá")


@pytest.mark.parametrize("text, values", [
    ("phiếu số 2", {"lltp_type": "phieu_2"}),
    ("cho bố tôi", {"lltp_requester": "nguoi_than"}),
    ("cho bản thân", {"lltp_requester": "ban_than"}),
    ("làm lý lịch tư pháp cho con đi xin việc", {"lltp_requester": "nguoi_than"}),
])
def test_lltp_choices_are_read(finder, text, values):
    assert values.items() <= found(finder, text).items()


@pytest.mark.parametrize("text", [
    "cho tôi hỏi làm lý lịch tư pháp thế nào",  # polite opener, not "for me"
    "cho em hỏi lý lịch tư pháp",
    "phiếu số 1 và số 2 khác nhau thế nào",  # names both: no choice made
    "đăng ký khai sinh cho con",  # not about LLTP
])
def test_no_lltp_choice_is_read_from_other_phrasings(finder, text):
    assert not {"lltp_type", "lltp_requester"} & set(found(finder, text))


def test_hanoi_place_after_a_place_word_or_capitalised(finder):
    assert found(finder, "tôi ở phuong cau giay")["location"] == "Cầu Giấy"
    assert found(finder, "Tổ công nghệ số Hoàng Mai ở đâu")["location"] == "Hoàng Mai"
    assert "location" not in found(finder, "tây hồ sơ giúp tôi")  # ordinary words


@pytest.mark.parametrize("text", ["thế còn đăng ký tạm trú?", "còn phí?", "vậy làm online được không",
                                  "tạm trú thì sao", "thủ tục này mất bao lâu"])
def test_follow_up_phrasings(text):
    assert has_followup_cue(text)


@pytest.mark.parametrize("text", ["con tôi 5 tuổi làm căn cước thế nào",
                                  "làm căn cước cho con dưới 14 tuổi"])
def test_child_is_not_a_follow_up(text):
    assert not has_followup_cue(text)


def test_short_follow_up_keeps_service_and_takes_its_own_aspect():
    turn = resolve_turn("mất bao lâu?", [], ["time"], [], "ly-lich-tu-phap", "steps", name)
    assert (turn.service, turn.aspect, turn.followup) == ("ly-lich-tu-phap", "time", True)
    assert turn.query.startswith("Cấp Phiếu lý lịch tư pháp")


def test_switching_service_keeps_the_previous_aspect():
    turn = resolve_turn("thế còn đăng ký tạm trú?", ["tam-tru"], [], ["đăng ký tạm trú"],
                        "ly-lich-tu-phap", "fee", name)
    assert (turn.service, turn.aspect, turn.aspect_kept) == ("tam-tru", "fee", True)


def test_new_full_question_resets_the_aspect():
    turn = resolve_turn("Làm căn cước cho con dưới 14 tuổi", ["can-cuoc"], [], ["căn cước"],
                        "ly-lich-tu-phap", "fee", name)
    assert (turn.service, turn.aspect, turn.followup) == ("can-cuoc", None, False)


def test_long_question_without_service_is_not_forced_into_the_context():
    turn = resolve_turn("người già không biết dùng điện thoại thông minh thì nhờ ai giúp",
                        [], [], [], "ly-lich-tu-phap", "fee", name)
    assert turn.service is None and not turn.followup


def test_lltp_choice_is_needed_only_where_the_answer_depends_on_it():
    assert needs_choice("ly-lich-tu-phap", "documents", None, {})
    assert needs_choice("ly-lich-tu-phap", "steps", "nguoi_than", {})
    assert not needs_choice("ly-lich-tu-phap", "fee", None, {})
    assert not needs_choice("tam-tru", "documents", None, {})
    assert not needs_choice("ly-lich-tu-phap", "documents", None,
                            {"lltp_type": "phieu_1", "lltp_requester": "ban_than"})


@pytest.mark.parametrize("text, verdict", [("câu trả lời chưa đúng", "negative"),
                                           ("khong huu ich", "negative"),
                                           ("rất hữu ích, cảm ơn", "positive"),
                                           ("huong dan ro rang", "positive")])
def test_typed_feedback_verdict(text, verdict):
    assert verdict_from_text(text) == verdict
