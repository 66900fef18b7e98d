"""Search over the real knowledge base (knowledge/documents, real FAISS, real embedding model)."""
from __future__ import annotations

import pytest

from knowledge.textnorm import strip_diacritics

pytestmark = pytest.mark.slow


def top_services(kb, question: str, k: int = 8) -> list[str]:
    services: list[str] = []
    for hit in kb.search(question, k=k):
        if hit.passage.service not in services:
            services.append(hit.passage.service)
    return services


@pytest.mark.parametrize("question, service", [
    ("Làm lý lịch tư pháp trên VNeID thế nào?", "ly-lich-tu-phap"),
    ("lam lltp online mat bao lau", "ly-lich-tu-phap"),
    ("đổi cccd hết hạn ở đâu", "can-cuoc"),
    ("doi gplx online duoc khong", "giay-phep-lai-xe"),
    ("gia hạn thẻ bhyt cho cả nhà", "bao-hiem-y-te"),
    ("quên mật khẩu vneid phải làm sao", "vneid-tai-khoan"),
    # Both register a newborn's permanent residence: thường trú, or the liên thông procedure
    # (khai-sinh id) whose document declares the alias "nhập khẩu cho con mới sinh".
    ("nhập khẩu cho con mới sinh vào nhà ông bà", ("thuong-tru", "khai-sinh")),
    ("thuê trọ có phải khai báo tạm trú không", "tam-tru"),
    ("xin giấy CT07 ở đâu", "xac-nhan-cu-tru"),
    ("làm hộ chiếu online hết bao nhiêu tiền", "ho-chieu"),
])
def test_the_named_service_comes_first(kb, question, service):
    accepted = service if isinstance(service, tuple) else (service,)
    assert top_services(kb, question)[0] in accepted, top_services(kb, question)


@pytest.mark.parametrize("question", [
    "Làm lý lịch tư pháp trên VNeID thế nào?",
    "Thủ tục đăng ký khai sinh cho con ở phường",
    "Mất thẻ căn cước thì xin cấp lại ở đâu?",
    "Đăng ký sang tên xe máy cũ cần giấy tờ gì?",
])
def test_questions_typed_without_tone_marks_find_the_same_services(kb, question):
    # The service answered is the same; the neighbours offered as buttons may differ, because
    # E5 reads the marks the restorer put back (docs/eval.md: Hit@3 unchanged over dev.jsonl).
    marked, unmarked = top_services(kb, question), top_services(kb, strip_diacritics(question))
    assert unmarked[0] == marked[0], (marked, unmarked)
    assert len(set(unmarked[:3]) & set(marked[:3])) >= 2, (marked, unmarked)


def test_a_question_without_a_service_name_is_found_from_the_documents(kb):
    # No alias of the catalog here: the passages' words carry it.
    assert "khai-sinh" in top_services(kb, "vợ tôi vừa sinh em bé, cần đăng ký gì cho cháu")[:3]


def test_sources_keep_the_contract_best_first(kb):
    hits = kb.search("đăng ký tạm trú online", k=8)
    sources = [h.source() for h in hits]
    assert all(set(s) == {"doc_id", "title", "service", "url", "score"} for s in sources)
    services_in_order = [s["service"] for s in sources]
    # Passages of the best service come first, then the next services.
    assert services_in_order[0] == "tam-tru"
    assert all(0.0 <= s["score"] <= 1.0 for s in sources)
    assert sources[0]["score"] == max(s["score"] for s in sources)


def test_hits_carry_the_evidence_the_decision_needs(kb):
    hit = kb.search("Lý lịch tư pháp số 1 làm ở đâu", k=3)[0]
    assert hit.alias == 1.0 and hit.service_rank == 1
    assert hit.coverage > 0.5 and hit.out_of_scope == 0.0
    off = kb.search("vượt đèn đỏ bị phạt bao nhiêu tiền", k=3)[0]
    assert off.out_of_scope == 1.0 and off.out_of_scope_topic


def test_services_filter_reads_only_the_asked_service(kb):
    hits = kb.search("mất bao lâu", k=5, services=["ho-chieu"])
    assert hits and {h.passage.service for h in hits} == {"ho-chieu"}


def test_the_top_service_contributes_several_passages_for_the_asked_aspect(kb):
    hits = kb.search("lệ phí đăng ký thường trú là bao nhiêu", k=8)
    sections = [h.passage.section for h in hits if h.passage.service == "thuong-tru"]
    assert len(sections) >= 2
    assert any("Lệ phí" in s for s in sections), sections


def test_empty_or_blank_questions_return_nothing(kb):
    assert kb.search("   ") == []


# ---------------------------------------------------------------- fusion and diversity (no index)
def _signals(lexical, card, dense, named=()):
    import numpy as np

    from knowledge.search import Signals

    flags = np.zeros(len(card), dtype="float32")
    return Signals(np.array(lexical, dtype="float32"), np.array(card, dtype="float32"),
                   np.array(dense, dtype="float32"), list(named), flags)


def test_named_service_wins_the_fusion_and_weights_scale_to_one():
    import numpy as np

    from knowledge.search import FusionWeights, fuse_services

    # Passages 0-1 belong to service 0, passage 2 to service 1; service 0 leads every signal.
    services = np.array([0, 0, 1])
    index = {"a": 0, "b": 1}
    plain = fuse_services(_signals([5, 1, 2], [3, 1], [0.9, 0.2, 0.5]), services, index,
                          FusionWeights())
    assert plain[0] == pytest.approx(1.0) and plain[1] < plain[0]
    # A citizen naming service b by its alias puts it first although b ranks second elsewhere.
    named = fuse_services(_signals([5, 1, 2], [3, 1], [0.9, 0.2, 0.5], named=["b"]), services,
                          index, FusionWeights(named=5.0))
    assert named[1] > named[0]


def test_dense_side_left_out_when_not_used():
    import numpy as np

    from knowledge.search import FusionWeights, fuse_services, within_service

    signals = _signals([5, 1, 2], [3, 1], [0.0, 0.0, 0.99])
    signals.dense_used = False
    scores = fuse_services(signals, np.array([0, 0, 1]), {"a": 0, "b": 1}, FusionWeights())
    assert scores[0] == pytest.approx(1.0), "a dense side that was not computed cannot vote"
    within, saturated = within_service(signals, FusionWeights())
    assert list(within) == list(saturated)


def test_sources_offer_the_top_service_then_two_others():
    import numpy as np

    from knowledge.search import diverse_order

    # Service 0 has five passages (a long FAQ), services 1 and 2 one each.
    services = np.array([0, 0, 0, 0, 0, 1, 2])
    within = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    picked = diverse_order([0, 1, 2], services, within, k=5)
    assert picked == [0, 1, 2, 5, 6], "three passages of the answer's service, then two services"
    only_b = diverse_order([0, 1, 2], services, within, k=5, allowed={1})
    assert only_b == [5]
