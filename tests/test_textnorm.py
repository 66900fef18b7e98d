"""Vietnamese text handling: folding, segmentation, aliases, out-of-scope cues."""
import unicodedata

from knowledge.bm25 import Analyzer
from knowledge.catalog import load_catalog
from knowledge.scope import load_scope_lexicon
from knowledge.segmentation import Segmenter, learn_segmenter
from knowledge.textnorm import fold, nfc, strip_diacritics, words


def test_fold_removes_tone_marks_and_d_bar():
    assert fold("Lý Lịch Tư Pháp") == "ly lich tu phap"
    assert fold("Đăng ký tạm trú") == "dang ky tam tru"


def test_nfc_joins_decomposed_input_and_drops_invisible_characters():
    decomposed = "ly\u0301 li\u0323ch"
    assert nfc(decomposed) == "lý lịch"
    assert nfc("tạm\u200b trú") == "tạm trú"
    assert words("tạm\u200btrú!") == ["tamtru"]


def test_strip_diacritics_keeps_case_like_a_plain_keyboard():
    assert strip_diacritics("Đổi CCCD ở Hà Nội") == "Doi CCCD o Ha Noi"
    assert strip_diacritics("ly\u0301 li\u0323ch") == "ly lich"  # decomposed input too


def test_folded_and_accented_questions_give_the_same_words():
    assert words("Làm lý lịch tư pháp ở đâu?") == words("lam ly lich tu phap o dau")


def test_segmentation_learnt_with_pyvi_also_splits_text_typed_without_tone_marks():
    segmenter = learn_segmenter(["Cấp Phiếu lý lịch tư pháp trực tuyến trên VNeID",
                                 "Đăng ký thường trú cho con"])
    assert segmenter.segment("ly lich tu phap online") == ["ly_lich", "tu_phap", "online"]
    assert segmenter.segment("Lý lịch tư pháp online") == ["ly_lich", "tu_phap", "online"]
    assert segmenter.segment("dang ky thuong tru cho con")[:2] == ["dang_ky", "thuong_tru"]


def test_segmentation_prefers_the_longest_known_word():
    segmenter = Segmenter([("nguoi", "nuoc", "ngoai"), ("nuoc", "ngoai")])
    assert segmenter.segment("người nước ngoài") == ["nguoi_nuoc_ngoai"]
    assert segmenter.segment("ra nước ngoài") == ["ra", "nuoc_ngoai"]


def test_bm25_terms_hold_syllables_words_and_no_question_boilerplate():
    analyzer = Analyzer(Segmenter([("ly", "lich"), ("tu", "phap"), ("nhu", "the", "nao")]))
    terms = analyzer.terms("Lý lịch tư pháp làm như thế nào?")
    assert {"ly", "lich", "phap", "ly_lich", "tu_phap", "lich__tu"} <= set(terms)
    assert "lam" not in terms  # a function word alone matches everything
    assert analyzer.content_words("Lý lịch tư pháp làm như thế nào?") == ["ly_lich", "tu_phap"]


def test_catalog_mentions_work_without_diacritics_and_with_abbreviations():
    catalog = load_catalog()
    assert {m.service_id for m in catalog.mentions("lam lltp online")} == {"ly-lich-tu-phap"}
    assert {m.service_id for m in catalog.mentions("Đổi CCCD hết hạn")} == {"can-cuoc"}
    assert {m.service_id for m in catalog.mentions("nhập khẩu cho con")} == {"thuong-tru"}
    assert {m.service_id for m in catalog.mentions("doi gplx het han")} == {"giay-phep-lai-xe"}
    assert {m.service_id for m in catalog.mentions("gia han the bhyt")} == {"bao-hiem-y-te"}
    assert {m.service_id for m in catalog.mentions("quen mat khau VNeID")} == {"vneid-tai-khoan"}


def test_a_longer_alias_wins_over_the_shorter_one_inside_it():
    catalog = load_catalog()
    mentions = catalog.mentions("xin giấy xác nhận số chứng minh nhân dân 9 số")
    assert [m.service_id for m in mentions] == ["xac-nhan-so-dinh-danh"]


def test_aliases_with_a_slash_match_as_typed():
    catalog = load_catalog()
    assert "an-sinh-xa-hoi" in {m.service_id for m in catalog.mentions("nhận quà 2/9 khi nào")}


def test_out_of_scope_cues_recognise_neighbouring_topics_with_and_without_tone_marks():
    lexicon = load_scope_lexicon()
    weight, cue = lexicon.strength("Vượt đèn đỏ bị phạt bao nhiêu tiền?")
    assert weight == 1.0 and cue.topic == "traffic-offence"
    assert lexicon.strength("vuot den do bi phat bao nhieu tien")[1].topic == "traffic-offence"
    assert lexicon.strength("hàng hóa nhập khẩu cần giấy phép gì")[1].topic == "trade"
    assert lexicon.strength("làm thẻ căn cước cho con")[0] == 0.0


def test_a_cue_our_documents_use_only_counts_as_weak():
    lexicon = load_scope_lexicon().weakened(["Sổ tiết kiệm và ngân hàng"])
    assert lexicon.strength("mất sổ tiết kiệm làm sao")[0] == 0.5
    assert lexicon.strength("lãi suất vay mua nhà")[0] == 1.0


def test_a_passing_mention_in_one_document_keeps_a_cue_strong():
    bodies = ["Người nước ngoài có thẻ tạm trú cũng được cấp tài khoản."]
    assert load_scope_lexicon().weakened([], bodies).strength("gia hạn thẻ tạm trú")[0] == 1.0
    assert load_scope_lexicon().weakened([], bodies * 3).strength("gia hạn thẻ tạm trú")[0] == 0.5


def _fold_by_decomposition(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower().replace("đ", "d")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", bare)


def test_fast_fold_equals_folding_by_decomposition_for_every_vietnamese_letter_and_other_scripts():
    # fold() uses a translation table (a third of an answer's time went into folding);
    # it must give exactly what decomposing and dropping marks gives.
    vowels = "aăâeêioôơuưy"
    tones = ["", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"]
    letters = [unicodedata.normalize("NFC", v + t) for v in vowels for t in tones] + ["đ"]
    samples = letters + [c.upper() for c in letters] + [
        "Lý lịch Tư pháp", "ĐĂNG KÝ THƯỜNG TRÚ", "Cà phê ﬁ ά ゴ ö ñ ç", "e\u0301\u0323 o\u0302\u0300"]
    for text in samples:
        assert fold(text) == _fold_by_decomposition(text), text
    assert fold("Đăng ký khai sinh") == "dang ky khai sinh"
