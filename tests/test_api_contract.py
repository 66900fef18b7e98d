"""The HTTP contract of /api/chat, the Rasa REST webhook and /healthz, through the real agent."""
from __future__ import annotations

import uuid

import pytest


def new_sender() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def test_lltp_question_gets_a_cited_vietnamese_answer(chat):
    reply = chat("Làm lý lịch tư pháp trên VNeID thế nào?", new_sender())
    assert set(reply) >= {"sender", "messages", "sources", "intent", "fallback"}
    assert reply["fallback"] is False
    assert reply["sources"], "an answer must cite at least one source"
    assert reply["sources"][0]["service"] == "ly-lich-tu-phap"
    text = " ".join(m["text"] for m in reply["messages"])
    assert "Nguồn:" in text and "lý lịch tư pháp" in text.lower()
    first = reply["sources"][0]
    assert set(first) == {"doc_id", "title", "service", "url", "score"}
    # The document the reply quotes comes first (its title is in the reply's "Nguồn:" line),
    # the other sources follow, best first.
    assert f"[{first['title']}]({first['url']})" in text
    scores = [s["score"] for s in reply["sources"][1:]]
    assert scores == sorted(scores, reverse=True), "other sources must be ordered best first"
    assert reply["intent"]["name"] == "ask_procedure"
    assert 0.0 <= reply["intent"]["confidence"] <= 1.0


def test_answer_without_diacritics_finds_the_same_service(chat):
    reply = chat("lam ly lich tu phap tren vneid the nao", new_sender())
    assert reply["sources"][0]["service"] == "ly-lich-tu-phap"


def test_greeting_is_polite_vietnamese_without_sources(chat):
    reply = chat("xin chào", new_sender())
    assert reply["intent"]["name"] == "greet"
    assert "Xin chào" in reply["messages"][0]["text"]
    assert reply["sources"] == [] and reply["fallback"] is False


def test_out_of_scope_is_declined_with_official_channel(chat):
    reply = chat("giá vàng hôm nay bao nhiêu", new_sender())
    assert reply["fallback"] is True
    assert reply["sources"] == []
    assert "dichvucong.gov.vn" in reply["messages"][0]["text"]


def test_rest_webhook_is_rasa_compatible(client):
    sender = new_sender()
    response = client.post("/webhooks/rest/webhook",
                           json={"sender": sender, "message": "đăng ký tạm trú online thế nào"})
    assert response.status_code == 200
    body = response.get_json()
    assert isinstance(body, list) and body
    assert all(m["recipient_id"] == sender for m in body)
    assert any("text" in m for m in body)


def test_healthz_reports_model_and_index_versions(client, assistant):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["model"] == assistant.model_version
    assert body["index"] == assistant.knowledge.version


def test_healthz_is_503_while_loading(settings):
    from webhook.app import create_app

    app = create_app(assistant=None, settings=settings, start=False)
    assert app.test_client().get("/healthz").status_code == 503


@pytest.mark.parametrize("body, content_type, code", [
    (b"", "application/json", "empty_body"),
    (b"{not json", "application/json", "invalid_json"),
    (b"[1, 2]", "application/json", "invalid_json"),
    (b'{"message": "xin chao"}', "application/json", "missing_sender"),
    (b'{"sender": "a"}', "application/json", "missing_message"),
    (b'{"sender": 5, "message": "xin chao"}', "application/json", "invalid_sender"),
    (b'{"sender": "a b/c", "message": "xin chao"}', "application/json", "invalid_sender"),
    (b'{"sender": "a", "message": 42}', "application/json", "invalid_message"),
    (b'{"sender": "a", "message": ["x"]}', "application/json", "invalid_message"),
    (b'{"sender": "a", "message": "   "}', "application/json", "empty_message"),
    (b'{"sender": "a", "message": "\xff\xfe"}', "application/json", "invalid_utf8"),
    (b'sender=a&message=hi', "application/x-www-form-urlencoded", "invalid_json"),
])
def test_bad_requests_get_a_clear_json_400(client, body, content_type, code):
    response = client.post("/api/chat", data=body, content_type=content_type)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_too_long_message_is_refused_with_the_limit(client, settings):
    message = "a" * (settings.max_message_chars + 1)
    response = client.post("/api/chat", json={"sender": "a", "message": message})
    assert response.status_code == 400
    assert str(settings.max_message_chars) in response.get_json()["error"]["message"]


def test_huge_body_is_refused_before_parsing(client):
    response = client.post("/api/chat", data=b"x" * (1024 * 1024), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"]


def test_conversation_continues_for_the_same_sender(chat):
    sender = new_sender()
    chat("Làm lý lịch tư pháp online thế nào?", sender)
    follow_up = chat("lệ phí bao nhiêu?", sender)
    assert follow_up["sources"], follow_up
    assert follow_up["sources"][0]["service"] == "ly-lich-tu-phap"
