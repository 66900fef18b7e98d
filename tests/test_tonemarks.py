"""Tone-mark restoration for questions typed without Vietnamese marks (knowledge/tonemarks.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.tonemarks import ToneRestorer, is_unmarked, nlu_texts, restorer_for

DOCS = Path(__file__).resolve().parent.parent / "knowledge" / "documents"

OWN_TEXTS = [
    "Người thuê trọ phải đăng ký tạm trú trong ba mươi ngày.",
    "Công dân đăng ký thường trú tại nơi ở mới; tạm dừng dịch vụ khi đi xa.",
    "Cấp lại thẻ căn cước khi bị mất: nộp hồ sơ ở công an xã.",
    "Căn nhà cần sửa. Cán bộ cần kiểm tra.",
]


def test_unmarked_text_is_recognised():
    assert is_unmarked("lam lai can cuoc bi mat o dau")
    assert is_unmarked("LLTP lam o dau?")
    assert not is_unmarked("làm lại căn cước bị mất ở đâu")
    assert not is_unmarked("dang ky o đâu")  # one mark is enough: the citizen types marks
    assert not is_unmarked("123 456")  # no letters


def test_marks_restored_from_small_own_corpus():
    restorer = ToneRestorer(OWN_TEXTS)
    assert restorer.restore("dang ky tam tru") == "đăng ký tạm trú"
    assert restorer.restore("Dang ky thuong tru") == "Đăng ký thường trú"
    # The context decides between forms of one folded syllable ("căn", "cần", "cán").
    assert restorer.restore("cap lai the can cuoc bi mat") == "cấp lại thẻ căn cước bị mất"
    assert restorer.restore("can bo can kiem tra") == "cán bộ cần kiểm tra"


def test_unknown_words_case_and_punctuation_are_kept():
    restorer = ToneRestorer(OWN_TEXTS)
    assert restorer.restore("VNeID: dang ky tam tru, nhanh?") == "VNeID: đăng ký tạm trú, nhanh?"
    assert restorer.restore("xyz abc") == "xyz abc"
    # Text with marks is never changed.
    assert restorer.restore("đăng ký tam tru") == "đăng ký tam tru"


@pytest.fixture(scope="module")
def domain_restorer():
    texts = [p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("**/*.md"))]
    return restorer_for(texts)


@pytest.mark.parametrize("typed, expected", [
    ("lam lai can cuoc bi mat o dau", "làm lại căn cước bị mất ở đâu"),
    ("dang ky tam tru cho nguoi thue tro", "đăng ký tạm trú cho người thuê trọ"),
    ("ho chieu het han lam lai bao lau", "hộ chiếu hết hạn làm lại bao lâu"),
    ("Xin cap phieu ly lich tu phap online", "Xin cấp phiếu lý lịch tư pháp online"),
    ("thu tuc dang ky khai sinh cho con", "thủ tục đăng ký khai sinh cho con"),
])
def test_domain_questions_get_their_marks_back(domain_restorer, typed, expected):
    assert domain_restorer.restore(typed) == expected


def test_nlu_examples_feed_the_statistics():
    texts = nlu_texts()
    assert len(texts) > 50
    assert not any("](" in t or "]{" in t for t in texts), "entity annotations are removed"
