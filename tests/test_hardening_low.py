"""Issue 13, low: log injection, TROLYAO_LOG_LEVEL, 500s on odd bodies, trailing-newline
sender ids, messages without words, admin sign-in limits and sessions, long conversations.

Real assistant and Flask app; the admin tests build their own app over the same assistant so
their counters and cookies are their own."""
from __future__ import annotations

import dataclasses
import logging
import re
import statistics
import subprocess
import sys
import time
import uuid

import pytest

from trolyao.core.assistant import NO_WORDS_REPLY


def new_sender() -> str:
    return f"low-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------- logs
def test_user_text_cannot_forge_log_lines(client, caplog):
    forged = "CRITICAL webhook: admin token accepted from 10.0.0.1"
    with caplog.at_level(logging.DEBUG):
        response = client.post("/api/chat", json={
            "sender": new_sender(), "message": f"xin chào\n{forged}\r\u2028{forged}"})
        logging.getLogger("rasa.core.processor").warning("Failed to parse %s", f"/x\n{forged}")
    assert response.status_code == 200
    messages = [r.getMessage() for r in caplog.records]
    assert any("xin chào\\nCRITICAL webhook" in m for m in messages), "the debug line, escaped"
    for message in messages:
        assert "\n" not in message and "\r" not in message and "\u2028" not in message, message
    assert not any(line.startswith("CRITICAL webhook") for line in caplog.text.splitlines())


@pytest.mark.parametrize("level, shown", [("DEBUG", True), ("INFO", False)])
def test_log_level_setting_takes_effect(level, shown):
    code = f"""if True:
        import logging
        from trolyao.core.runtime import configure_logging
        configure_logging({level!r})
        logging.getLogger("webhook.blueprints.chat").debug("debug-line-visible")
        logging.getLogger("trolyao.core.assistant").info("info-line-visible")
    """
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert ("debug-line-visible" in result.stderr) is shown
    assert "info-line-visible" in result.stderr


# ---------------------------------------------------------------- odd bodies
def test_a_number_too_long_for_python_is_a_400(client):
    body = '{"sender": "a", "message": "xin chào", "n": ' + "7" * 5000 + "}"
    response = client.post("/api/chat", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("sender", ["x\n", "x\r\n", "abc\n"])
def test_sender_with_a_trailing_newline_is_refused(client, sender):
    response = client.post("/api/chat", json={"sender": sender, "message": "xin chào"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_sender"


# ---------------------------------------------------------------- messages without words
@pytest.mark.parametrize("message", ["\u200b\u200c\u200d\ufeff", "🙂" * 1000, "?!…", "\u200b🙂\u200d"])
def test_a_message_without_words_gets_a_request_to_type_and_is_not_stored(client, assistant,
                                                                          message):
    sender = new_sender()
    response = client.post("/api/chat", json={"sender": sender, "message": message})
    assert response.status_code == 200
    body = response.get_json()
    assert [m["text"] for m in body["messages"]] == [NO_WORDS_REPLY]
    assert body["intent"]["name"] is None
    assert assistant.tracker_events(sender) == []


def test_emoji_after_an_answer_are_not_positive_feedback(client, assistant):
    sender = new_sender()
    answer = client.post("/api/chat", json={"sender": sender,
                                            "message": "đăng ký khai sinh online cần giấy tờ gì"})
    assert answer.get_json()["fallback"] is False
    reply = client.post("/api/chat", json={"sender": sender, "message": "👍" * 1000}).get_json()
    assert [m["text"] for m in reply["messages"]] == [NO_WORDS_REPLY]
    feedback = [e for e in assistant.tracker_events(sender)
                if e["event"] == "slot" and e["name"] == "feedback"]
    assert feedback == []


# ---------------------------------------------------------------- admin sign-in
@pytest.fixture()
def admin_app(assistant, settings, tmp_path):
    from webhook.app import create_app

    return create_app(assistant=assistant, settings=dataclasses.replace(settings, home=tmp_path))


def from_ip(ip: str) -> dict:
    return {"REMOTE_ADDR": ip}


def test_wrong_sign_ins_do_not_lock_out_the_right_token(admin_app, settings):
    client = admin_app.test_client()
    for _ in range(10):
        assert client.post("/admin/login", data={"token": "doan"},
                           environ_base=from_ip("10.1.0.1")).status_code == 401
    limited = client.post("/admin/login", data={"token": "doan"}, environ_base=from_ip("10.1.0.1"))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    # A colleague behind the same IP with the right token still gets in.
    right = client.post("/admin/login", data={"token": settings.admin_token},
                        environ_base=from_ip("10.1.0.1"))
    assert right.status_code == 303
    assert client.get("/admin", environ_base=from_ip("10.1.0.1")).status_code == 200


def test_bearer_guesses_are_limited_too(admin_app, settings):
    client = admin_app.test_client()
    wrong = {"Authorization": "Bearer doan-bua"}
    for _ in range(10):
        assert client.get("/admin/status", headers=wrong,
                          environ_base=from_ip("10.2.0.1")).status_code == 401
    limited = client.get("/admin/status", headers=wrong, environ_base=from_ip("10.2.0.1"))
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert client.get("/admin/report", headers=wrong,
                      environ_base=from_ip("10.2.0.1")).status_code == 429
    right = {"Authorization": f"Bearer {settings.admin_token}"}
    assert client.get("/admin/status", headers=right,
                      environ_base=from_ip("10.2.0.1")).status_code == 200
    # Another client is not affected by this one's guesses.
    assert client.get("/admin/status", headers=wrong,
                      environ_base=from_ip("10.2.0.2")).status_code == 401


def test_guesses_spread_over_many_ips_are_limited(admin_app):
    client = admin_app.test_client()
    for i in range(100):
        client.post("/admin/login", data={"token": f"doan-{i}"},
                    environ_base=from_ip(f"10.3.{i // 250}.{i % 250 + 1}"))
    assert client.post("/admin/login", data={"token": "doan-x"},
                       environ_base=from_ip("10.4.0.1")).status_code == 429


def test_workers_count_wrong_tokens_together(assistant, settings, tmp_path):
    """Two workers (two apps over the same $TROLYAO_HOME) share one count of wrong tokens."""
    from webhook.app import create_app

    shared = dataclasses.replace(settings, home=tmp_path)
    workers = [create_app(assistant=assistant, settings=shared).test_client() for _ in range(2)]
    wrong = {"Authorization": "Bearer doan-bua"}
    for i in range(10):
        assert workers[i % 2].get("/admin/status", headers=wrong,
                                  environ_base=from_ip("10.5.0.1")).status_code == 401
    for worker in workers:
        assert worker.get("/admin/status", headers=wrong,
                          environ_base=from_ip("10.5.0.1")).status_code == 429


def session_cookie_header(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_session_cookie_is_secure_behind_an_https_proxy(assistant, settings, tmp_path):
    from webhook.app import create_app

    proxied = create_app(assistant=assistant,
                         settings=dataclasses.replace(settings, home=tmp_path, trusted_proxies=1))
    response = proxied.test_client().post("/admin/login", data={"token": settings.admin_token},
                                          headers={"X-Forwarded-Proto": "https",
                                                   "X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 303
    assert "Secure" in session_cookie_header(response)
    plain = proxied.test_client().post("/admin/login", data={"token": settings.admin_token})
    assert "Secure" not in session_cookie_header(plain), "plain HTTP (development) still works"


def test_a_cookie_from_before_logout_opens_nothing(admin_app, settings):
    client = admin_app.test_client()
    assert client.post("/admin/login", data={"token": settings.admin_token}).status_code == 303
    page = client.get("/admin")
    assert page.status_code == 200
    old_cookie = client.get_cookie("session").value
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert client.post("/admin/logout", data={"csrf": csrf}).status_code == 303
    thief = admin_app.test_client()
    thief.set_cookie("session", old_cookie)
    assert thief.get("/admin").status_code == 401
    assert thief.get("/admin/report.csv").status_code == 401


# ---------------------------------------------------------------- long conversations
@pytest.mark.slow
def test_turn_400_loads_a_bounded_history_and_costs_what_turn_1_costs(assistant, settings):
    sender = new_sender()
    questions = ["lệ phí bao nhiêu?", "thời gian giải quyết bao lâu?", "cần giấy tờ gì?"]
    cpu, loaded = [], []
    first = assistant.chat(sender, "đăng ký tạm trú online thế nào")
    assert first.sources[0]["service"] == "tam-tru"
    for turn in range(2, 401):
        start = time.process_time()
        reply = assistant.chat(sender, questions[turn % len(questions)])
        cpu.append(time.process_time() - start)
        if turn in (2, 400):
            loaded.append(len(assistant.tracker_events(sender)))
    assert loaded[-1] <= settings.max_session_events + 60, loaded
    # The conversation's subject survived the new sessions: still about tạm trú.
    assert reply.sources and reply.sources[0]["service"] == "tam-tru"
    assert reply.slots.get("service") == "tam-tru"
    early, late = statistics.median(cpu[:20]), statistics.median(cpu[-20:])
    print(f"CPU per answer: turns 2-21 {early * 1000:.1f} ms, turns 381-400 {late * 1000:.1f} ms; "
          f"events loaded at turn 2: {loaded[0]}, turn 400: {loaded[-1]}")
    assert late < 2.5 * early + 0.005, (early, late)
