from knowledge.catalog import load_catalog
from knowledge.textnorm import fold, nfc, words


def test_fold_removes_tone_marks_and_d_bar():
    assert fold("Lý Lịch Tư Pháp") == "ly lich tu phap"
    assert fold("Đăng ký tạm trú") == "dang ky tam tru"


def test_nfc_joins_decomposed_input_and_drops_invisible_characters():
    decomposed = "ly\u0301 li\u0323ch"
    assert nfc(decomposed) == "lý lịch"
    assert nfc("tạm\u200b trú") == "tạm trú"
    assert words("tạm\u200btrú!") == ["tamtru"]


def test_catalog_mentions_work_without_diacritics_and_with_abbreviations():
    catalog = load_catalog()
    assert {m.service_id for m in catalog.mentions("lam lltp online")} == {"ly-lich-tu-phap"}
    assert {m.service_id for m in catalog.mentions("Đổi CCCD hết hạn")} == {"can-cuoc"}
    assert {m.service_id for m in catalog.mentions("nhập khẩu cho con")} == {"thuong-tru"}
