"""GET /metrics over the real app and agent: what operators graph goes up by exactly what
happened (requests by route and status, outcomes, feedback, rate-limited requests, answer
latency), versions are shown, and only Prometheus's token may read it.
(Under gunicorn with two workers: tests/test_webhook_gunicorn.py.)"""
from __future__ import annotations

import time
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow

LLTP_QUESTION = "Làm lý lịch tư pháp trên VNeID thế nào?"


def new_sender() -> str:
    return f"m-{uuid.uuid4().hex[:12]}"


def scrape(client, token: str) -> dict:
    """{(sample name, sorted labels): value} of one scrape."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before: dict, after: dict, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def post_chat(client, message: str, sender: str, path: str = "/api/chat"):
    return client.post(path, json={"sender": sender, "message": message})


def test_requests_outcomes_and_latency_go_up_by_what_was_sent(client, settings):
    token = settings.admin_token
    before = scrape(client, token)
    answered = [post_chat(client, LLTP_QUESTION, new_sender()) for _ in range(3)]
    declined = post_chat(client, "giá vàng hôm nay bao nhiêu", new_sender())
    clarified = post_chat(client, "asdkj qwe zxc", new_sender())
    handed_off = post_chat(client, "cho tôi gặp người thật", new_sender())
    rest = post_chat(client, "đăng ký tạm trú online thế nào", new_sender(), "/webhooks/rest/webhook")
    bad = [client.post("/api/chat", data=b"{not json", content_type="application/json"),
           client.post("/api/chat", json={"sender": "a"})]
    assert all(r.status_code == 200 for r in answered + [declined, clarified, handed_off, rest])
    assert [r.status_code for r in bad] == [400, 400]
    after = scrape(client, token)

    chat = {"endpoint": "/api/chat", "method": "POST"}
    assert delta(before, after, "trolyao_http_requests_total", **chat, status="200") == 6
    assert delta(before, after, "trolyao_http_requests_total", **chat, status="400") == 2
    assert delta(before, after, "trolyao_http_requests_total", endpoint="/webhooks/rest/webhook",
                 method="POST", status="200") == 1
    # The scrape before this one is counted too.
    assert delta(before, after, "trolyao_http_requests_total", endpoint="/metrics", method="GET",
                 status="200") == 1
    assert delta(before, after, "trolyao_answers_total", outcome="answered") == 4
    assert delta(before, after, "trolyao_answers_total", outcome="declined") == 1
    assert delta(before, after, "trolyao_answers_total", outcome="clarified") == 1
    assert delta(before, after, "trolyao_answers_total", outcome="handed_off") == 1
    # Only answered messages are timed (bad requests never reach the assistant).
    assert delta(before, after, "trolyao_answer_seconds_count", endpoint="/api/chat") == 6
    assert delta(before, after, "trolyao_answer_seconds_count", endpoint="/webhooks/rest/webhook") == 1
    assert delta(before, after, "trolyao_answer_seconds_bucket", endpoint="/api/chat", le="+Inf") == 6
    assert delta(before, after, "trolyao_answer_seconds_sum", endpoint="/api/chat") > 0


def test_feedback_buttons_are_counted_up_and_down(client, settings):
    def rate(verdict_index: int) -> None:
        sender = new_sender()
        reply = post_chat(client, LLTP_QUESTION, sender).get_json()
        buttons = [b for m in reply["messages"] for b in m.get("buttons", [])
                   if b["payload"].startswith("/give_feedback")]
        assert len(buttons) == 2, reply
        assert post_chat(client, buttons[verdict_index]["payload"], sender).status_code == 200

    before = scrape(client, settings.admin_token)
    rate(0)  # 👍
    rate(1)  # 👎
    rate(1)
    after = scrape(client, settings.admin_token)
    assert delta(before, after, "trolyao_feedback_total", verdict="up") == 1
    assert delta(before, after, "trolyao_feedback_total", verdict="down") == 2


def test_rate_limited_requests_are_counted(make_client, settings):
    client = make_client(rate_limit="2/60")
    addr = {"REMOTE_ADDR": "10.18.1.1"}
    before = scrape(client, settings.admin_token)
    statuses = [client.post("/api/chat", json={"sender": new_sender(), "message": "xin chào"},
                            environ_base=addr).status_code for _ in range(4)]
    after = scrape(client, settings.admin_token)
    assert statuses == [200, 200, 429, 429]
    assert delta(before, after, "trolyao_rate_limited_requests_total", endpoint="/api/chat") == 2
    assert delta(before, after, "trolyao_http_requests_total", endpoint="/api/chat", method="POST",
                 status="429") == 2


def test_model_and_index_versions_and_index_age_are_shown(client, settings, assistant):
    samples = scrape(client, settings.admin_token)
    assert value(samples, "trolyao_model_info", version=assistant.model_version) == 1
    assert value(samples, "trolyao_index_info", version=assistant.knowledge.version) == 1
    built = value(samples, "trolyao_index_built_timestamp_seconds")
    assert 0 < built <= time.time()
    age = value(samples, "trolyao_index_age_seconds")
    assert 0 <= age <= time.time() - built + 1


def test_metrics_need_prometheus_token(make_client, settings):
    addr = {"REMOTE_ADDR": "10.18.2.1"}
    client = make_client(metrics_token="prometheus-token-7c1d")
    assert client.get("/metrics", environ_base=addr).status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"}, environ_base=addr)
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.get_json()["error"]["code"] == "unauthorized"
    # With its own token set, the admin token does not read metrics (and vice versa).
    admin = client.get("/metrics", headers={"Authorization": f"Bearer {settings.admin_token}"},
                       environ_base=addr)
    assert admin.status_code == 401
    assert scrape(client, "prometheus-token-7c1d")
    disabled = make_client(admin_token="", metrics_token="").get("/metrics")
    assert disabled.status_code == 404
    assert "TROLYAO_METRICS_TOKEN" in disabled.get_json()["error"]["message"]
