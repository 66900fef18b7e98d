"""Phiếu lý lịch tư pháp: the one service whose documents depend on a choice.

Which phiếu (số 1 or số 2) and for whom (oneself or a relative) change what a citizen must
prepare: Phiếu số 1 may be requested on someone's behalf, Phiếu số 2 may not (Luật Lý lịch tư
pháp 2009, Điều 45-46). Before answering "what documents do I need", the `lltp_form` asks.
"""
from __future__ import annotations

LLTP = "ly-lich-tu-phap"
TYPE_SLOT, REQUESTER_SLOT = "lltp_type", "lltp_requester"
# Aspects whose answer differs with the choice.
CHOICE_ASPECTS = {"documents"}

TYPE_WORDS = {"phieu_1": "Phiếu lý lịch tư pháp số 1", "phieu_2": "Phiếu lý lịch tư pháp số 2"}
REQUESTER_WORDS = {"ban_than": "cho bản thân", "nguoi_than": "ủy quyền cho người khác làm thay"}


def needs_choice(service: str | None, aspect: str | None, requester_now: str | None,
                 slots: dict) -> bool:
    """Ask before answering: LLTP documents, or LLTP for someone else, with a choice missing."""
    if service != LLTP:
        return False
    if slots.get(TYPE_SLOT) and slots.get(REQUESTER_SLOT):
        return False
    return aspect in CHOICE_ASPECTS or requester_now == "nguoi_than"


def choice_query(lltp_type: str | None, requester: str | None) -> str:
    return " ".join(w for w in (TYPE_WORDS.get(lltp_type or ""),
                                REQUESTER_WORDS.get(requester or "")) if w)


def choice_note(lltp_type: str | None, requester: str | None) -> str:
    """One sentence that applies the citizen's choice before the cited passage."""
    if not lltp_type:
        return ("Vâng, tôi trả lời chung cho cả hai loại phiếu; lưu ý chỉ Phiếu số 1 mới được "
                "nhờ người khác làm thay.")
    chosen = TYPE_WORDS[lltp_type]
    if requester == "nguoi_than" and lltp_type == "phieu_2":
        return (f"Lưu ý: {chosen} không được ủy quyền cho người khác xin thay; người cần phiếu "
                "phải tự làm thủ tục (ví dụ trên tài khoản VNeID của chính họ). Nếu chỉ cần "
                "Phiếu số 1, người thân có thể làm thay.")
    if requester == "nguoi_than":
        return (f"{chosen} được làm thay: người làm thay cần văn bản ủy quyền; nếu là cha, mẹ, "
                "vợ, chồng hoặc con của người cần phiếu thì không cần văn bản ủy quyền.")
    return f"Anh/chị xin {chosen} cho bản thân."
