"""TROLYAO_LOG_FORMAT=json: one JSON object per line with the request id and the conversation's
stored hash, never the sender id a client sent; what citizens type only at DEBUG, redacted.
Request ids: the client's when safe, else a new one, on every response."""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
import uuid

import pytest

pytestmark = pytest.mark.slow

PHONE, CCCD = "0912345678", "001099012345"


@pytest.fixture()
def json_logs(assistant, settings):
    """An app built with log_format=json at `level`, its log lines captured (real handler,
    configured by create_app through runtime.configure_logging)."""
    from trolyao.core import runtime
    from webhook.app import create_app

    root = logging.getLogger()
    saved_level = root.level
    buffer = io.StringIO()
    runtime.configure_logging("INFO", stream=buffer)
    ours = root.handlers[-1]

    def make(level: str):
        app = create_app(assistant=assistant, settings=dataclasses.replace(
            settings, log_format="json", log_level=level))
        return app.test_client(), buffer
    yield make
    root.removeHandler(ours)
    runtime.configure_logging("INFO")  # plain handlers back to text
    root.setLevel(saved_level)


def lines_of(buffer: io.StringIO) -> list[dict]:
    text = buffer.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]  # every line is one JSON object


def test_debug_json_lines_carry_request_id_and_sender_hash_never_the_sender(json_logs, assistant):
    client, buffer = json_logs("DEBUG")
    sender = f"raw-citizen-{uuid.uuid4().hex[:8]}"
    response = client.post("/api/chat", headers={"X-Request-ID": "req-18.abc:1"}, json={
        "sender": sender, "message": f"Làm lý lịch tư pháp, số điện thoại {PHONE}, CCCD {CCCD}"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-18.abc:1"

    entries = lines_of(buffer)
    for entry in entries:
        assert {"timestamp", "level", "logger", "message"} <= set(entry), entry
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["timestamp"])
    mine = [e for e in entries if e.get("request_id") == "req-18.abc:1"]
    asked = [e for e in mine if e["logger"] == "webhook.blueprints.chat"]
    assert asked and asked[0]["level"] == "DEBUG"
    assert "lý lịch tư pháp" in asked[0]["message"]  # debug: the text, redacted
    access = [e for e in mine if e["logger"] == "trolyao.access"]
    assert len(access) == 1 and access[0]["status"] == 200 and access[0]["path"] == "/api/chat"
    assert access[0]["method"] == "POST" and access[0]["duration_ms"] > 0
    assert all(e["sender_hash"] == assistant.conversation_id(sender) for e in asked + access)
    everything = buffer.getvalue()
    assert sender not in everything, "the raw sender id must never be logged"
    assert PHONE not in everything and CCCD not in everything


def test_info_json_lines_do_not_contain_what_citizens_type(json_logs):
    client, buffer = json_logs("INFO")
    response = client.post("/api/chat", json={"sender": f"s-{uuid.uuid4().hex[:8]}",
                                              "message": "đăng ký tạm trú cho sinh viên thuê trọ"})
    assert response.status_code == 200
    entries = lines_of(buffer)
    assert any(e["logger"] == "trolyao.access" and e["request_id"] == response.headers["X-Request-ID"]
               for e in entries)
    assert "sinh viên thuê trọ" not in buffer.getvalue()
    assert not any(e["level"] == "DEBUG" for e in entries)


@pytest.mark.parametrize("given", [None, "", "has spaces", "quote\"d", "semi;colon", "x" * 129])
def test_missing_or_unsafe_request_ids_are_replaced(client, given):
    headers = {} if given is None else {"X-Request-ID": given}
    first = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    second = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_every_response_carries_the_request_id_even_errors(client):
    for response in (client.get("/no-such-page", headers={"X-Request-ID": "r1"}),
                     client.post("/api/chat", data=b"{", content_type="application/json",
                                 headers={"X-Request-ID": "r1"}),
                     client.get("/widget.js", headers={"X-Request-ID": "r1"})):
        assert response.headers["X-Request-ID"] == "r1"


def test_portal_pages_may_read_the_request_id(assistant, settings):
    from webhook.app import create_app

    portal = "https://dichvucong.hanoi.gov.vn"
    app = create_app(assistant=assistant, settings=dataclasses.replace(settings, cors_origins=[portal]))
    response = app.test_client().post("/api/chat", headers={"Origin": portal}, json={
        "sender": f"c-{uuid.uuid4().hex[:8]}", "message": "xin chào"})
    assert response.headers["Access-Control-Allow-Origin"] == portal
    assert response.headers["Access-Control-Expose-Headers"] == "X-Request-ID"
