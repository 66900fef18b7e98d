"""Zalo OA channel against a local fake of the OA API (tests/fake_chat_apis.py), with the
session's real Assistant (Rasa agent + FAISS index) and the real Flask app factory.

A citizen's message in -> the answer out (source link, quick-reply buttons); bad, missing and
stale signatures refused; the access token refreshed when it expires or is revoked; the API
down -> a bounded number of attempts, logged, kept, sent once the API is back.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import time
import uuid


from channel_support import (ADMIN_HEADERS, MAX_ATTEMPTS, channel_app, fake, outbox,  # noqa: F401
                             web, zalo_event, zalo_headers)
from webhook.channels import zalo_api
from webhook.channels.formatting import markdown_to_plain, split_text

QUESTION = "Làm lý lịch tư pháp trên VNeID thế nào?"
URL = "/webhooks/zalo/webhook"


def new_user() -> str:
    return str(uuid.uuid4().int % 10**19)  # Zalo ids: long decimal numbers, sent as strings


def sends_to(user_id: str):
    return lambda calls: [c for c in calls if c.path == zalo_api.SEND_PATH
                          and c.body["recipient"]["user_id"] == user_id]


def delivered_to(fake, outbox, user_id: str):
    """The sends the fake accepted for `user_id`, once every queued message to them is sent."""
    def all_sent(calls):
        rows = [r for r in outbox.rows("zalo") if r["recipient"] == user_id]
        if not rows or any(r["status"] != "sent" for r in rows):
            return None
        return [c for c in sends_to(user_id)(calls)
                if c.headers.get("access_token") in fake.state.access_tokens] or None
    return fake.wait_for(all_sent)


def post_event(web, body: bytes, headers: dict | None = None):
    return web.post(URL, data=body, headers=zalo_headers(body) if headers is None else headers)


# ---------------------------------------------------------------- a question answered
def test_citizen_question_answered_with_source_link_and_buttons(web, fake, channel_app, outbox):
    user = new_user()
    response = post_event(web, zalo_event(user, QUESTION, uuid.uuid4().hex))
    assert response.status_code == 200, response.get_data(as_text=True)

    sends = delivered_to(fake, outbox, user)
    messages = [c.body["message"] for c in sends]
    text = "\n".join(m["text"] for m in messages)
    # The answer, in plain text: the source is a readable link, no Markdown left.
    assert "Nguồn:" in text and "https://" in text, text
    assert "](" not in text and "**" not in text, text
    assert all(len(m["text"]) <= zalo_api.TEXT_LIMIT for m in messages)
    # The other aspects of the service as buttons whose payload comes back hidden.
    buttons = [b for m in messages for b in m.get("attachment", {}).get("payload", {}).get("buttons", [])]
    assert buttons, messages
    assert all(b["type"] == "oa.query.hide" and b["payload"].startswith("/") for b in buttons)
    aspects = [b for b in buttons if b["payload"].startswith("/ask_procedure")]
    assert aspects and any(b["payload"].startswith("/give_feedback") for b in buttons)

    # Tapping a button sends its payload back as text: answered about that aspect.
    before = len(sends)
    tapped = aspects[0]
    assert post_event(web, zalo_event(user, tapped["payload"], uuid.uuid4().hex)).status_code == 200
    after = delivered_to(fake, outbox, user)
    reply = "\n".join(c.body["message"]["text"] for c in after[before:])
    assert "Nguồn:" in reply, reply
    assert "/ask_procedure" not in reply

    # The conversation is stored under the namespaced sender, hashed like any other.
    assistant = channel_app.extensions["assistant"]
    stored = assistant.conversation_id(f"zalo:{user}")
    assert stored.startswith("u-") and user not in stored
    events = assistant.tracker_events(f"zalo:{user}")
    assert any(e.get("event") == "user" and e.get("text") == QUESTION for e in events)


def test_resent_event_answered_once(web, fake, outbox):
    user, msg_id = new_user(), uuid.uuid4().hex
    body = zalo_event(user, "Lệ phí cấp căn cước là bao nhiêu?", msg_id)
    assert post_event(web, body).status_code == 200
    first = delivered_to(fake, outbox, user)
    # Zalo resends an event it thinks was not received: same msg_id, answered once.
    again = post_event(web, body)
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    time.sleep(0.3)  # give a wrongly queued second answer the time to go out
    assert len(sends_to(user)(fake.calls(""))) == len(first)


def test_picture_gets_a_polite_hint(web, fake, outbox):
    user = new_user()
    event = json.loads(zalo_event(user, "", uuid.uuid4().hex))
    event["event_name"] = "user_send_image"
    event["message"] = {"msg_id": uuid.uuid4().hex, "attachments": [{"type": "image"}]}
    body = json.dumps(event).encode()
    assert post_event(web, body).status_code == 200
    text = delivered_to(fake, outbox, user)[0].body["message"]["text"]
    assert "chỉ đọc được tin nhắn chữ" in text


# ---------------------------------------------------------------- signatures
def test_bad_missing_and_stale_signatures_refused(web, fake):
    user = new_user()
    body = zalo_event(user, QUESTION, uuid.uuid4().hex)

    wrong_secret = post_event(web, body, zalo_headers(body, secret="not-the-oa-secret"))
    assert wrong_secret.status_code == 401
    assert wrong_secret.get_json()["error"]["code"] == "bad_signature"

    tampered = body.replace(QUESTION.encode(), "Xin số tài khoản".encode())
    assert post_event(web, tampered, zalo_headers(body)).status_code == 401

    missing = web.post(URL, data=body, headers={"Content-Type": "application/json"})
    assert missing.status_code == 401
    assert missing.get_json()["error"]["code"] == "missing_signature"

    old = zalo_event(user, QUESTION, uuid.uuid4().hex,
                     timestamp_ms=int((time.time() - 3600) * 1000))
    stale = post_event(web, old)  # correctly signed, but an hour old: a replay
    assert stale.status_code == 401
    assert stale.get_json()["error"]["code"] == "stale_event"

    assert web.post(URL, data=b"{not json", headers={zalo_api.SIGNATURE_HEADER: "mac=00"}
                    ).status_code == 400
    time.sleep(0.3)
    assert not sends_to(user)(fake.calls("")), "a refused event must not be answered"


def test_signature_matches_the_documented_formula():
    body = b'{"event_name":"user_send_text","timestamp":"1699003881354"}'
    expected = hashlib.sha256(b"111" + body + b"1699003881354" + b"secret").hexdigest()
    assert zalo_api.signature("111", body, "1699003881354", "secret") == expected
    assert zalo_api.signature_ok("mac=" + expected, "111", body, "1699003881354", "secret")
    assert zalo_api.signature_ok(expected.upper(), "111", body, "1699003881354", "secret")
    assert not zalo_api.signature_ok("mac=" + expected, "111", body, "1699003881355", "secret")


# ---------------------------------------------------------------- the access token
def test_token_refreshed_when_it_expires_or_is_revoked(web, fake, channel_app, caplog, outbox):
    channels = channel_app.extensions["channels"]
    token_file = channels.config.zalo.token_file
    user = new_user()
    assert post_event(web, zalo_event(user, QUESTION, uuid.uuid4().hex)).status_code == 200
    delivered_to(fake, outbox, user)
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600

    # 1. About to expire (25 h tokens, refreshed an hour early): refreshed before sending.
    saved = json.loads(token_file.read_text())
    saved["expires_at"] = time.time() + 60
    token_file.write_text(json.dumps(saved))
    refreshes = len(fake.calls(zalo_api.TOKEN_PATH))
    caplog.set_level(logging.INFO)
    assert post_event(web, zalo_event(user, "Lệ phí bao nhiêu?", uuid.uuid4().hex)).status_code == 200
    sends = delivered_to(fake, outbox, user)
    refresh_calls = fake.calls(zalo_api.TOKEN_PATH)
    assert len(refresh_calls) == refreshes + 1
    assert refresh_calls[-1].body["refresh_token"] == saved["refresh_token"]  # the stored one
    assert refresh_calls[-1].headers["secret_key"]
    renewed = json.loads(token_file.read_text())
    assert renewed["refresh_token"] != saved["refresh_token"]  # single use: the new one kept
    assert renewed["refresh_token"] == fake.state.refresh_token
    assert sends[-1].headers["access_token"] == renewed["access_token"]
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600

    # 2. Revoked before its time: the API says -216, one refresh, the message still goes.
    fake.revoke_access_tokens()
    count = len(sends)
    assert post_event(web, zalo_event(user, "Mất bao lâu?", uuid.uuid4().hex)).status_code == 200
    sends = delivered_to(fake, outbox, user)
    assert len(fake.calls(zalo_api.TOKEN_PATH)) == refreshes + 2
    assert sends[-1].headers["access_token"] in fake.state.access_tokens

    # Tokens never reach the logs.
    logged = caplog.text
    for secret in (renewed["access_token"], renewed["refresh_token"], fake.state.refresh_token):
        assert secret not in logged


# ---------------------------------------------------------------- the API down
def test_api_down_bounded_retries_logged_and_kept(web, fake, channel_app, caplog, outbox):
    channels = channel_app.extensions["channels"]
    user = new_user()
    caplog.set_level(logging.WARNING, logger="webhook.channels.outbox")
    fake.down = True
    try:
        assert post_event(web, zalo_event(user, QUESTION, uuid.uuid4().hex)).status_code == 200

        def given_up(_calls):
            rows = [r for r in channels.outbox.rows("zalo") if r["recipient"] == user]
            return rows if rows and rows[0]["status"] == "failed" else None
        rows = fake.wait_for(given_up)
        first = rows[0]
        assert first["attempts"] == MAX_ATTEMPTS and "503" in first["last_error"]
        # Exactly the bounded number of attempts for the first message; later ones wait.
        attempts = [c for c in sends_to(user)(fake.calls("")) if c.body == first["body"]]
        assert len(attempts) == MAX_ATTEMPTS
        errors = [r for r in caplog.records if r.levelno == logging.ERROR
                  and "NOT DELIVERED" in r.getMessage()]
        assert errors and f"outbox message {first['id']}" in errors[0].getMessage()
        assert channels.worker.stats["zalo.failed"] >= 1
    finally:
        fake.down = False

    # Nothing lost: once the API is back, the admin resends what was given up on.
    response = web.post("/admin/channels/retry", headers=ADMIN_HEADERS)
    assert response.status_code == 200 and response.get_json()["requeued"] >= 1
    sends = delivered_to(fake, outbox, user)
    assert "Nguồn:" in "\n".join(c.body["message"]["text"] for c in sends)
    fake.wait_for(lambda _c: all(r["status"] == "sent" for r in channels.outbox.rows("zalo")
                                 if r["recipient"] == user))


def test_retry_endpoint_needs_the_admin_token(web):
    assert web.post("/admin/channels/retry").status_code == 401


# ---------------------------------------------------------------- off unless configured
def test_channels_absent_without_settings_and_namespace_reserved(client):
    for path in (URL, "/webhooks/facebook/webhook", "/webhooks/telegram/webhook"):
        assert client.post(path, data=b"{}").status_code == 404
    # The widget's API cannot pose as a Zalo citizen and continue their conversation.
    response = client.post("/api/chat", json={"sender": "zalo:1234567890", "message": QUESTION})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_sender"


# ---------------------------------------------------------------- formatting
def test_markdown_becomes_plain_text_with_links():
    text = ("**Lệ phí:** 200.000 đồng.\n\n- Bước 1: mở *VNeID*\n- Bước 2: nộp\n\n"
            "Nguồn: [Cấp phiếu lý lịch tư pháp](https://dichvucong.gov.vn/p/lltp), mục Lệ phí")
    assert markdown_to_plain(text) == (
        "Lệ phí: 200.000 đồng.\n\n• Bước 1: mở VNeID\n• Bước 2: nộp\n\n"
        "Nguồn: Cấp phiếu lý lịch tư pháp (https://dichvucong.gov.vn/p/lltp), mục Lệ phí")


def test_long_answer_split_at_the_limit_between_paragraphs():
    paragraphs = [f"Đoạn {i}: " + "thủ tục hành chính công " * 20 for i in range(12)]
    pieces = split_text("\n\n".join(paragraphs), 2000)
    assert len(pieces) > 1 and all(len(p) <= 2000 for p in pieces)
    assert all(p.startswith("Đoạn ") for p in pieces)  # cut between paragraphs, not words
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", "".join(paragraphs))


# ---------------------------------------------------------------- tokens across workers
def test_workers_refreshing_at_once_spend_the_refresh_token_once(fake, tmp_path):
    """Two gunicorn workers find the token expired together: one refreshes, the other reads
    the new pair from the file (a second refresh with the spent token would be refused)."""
    import threading

    from channel_support import ZALO_APP_ID, ZALO_APP_SECRET
    from webhook.channels.config import ZaloConfig
    from webhook.channels.tokens import ZaloTokens

    config = ZaloConfig(app_id=ZALO_APP_ID, app_secret=ZALO_APP_SECRET, oa_secret_key="x",
                        token_file=tmp_path / "zalo-token.json",
                        initial_refresh_token=fake.state.refresh_token,
                        api_base=fake.url, oauth_base=fake.url)
    workers = [ZaloTokens(config) for _ in range(4)]  # separate objects, like processes
    before = len(fake.calls(zalo_api.TOKEN_PATH))
    got, start = [], threading.Barrier(len(workers))

    def run(tokens):
        start.wait()
        got.append(tokens.access_token())
    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(got) == 4 and len(set(got)) == 1 and got[0] in fake.state.access_tokens
    assert len(fake.calls(zalo_api.TOKEN_PATH)) == before + 1


def test_half_configured_channel_refuses_to_start(tmp_path):
    import pytest

    from webhook.channels.config import ChannelConfig, ChannelConfigError

    with pytest.raises(ChannelConfigError, match="TROLYAO_ZALO_OA_SECRET_KEY"):
        ChannelConfig.from_env(tmp_path, {"TROLYAO_ZALO_APP_ID": "1",
                                          "TROLYAO_ZALO_APP_SECRET": "s"})
    assert not ChannelConfig.from_env(tmp_path, {}).any


def test_a_typo_in_a_numeric_channel_setting_names_the_variable(tmp_path):
    import pytest

    from webhook.channels.config import ChannelConfig, ChannelConfigError

    with pytest.raises(ChannelConfigError, match="TROLYAO_CHANNEL_SEND_ATTEMPTS must be a number"):
        ChannelConfig.from_env(tmp_path, {"TROLYAO_CHANNEL_SEND_ATTEMPTS": "năm"})


# ---------------------------------------------------------------- hand-off replies
def test_staff_reply_through_the_queue_reaches_the_zalo_citizen(web, fake, channel_app, outbox,
                                                                live_handoff):
    """Hand-off end to end on Zalo: the citizen asks for a person, a staff member takes the
    conversation in the queue and answers; the answer arrives in the citizen's Zalo chat."""
    user = new_user()
    assert post_event(web, zalo_event(user, "Tôi muốn gặp cán bộ hỗ trợ",
                                      uuid.uuid4().hex)).status_code == 200
    told = " ".join(s.body["message"]["text"] for s in delivered_to(fake, outbox, user))
    assert "cán bộ" in told.lower()
    conversation = channel_app.extensions["assistant"].conversation_id(f"zalo:{user}")
    admin = {"Authorization": f"Bearer {channel_app.config['TROLYAO'].admin_token}"}
    base = f"/admin/handoff/api/conversations/{conversation}"
    assert web.post(f"{base}/take", headers=admin, json={}).status_code == 200
    reply = "Chào anh/chị, tôi là cán bộ phường, anh/chị cần hỗ trợ gì ạ?"
    assert web.post(f"{base}/reply", headers=admin, json={"text": reply}).status_code == 200
    assert delivered_to(fake, outbox, user)[-1].body["message"]["text"] == reply
    web.post(f"{base}/close", headers=admin, json={})


def test_staff_reply_reaches_the_zalo_citizen(web, fake, channel_app, outbox):
    """Hand-off: a staff member answers a stored conversation id; it goes out through Zalo."""
    user = new_user()
    assert post_event(web, zalo_event(user, QUESTION, uuid.uuid4().hex)).status_code == 200
    delivered_to(fake, outbox, user)
    channels = channel_app.extensions["channels"]
    conversation = channel_app.extensions["assistant"].conversation_id(f"zalo:{user}")
    assert channels.send_text(conversation, "Chào anh/chị, cán bộ **phường** đã nhận câu hỏi.")
    sends = delivered_to(fake, outbox, user)
    assert sends[-1].body["message"]["text"] == "Chào anh/chị, cán bộ phường đã nhận câu hỏi."
    assert not channels.send_text("u-" + "a" * 32, "không có ai")  # not a chat-app conversation


def test_outbox_keeps_citizens_data_only_as_long_as_needed(tmp_path):
    """Sent answers are deleted a day later; a conversation not seen for the retention period
    (and one deleted for privacy) leaves nothing behind, not even the chat-app id."""
    from webhook.channels.outbox import Outbox

    now = [1_000_000.0]
    box = Outbox(tmp_path / "outbox.db", clock=lambda: now[0])
    assert stat.S_IMODE(os.stat(tmp_path / "outbox.db").st_mode) == 0o600
    box.add("zalo", "111", "u-" + "a" * 32, [{"message": {"text": "một"}}])
    box.add("zalo", "222", "u-" + "b" * 32, [{"message": {"text": "hai"}}])
    for item in box.claim_due():
        box.mark_sent(item)
    now[0] += 2 * 86400
    assert box.purge(keep_days=180) == 2 and box.rows() == []
    assert box.recipient_of("u-" + "a" * 32) == ("zalo", "111")  # hand-off can still reply
    assert box.forget("u-" + "a" * 32) == 1 and box.recipient_of("u-" + "a" * 32) is None
    now[0] += 181 * 86400
    box.purge(keep_days=180)
    assert box.recipient_of("u-" + "b" * 32) is None
