"""The answering stage on fixed examples, without Rasa or an index: what a question asks,
which sentence answers it, and how the reply reads. Passages and questions are our own
wording (not the evaluation files')."""
from __future__ import annotations

import re

import pytest

from knowledge.answering import Answerer
from knowledge.answering.compose import REPLY_WORDS, STEPS_WORDS, AnswerComposer
from knowledge.answering.question import (AGE, DATE, DOCUMENTS, DURATION, FEE, FORM, PERCENT,
                                          PLACE, STEPS, VERDICT, QuestionAnalyzer)
from knowledge.answering.selection import AnswerSelector
from knowledge.documents_model import Passage
from knowledge.search import Hit
from knowledge.textnorm import strip_diacritics


def passage(doc: str, title: str, section: str, text: str, service: str = "svc") -> Passage:
    pid = f"{doc}#{section}"
    return Passage(pid, doc, title, service, "procedure", f"https://example.gov.vn/{doc}",
                   section, text)


def hits(*passages: Passage, score: float = 0.9) -> list[Hit]:
    return [Hit(p, round(score - i * 0.001, 6)) for i, p in enumerate(passages)]


MAIN = "procedure/dang-ky-o"
REMOVAL = "procedure/dang-ky-o-xoa"
MAIN_TITLE = "Đăng ký chỗ ở trực tuyến"
REMOVAL_TITLE = "Xóa đăng ký chỗ ở"

DOCUMENT = [
    passage(MAIN, MAIN_TITLE, "", "Đăng ký chỗ ở là việc khai báo nơi bạn sống với cơ quan "
            "công an. Thủ tục làm được trên ứng dụng VNeID."),
    passage(MAIN, MAIN_TITLE, "Ai có thể làm", "Người từ đủ 16 tuổi tự đăng ký; người dưới 16 "
            "tuổi do cha mẹ đăng ký thay."),
    passage(MAIN, MAIN_TITLE, "Các bước thực hiện", "Cách đăng ký chỗ ở:\n"
            "1. Đăng nhập VNeID mức 2.\n2. Chọn thủ tục Đăng ký chỗ ở và khai tờ khai mẫu DK01.\n"
            "3. Tải ảnh hợp đồng thuê nhà.\n4. Nộp lệ phí và gửi hồ sơ."),
    passage(MAIN, MAIN_TITLE, "Giấy tờ cần chuẩn bị", "Hồ sơ gồm:\n- Tờ khai mẫu DK01.\n"
            "- Giấy tờ chứng minh chỗ ở hợp pháp, ví dụ hợp đồng thuê nhà."),
    passage(MAIN, MAIN_TITLE, "Lệ phí", "Lệ phí đăng ký chỗ ở được quy định trong biểu phí "
            "chung. Mức thu là 20.000 đồng khi nộp trực tiếp và 10.000 đồng khi nộp trực tuyến."),
    passage(MAIN, MAIN_TITLE, "Thời gian giải quyết", "Cơ quan công an xem xét hồ sơ theo thứ "
            "tự nhận. Kết quả có trong 05 ngày làm việc kể từ khi nhận đủ hồ sơ."),
    passage(MAIN, MAIN_TITLE, "Đăng ký chỗ ở bắt đầu áp dụng từ khi nào?",
            "Quy định này áp dụng từ ngày 01/7/2025 trên cả nước."),
    passage(REMOVAL, REMOVAL_TITLE, "Các bước thực hiện", "Cách xóa đăng ký chỗ ở:\n"
            "1. Đăng nhập VNeID.\n2. Chọn thủ tục Xóa đăng ký chỗ ở, nêu lý do.\n3. Gửi hồ sơ."),
    passage(REMOVAL, REMOVAL_TITLE, "Thời gian giải quyết", "Việc xóa đăng ký xong trong 02 "
            "ngày làm việc."),
]


@pytest.fixture()
def answerer():
    return Answerer()


def answer(answerer, question: str, pool=None, **kw):
    pool = hits(*(pool or DOCUMENT))
    return answerer.answer(question, pool, service="svc", **kw)


# ---------------------------------------------------------------- question analysis

@pytest.mark.parametrize("question, kind", [
    ("Bao nhiêu tuổi thì được tự đăng ký chỗ ở?", AGE),
    ("Đăng ký chỗ ở mất mấy ngày?", DURATION),
    ("Quy định này có hiệu lực từ ngày nào?", DATE),
    ("Lệ phí đăng ký chỗ ở là bao nhiêu tiền?", FEE),
    ("Tỷ lệ hồ sơ nộp trực tuyến đạt bao nhiêu phần trăm?", PERCENT),
    ("Nộp hồ sơ đăng ký chỗ ở ở đâu?", PLACE),
    ("Có phải mang bản gốc hợp đồng đến không?", VERDICT),
    ("Tờ khai đăng ký chỗ ở là mẫu nào?", FORM),
    ("Đăng ký chỗ ở cần những giấy tờ gì?", DOCUMENTS),
    ("Hướng dẫn các bước đăng ký chỗ ở", STEPS),
])
def test_the_kind_of_answer_wanted_is_recognised_with_and_without_tone_marks(question, kind):
    analyzer = QuestionAnalyzer()
    assert analyzer.analyze(question).parts[0].kind == kind
    assert analyzer.analyze(strip_diacritics(question)).parts[0].kind == kind


def test_a_message_with_two_questions_gets_both_parts():
    analysis = QuestionAnalyzer().analyze(
        "Đăng ký chỗ ở làm thế nào? Có bắt buộc chụp ảnh hợp đồng không?")
    assert len(analysis.parts) == 2
    assert analysis.parts[0].kind == STEPS and analysis.parts[1].kind == VERDICT


def test_cases_and_requests_are_recognised():
    analyzer = QuestionAnalyzer()
    cases = analyzer.analyze("Làm thẻ cho con dưới 14 tuổi bị mất thẻ, nộp online được không?").cases
    assert {"child", "lost", "online"} <= set(cases)
    request = analyzer.analyze("Tôi muốn xin đăng ký chỗ ở trên VNeID")
    assert request.request and request.wants_steps
    assert not analyzer.analyze("Đăng ký chỗ ở mất mấy ngày?").wants_steps


# ---------------------------------------------------------------- sentence choice

@pytest.mark.parametrize("question, expected", [
    ("Bao nhiêu tuổi thì tự đăng ký chỗ ở được?", "16 tuổi"),
    ("đăng ký chỗ ở mất mấy ngày", "05 ngày làm việc"),
    ("Phí đăng ký chỗ ở online hết bao nhiêu?", "10.000 đồng"),
    ("Quy định đăng ký chỗ ở áp dụng từ ngày nào?", "01/7/2025"),
    ("Tờ khai đăng ký chỗ ở là mẫu gì?", "DK01"),
])
def test_the_direct_answer_states_the_fact_asked(answerer, question, expected):
    composed = answer(answerer, question)
    assert expected in composed.direct, composed.text()
    assert composed.doc_id == MAIN


def test_the_same_question_without_tone_marks_gets_the_same_fact(answerer):
    composed = answer(answerer, strip_diacritics("Đăng ký chỗ ở mất mấy ngày?"))
    assert "05 ngày làm việc" in composed.direct


def test_a_variant_document_is_chosen_only_when_asked(answerer):
    register = answer(answerer, "Đăng ký chỗ ở online thế nào?")
    assert register.doc_id == MAIN and register.steps
    assert "DK01" in register.direct  # the registration steps, not the removal ones
    removal = answer(answerer, "Xóa đăng ký chỗ ở thế nào?")
    assert removal.doc_id == REMOVAL
    assert "nêu lý do" in removal.text()


def test_a_follow_up_stays_in_the_previous_document(answerer):
    follow = answer(answerer, "mất mấy ngày?", previous_doc=REMOVAL)
    assert follow.doc_id == REMOVAL and "02 ngày làm việc" in follow.direct


def test_a_documents_answer_lists_every_paper(answerer):
    composed = answer(answerer, "Đăng ký chỗ ở cần những giấy tờ gì?")
    assert "Tờ khai mẫu DK01" in composed.direct
    assert "chỗ ở hợp pháp" in composed.direct


def test_a_request_gets_steps_and_a_card_of_place_fee_and_time(answerer):
    composed = answer(answerer, "Tôi muốn đăng ký chỗ ở trên VNeID")
    assert composed.steps and composed.doc_id == MAIN
    assert re.search(r"(?m)^1\. Đăng nhập", composed.direct)
    assert "Lệ phí:" in composed.details and "Thời gian:" in composed.details
    assert len(composed.direct.split()) <= STEPS_WORDS + 20


def test_both_parts_of_a_two_part_question_are_answered(answerer):
    composed = answer(answerer, "Đăng ký chỗ ở lệ phí bao nhiêu? Mất mấy ngày thì có kết quả?")
    assert "đồng" in composed.direct and "ngày làm việc" in composed.direct


def test_replies_quote_only_document_sentences_and_stay_short(answerer):
    texts = " ".join(p.text for p in DOCUMENT)
    for question in ["Đăng ký chỗ ở mất mấy ngày?", "Lệ phí đăng ký chỗ ở?",
                     "Ai được đăng ký chỗ ở?", "Đăng ký chỗ ở cần giấy tờ gì?"]:
        composed = answer(answerer, question)
        assert composed.words_before_sources() <= REPLY_WORDS + 20
        for line in composed.body().split("\n"):
            line = re.sub(r"^(?:- |\d+\. )", "", line).strip().rstrip(" …")
            for sentence in re.split(r"(?<=[.!?])\s+", line):
                assert not sentence or sentence in texts, sentence
        assert composed.citation().startswith(f"Nguồn: [{MAIN_TITLE}](https://example.gov.vn/")


def test_nothing_to_quote_gives_no_answer():
    assert AnswerComposer().compose(AnswerSelector().select(
        QuestionAnalyzer().analyze("Lệ phí?"), [])) is None


# ---------------------------------------------------------------- what is and is not a steps question

@pytest.mark.parametrize("question, steps", [
    ("Đăng ký chỗ ở như thế nào?", True),  # only the procedure is named: its steps
    ("dang ky cho o ra sao", True),
    ("Họ tên chủ hộ trên giấy xác nhận sẽ ghi như thế nào?", False),  # how it is, not how to
    ("Quy định về ảnh trên thẻ đối với người đeo kính như thế nào?", False),  # "đối với" ≠ "đổi"
])
def test_how_questions_ask_for_steps_only_about_doing_something(question, steps):
    assert QuestionAnalyzer().analyze(question).wants_steps is steps


def test_a_yes_no_question_is_not_a_request_for_the_steps():
    analysis = QuestionAnalyzer().analyze("Tôi muốn xin giấy xác nhận ở tỉnh khác thì có được không?")
    assert analysis.parts[0].kind == VERDICT and not analysis.wants_steps


def test_when_asks_for_a_date_or_for_the_occasion(answerer):
    pool = DOCUMENT + [passage(MAIN, MAIN_TITLE, "Khi nào thì phải cập nhật chỗ ở?",
                               "Bạn cập nhật khi chuyển đến nơi mới hoặc khi chủ nhà đổi. "
                               "Việc này không mất phí.")]
    composed = answer(answerer, "Cập nhật chỗ ở khi nào?", pool)
    assert "khi chuyển đến nơi mới" in composed.direct, composed.text()


# ---------------------------------------------------------------- variants named by their title

CARD = "procedure/the-cu-dan"
CARD_TITLE = "Cấp thẻ cư dân cho người từ đủ 16 tuổi"
LINKED = "procedure/the-cu-dan-tich-hop"
LINKED_TITLE = "Tích hợp giấy tờ vào thẻ cư dân"
BENEFIT = "procedure/the-cu-dan-huong-tro-cap"
BENEFIT_TITLE = "Hưởng trợ cấp bằng thẻ cư dân"
CARD_DOCS = [
    passage(CARD, CARD_TITLE, "Khi nào thẻ cư dân bị thu hồi?", "Thẻ bị thu hồi khi bị tẩy "
            "xóa hoặc cấp sai quy định."),
    passage(CARD, CARD_TITLE, "Các bước thực hiện", "Các bước làm thẻ cư dân:\n"
            "1. Đặt lịch trên VNeID.\n2. Đến nơi làm để chụp ảnh.\n3. Nhận thẻ qua bưu điện."),
    passage(LINKED, LINKED_TITLE, "Lệ phí", "Tích hợp giấy tờ vào thẻ cư dân không mất phí; "
            "trường hợp đổi thẻ kèm theo thì nộp 50.000 đồng."),
    passage(LINKED, LINKED_TITLE, "Các bước thực hiện", "Các bước tích hợp:\n"
            "1. Mở Ví giấy tờ trên VNeID.\n2. Chọn giấy tờ cần tích hợp.\n3. Xác nhận."),
    passage(BENEFIT, BENEFIT_TITLE, "Các bước thực hiện", "Các bước nhận trợ cấp:\n"
            "1. Khai số tài khoản.\n2. Chờ cơ quan chi trả."),
]


def card_answer(answerer, question: str):
    return answerer.answer(question, hits(*CARD_DOCS), service="svc")


def test_a_syllable_shared_with_a_variant_title_does_not_ask_for_it(answerer):
    # "trường hợp" shares "hợp" with "Tích hợp": the card's own FAQ answers.
    composed = card_answer(answerer, "Trường hợp nào thẻ cư dân bị thu hồi?")
    assert composed.doc_id == CARD and "tẩy xóa" in composed.direct, composed.text()


def test_tone_marks_tell_a_variant_from_a_question_word(answerer):
    # "Hướng dẫn" folds like "Hưởng": not the benefit document.
    composed = card_answer(answerer, "Hướng dẫn làm thẻ cư dân")
    assert composed.doc_id == CARD, composed.text()
    assert card_answer(answerer, "Hưởng trợ cấp bằng thẻ cư dân thế nào?").doc_id == BENEFIT
    assert card_answer(answerer, "tich hop giay to vao the cu dan the nao").doc_id == LINKED


# ---------------------------------------------------------------- an answer spread over two entries

def test_the_other_half_of_the_question_joins_from_another_entry(answerer):
    pool = [
        passage(MAIN, MAIN_TITLE, "Điều kiện để đăng ký chỗ ở là gì?", "Điều kiện đăng ký chỗ "
                "ở là có chỗ ở hợp pháp và được chủ hộ đồng ý."),
        passage(MAIN, MAIN_TITLE, "Ở nhà thuê có đăng ký chỗ ở được không?", "Được, khi chủ "
                "nhà đồng ý và diện tích thuê từ 10 m2 mỗi người trở lên."),
        passage(MAIN, MAIN_TITLE, "Lệ phí", "Lệ phí đăng ký chỗ ở là 10.000 đồng."),
    ]
    composed = answer(answerer, "Điều kiện để người ở nhà thuê đăng ký chỗ ở là gì?", pool)
    assert "hợp pháp" in composed.text() and "10 m2" in composed.text(), composed.text()


def test_who_pays_nothing_is_answered_by_the_exemption_not_the_amount(answerer):
    pool = DOCUMENT + [passage(MAIN, MAIN_TITLE, "Những ai được miễn?", "Không phải nộp lệ phí khi đăng "
                               "ký chỗ ở cho trẻ em dưới 6 tuổi hoặc khi cơ quan nhập sai.")]
    composed = answer(answerer, "Trường hợp nào không phải nộp lệ phí đăng ký chỗ ở?", pool)
    assert "trẻ em dưới 6 tuổi" in composed.direct, composed.text()


def test_a_policy_on_administrative_procedures_is_not_a_steps_question():
    analysis = QuestionAnalyzer().analyze(
        "Nghị quyết về cắt giảm thủ tục hành chính trong lĩnh vực đất đai đặt mục tiêu ra sao?")
    assert not analysis.wants_steps


def test_an_faq_entry_that_is_the_question_beats_the_general_steps(answerer):
    pool = DOCUMENT + [passage(MAIN, MAIN_TITLE, "Xem chỗ ở đã được duyệt chưa trên VNeID?",
                               "Mở VNeID, vào mục Thông tin cư trú: trạng thái Đã duyệt hiện "
                               "kèm ngày duyệt.")]
    composed = answer(answerer, "Hướng dẫn xem chỗ ở đã được duyệt chưa trên VNeID", pool)
    assert not composed.steps and "Đã duyệt" in composed.direct, composed.text()


def test_the_list_item_that_answers_is_quoted_whole_and_first(answerer):
    items = "\n".join(f"- Nhóm {n}: mức thu {n}0.000 đồng cho mỗi lần đăng ký chỗ ở theo "
                      f"biểu phí chung của cơ quan công an cấp xã." for n in range(1, 6))
    pool = [passage(MAIN, MAIN_TITLE, "Lệ phí", "Biểu lệ phí:\n" + items + "\n- Miễn lệ phí "
                    "cho người khuyết tật, người cao tuổi, trẻ em và đồng bào ở xã đặc biệt "
                    "khó khăn theo quy định của biểu phí.")]
    composed = answer(answerer, "Người khuyết tật có được miễn lệ phí đăng ký chỗ ở không?", pool)
    assert "đặc biệt khó khăn" in composed.direct, composed.text()


def test_the_citation_names_the_legal_basis_of_the_quoted_section(answerer):
    from dataclasses import replace
    pool = [replace(p, instrument="Thông tư 99/2099/TT-BTC") if p.section == "Lệ phí" else p
            for p in DOCUMENT]
    composed = answer(answerer, "Lệ phí đăng ký chỗ ở bao nhiêu?", pool)
    assert composed.citation().endswith("mục Lệ phí; căn cứ: Thông tư 99/2099/TT-BTC")
    assert "căn cứ" not in answer(answerer, "Đăng ký chỗ ở mất mấy ngày?").citation()


def test_an_either_or_question_is_answered_by_the_sentence_that_weighs_both(answerer):
    pool = [
        passage(MAIN, MAIN_TITLE, "Ai có thể làm", "Người từ đủ 16 tuổi tự đăng ký chỗ ở. "
                "Ở nhà thuê thì đăng ký chỗ ở tạm; chỉ đăng ký chỗ ở lâu dài khi là chủ nhà."),
        passage(MAIN, MAIN_TITLE, "Chủ nhà thuê có đăng ký chỗ ở tạm giúp người thuê không?",
                "Được: chủ nhà thuê nộp một danh sách cho nhiều người."),
    ]
    composed = answer(answerer, "Ở nhà thuê thì đăng ký chỗ ở lâu dài hay đăng ký chỗ ở tạm?", pool)
    assert composed.direct.startswith("Ở nhà thuê thì đăng ký chỗ ở tạm"), composed.text()


def test_a_bare_how_to_gets_the_steps_even_when_an_faq_entry_repeats_it(answerer):
    pool = DOCUMENT + [passage(MAIN, MAIN_TITLE, "Đăng ký chỗ ở trực tuyến thế nào?",
                               "Bạn đăng nhập VNeID rồi làm theo hướng dẫn trên màn hình.")]
    composed = answer(answerer, "Đăng ký chỗ ở trực tuyến thế nào?", pool)
    assert composed.steps and "DK01" in composed.direct, composed.text()


def test_question_kinds_file_gives_every_kind_a_way_to_be_recognised():
    """The cue and answer vocabulary is data (question_kinds.yml): each kind a question can ask
    for has cue phrases, and each kind a sentence is checked for has an answer pattern."""
    from knowledge.answering import question

    assert set(question.ANSWER_CUES) == question.KINDS
    assert set(question.ANSWER_PATTERNS) == question.KINDS
    assert question.ANSWER_PATTERNS[FEE].search("le phi 100.000 dong")
    assert not question.ANSWER_PATTERNS[AGE].search("nop ho so tai cong an phuong")


def test_a_misspelt_kind_in_the_vocabulary_file_is_a_clear_error(tmp_path):
    from knowledge.answering import question

    bad = tmp_path / "kinds.yml"
    bad.write_text("fees:\n  cues: [le phi]\n  answers: ['dong']\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown kinds \\['fees'\\]"):
        question._load_kinds(bad)
