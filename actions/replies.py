"""How replies look around the answer (knowledge/answering composes the answer itself): the
decline and clarify messages, buttons, the metadata payload."""
from __future__ import annotations

import json

from knowledge.answering import ASPECT_BUTTONS
from knowledge.catalog import Catalog
from trolyao.core.protocol import META_KEY

def decline_message(settings, unavailable: bool = False, topic: str = "") -> str:
    if unavailable:
        lead = "Xin lỗi, kho thông tin của trợ lý đang được cập nhật nên tôi chưa trả lời được ngay."
    elif topic:
        lead = (f"Xin lỗi, câu hỏi về {topic} nằm ngoài phạm vi của tôi: tôi chỉ hướng dẫn các "
                "dịch vụ công trực tuyến và Đề án 06.")
    else:
        lead = ("Xin lỗi, tôi chưa có thông tin đáng tin cậy để trả lời câu hỏi này, "
                "nên không muốn đoán.")
    return (f"{lead} Anh/chị có thể tra cứu trên [Cổng Dịch vụ công quốc gia]({settings.portal_url}) "
            f"hoặc [Cổng dịch vụ công Hà Nội]({settings.hanoi_portal_url}), gọi tổng đài 18001096, "
            "hoặc hỏi Tổ công nghệ số cộng đồng, bộ phận một cửa nơi cư trú.")


def service_buttons(hits, catalog: Catalog, limit: int = 3) -> list[dict]:
    seen: list[str] = []
    for hit in hits:
        if hit.passage.service not in seen:
            seen.append(hit.passage.service)
        if len(seen) >= limit:
            break
    return candidate_buttons(seen, catalog)


def candidate_buttons(service_ids: list[str], catalog: Catalog, limit: int = 3) -> list[dict]:
    """One button per candidate service; clicking it asks about that service."""
    return [{"title": catalog.short_name(s), "payload": f'/ask_procedure{{"service":"{s}"}}'}
            for s in service_ids[:limit]]


def aspect_buttons(service: str, asked: str | None, catalog: Catalog,
                   limit: int = 4) -> list[dict]:
    """Under a procedure's answer: the other aspects of the same service, one click away."""
    if service not in catalog or catalog.by_id[service].kind != "procedure":
        return []
    buttons = []
    for aspect, title in ASPECT_BUTTONS:
        if aspect == asked:
            continue
        entities = json.dumps({"service": service, "aspect": aspect}, separators=(",", ":"))
        buttons.append({"title": title, "payload": f"/ask_procedure{entities}"})
    return buttons[:limit]


def clarify_message(has_candidates: bool) -> str:
    if has_candidates:
        return ("Tôi chưa chắc anh/chị đang hỏi về thủ tục nào. Anh/chị chọn một thủ tục dưới "
                "đây, hoặc hỏi lại kèm tên thủ tục, ví dụ: \"Đăng ký tạm trú online cần giấy tờ "
                "gì?\"")
    return ("Tôi chưa hiểu rõ câu hỏi. Anh/chị hỏi lại kèm tên thủ tục giúp tôi, ví dụ: "
            "\"Làm căn cước cho con dưới 14 tuổi thế nào?\"")


def handoff_message(settings, location: str | None = None) -> str:
    """Where a person can help: the national hotline, the community digital team, one-stop desks."""
    where = f" tại {location}" if location else " ở phường, xã nơi anh/chị sinh sống"
    return ("Tôi xin phép chuyển anh/chị đến người hỗ trợ trực tiếp để được giúp chính xác hơn:\n"
            "- Tổng đài Cổng Dịch vụ công quốc gia: 18001096 (miễn phí).\n"
            f"- Tổ công nghệ số cộng đồng{where}: hướng dẫn tận nơi cài VNeID, nộp hồ sơ "
            "trực tuyến.\n"
            "- Bộ phận một cửa (Trung tâm Phục vụ hành chính công) của phường, xã.\n"
            f"- Tra cứu, gửi câu hỏi trên [Cổng Dịch vụ công quốc gia]({settings.portal_url}) hoặc "
            f"[Cổng dịch vụ công Hà Nội]({settings.hanoi_portal_url}).")


def location_note(location: str) -> str:
    return (f"Ở {location}, anh/chị có thể nhờ Tổ công nghệ số cộng đồng hoặc bộ phận một cửa "
            "của phường, xã hướng dẫn trực tiếp.")


FEEDBACK_QUESTION = "Câu trả lời có hữu ích không?"
FEEDBACK_BUTTONS = [
    {"title": "👍 Có", "payload": '/give_feedback{"feedback":"positive"}'},
    {"title": "👎 Chưa", "payload": '/give_feedback{"feedback":"negative"}'},
]


def meta_payload(hits, fallback: bool, quoted=None) -> dict:
    """Sources (one per document, best first) and the chosen passages, for the API and logs.

    `quoted`: the ComposedAnswer; its quoted passage is listed first, as the citizen reads it."""
    sources, passages, docs = [], [], set()
    for hit in hits:
        if hit.passage.doc_id in docs:
            continue
        docs.add(hit.passage.doc_id)
        sources.append(hit.source())
        text, section = hit.passage.text, hit.passage.section
        if quoted is not None and hit.passage.doc_id == quoted.doc_id and not passages:
            # What the reply quotes, from the section it quotes first.
            section = quoted.section
            text = "\n".join(u.text for u in quoted.units) or text
        passages.append({"doc_id": hit.passage.doc_id, "section": section,
                         "text": text, "score": round(hit.score, 4)})
    if fallback:
        # A declined answer cites nothing; the candidates are suggestions only.
        return {META_KEY: {"sources": [], "candidates": sources[:3], "passages": passages[:3],
                           "fallback": True}}
    return {META_KEY: {"sources": sources[:5], "passages": passages[:5], "fallback": False}}
