"""Answer / clarify / decline on fixed examples, with the real index and the real lexicon.

The questions here are written for these tests (not taken from the development set): each
pair is a question we answer and its out-of-scope neighbour on the same subject.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from knowledge.decision import ANSWER, CLARIFY, DECLINE, decide, in_scope_probability

pytestmark = pytest.mark.slow


def decision_for(kb, question: str, **kwargs):
    return decide(question, kb.search(question, k=8), **kwargs)


@pytest.mark.parametrize("question, service", [
    ("Làm phiếu lý lịch tư pháp trên VNeID như thế nào?", "ly-lich-tu-phap"),
    ("ly lich tu phap so 2 xin o dau", "ly-lich-tu-phap"),
    ("Đổi giấy phép lái xe hết hạn qua mạng được không?", "giay-phep-lai-xe"),
    ("Không đăng ký tạm trú khi thuê trọ có bị phạt không?", "tam-tru"),
    ("Hộ kinh doanh nộp thuế trên eTax Mobile thế nào?", "thue-dien-tu"),
    ("Tra cứu phạt nguội xe máy ở đâu?", "nop-phat-giao-thong"),
    ("Tài khoản VNeID bị khóa thì mở lại thế nào?", "vneid-tai-khoan"),
    ("Đi làm xa nhà 6 tháng có phải khai báo tạm vắng?", "tam-vang"),
    ("Con tôi 15 tuổi đi làm căn cước lần đầu cần mang gì?", "can-cuoc"),
    # "nghĩa vụ quân sự" is a weak out-of-scope cue: this question is still ours.
    ("Đi nghĩa vụ quân sự có phải khai báo tạm vắng không?", "tam-vang"),
])
def test_questions_about_our_services_are_answered(kb, question, service):
    decision = decision_for(kb, question)
    assert decision.action == ANSWER, decision
    assert decision.candidates[0] == service


@pytest.mark.parametrize("question, topic_word", [
    ("Vượt đèn đỏ bằng xe máy bị phạt bao nhiêu tiền?", "giao thông"),
    ("vuot den do xe may bi phat bao nhieu tien", "giao thông"),
    ("Lãi suất vay mua nhà ở ngân hàng nào thấp nhất?", "ngân hàng"),
    ("Doanh nghiệp khấu trừ thuế GTGT đầu vào thế nào?", "doanh nghiệp"),
    ("Thủ tục cấp thẻ tạm trú cho người nước ngoài làm việc ở Hà Nội?", "người nước ngoài"),
    ("Chia tài sản chung khi ly hôn thế nào?", "dân sự"),
])
def test_neighbouring_topics_we_do_not_cover_are_declined_with_the_topic(kb, question, topic_word):
    decision = decision_for(kb, question)
    assert decision.action == DECLINE, decision
    assert topic_word in decision.topic
    assert decision.candidates, "a decline still suggests the closest services as buttons"


@pytest.mark.parametrize("question", [
    "Cách nấu phở bò ngon tại nhà",
    "Đăng ký nghĩa vụ quân sự online được không?",
    "Nghỉ thai sản được bao nhiêu tháng?",
    "Thủ tục cấp sổ đỏ lần đầu",
])
def test_other_domains_are_not_answered(kb, question):
    assert decision_for(kb, question).action in (DECLINE, CLARIFY)


def test_importing_goods_is_not_registering_a_residence(kb):
    # "nhập khẩu" is also the citizens' word for đăng ký thường trú.
    assert decision_for(kb, "Nhập khẩu cho con vào nhà ông bà nội").action == ANSWER
    assert decision_for(kb, "Thủ tục nhập khẩu ô tô cũ về Việt Nam?").action == DECLINE


def test_naming_the_service_makes_answering_more_likely(kb):
    vague = decision_for(kb, "cần giấy tờ gì để làm")
    named = decision_for(kb, "làm căn cước cần giấy tờ gì")
    assert named.probability > vague.probability
    assert named.action == ANSWER


def test_a_service_entity_from_the_nlu_counts_as_named(kb):
    question = "cái giấy chứng nhận không có án tích xin thế nào"
    hits = kb.search(question, k=8)
    plain = decide(question, hits)
    with_entity = decide(question, hits, named_services=["ly-lich-tu-phap"])
    assert with_entity.probability >= plain.probability
    assert with_entity.evidence["named_any"] == 1.0


def test_a_confident_out_of_scope_intent_declines_unless_a_service_is_named(kb):
    question = "kể cho tôi nghe một câu chuyện cười"
    decision = decide(question, kb.search(question, k=8), "out_of_scope", 0.95)
    assert decision.action == DECLINE and decision.reason == "nlu_out_of_scope"
    question = "làm căn cước cho con cần gì"
    decision = decide(question, kb.search(question, k=8), "out_of_scope", 0.95)
    assert decision.action == ANSWER


def test_no_hits_declines():
    decision = decide("bất kỳ", [])
    assert decision.action == DECLINE and decision.candidates == []


def test_the_probability_rises_with_coverage_and_falls_with_out_of_scope_cues():
    base = {"named": 0.0, "named_any": 0.0, "coverage": 0.5, "out_of_scope": 0.0}
    assert in_scope_probability({**base, "coverage": 0.9}) > in_scope_probability(base)
    assert in_scope_probability({**base, "out_of_scope": 1.0}) < in_scope_probability(base)
    assert in_scope_probability({**base, "named": 1.0, "named_any": 1.0}) > \
        in_scope_probability(base)


def test_hits_without_evidence_fields_still_decide():
    # Older callers (or other search back-ends) may pass hits with only a passage and a score.
    hit = SimpleNamespace(passage=SimpleNamespace(service="tam-tru"), score=0.9)
    decision = decide("tạm trú", [hit])
    assert decision.action in (ANSWER, CLARIFY, DECLINE)
    assert decision.candidates == ["tam-tru"]
