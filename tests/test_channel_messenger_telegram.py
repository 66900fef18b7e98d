"""Messenger and Telegram through Rasa's connector pieces, against local fakes of the Graph
Send API and the Bot API (tests/fake_chat_apis.py), with the session's real Assistant."""
from __future__ import annotations

import json
import time
import uuid

from channel_support import (MESSENGER_VERIFY, TELEGRAM_SECRET, TELEGRAM_TOKEN,  # noqa: F401
                             channel_app, fake, messenger_headers, outbox, web)

QUESTION = "Đăng ký tạm trú online thế nào?"


def all_sent(fake, outbox, channel: str, recipient: str, path_part: str):
    def done(calls):
        rows = [r for r in outbox.rows(channel) if r["recipient"] == recipient]
        if not rows or any(r["status"] != "sent" for r in rows):
            return None
        return [c for c in calls if path_part in c.path and recipient in json.dumps(c.body)] or None
    return fake.wait_for(done)


# ---------------------------------------------------------------- Messenger
def messenger_event(psid: str, text: str | None = None, quick_payload: str | None = None) -> bytes:
    message = {"mid": "m_" + uuid.uuid4().hex, "text": text or "x"}
    if quick_payload:
        message["quick_reply"] = {"payload": quick_payload}
    return json.dumps({"object": "page", "entry": [{
        "id": "1122334455", "time": int(time.time() * 1000),
        "messaging": [{"sender": {"id": psid}, "recipient": {"id": "1122334455"},
                       "timestamp": int(time.time() * 1000), "message": message}]}]},
        ensure_ascii=False).encode()


def test_messenger_subscription_check(web):
    ok = web.get("/webhooks/facebook/webhook", query_string={
        "hub.mode": "subscribe", "hub.verify_token": MESSENGER_VERIFY, "hub.challenge": "4711"})
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "4711"
    wrong = web.get("/webhooks/facebook/webhook", query_string={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "4711"})
    assert wrong.status_code == 403


def test_messenger_message_answered_with_quick_replies(web, fake, outbox):
    psid = str(uuid.uuid4().int % 10**16)
    body = messenger_event(psid, QUESTION)
    response = web.post("/webhooks/facebook/webhook", data=body, headers=messenger_headers(body))
    assert response.status_code == 200, response.get_data(as_text=True)

    sends = all_sent(fake, outbox, "messenger", psid, "/me/messages")
    assert all(c.query["access_token"] == "page-token-for-tests" for c in sends)
    assert all(c.body["recipient"]["id"] == psid and c.body["messaging_type"] == "RESPONSE"
               for c in sends)
    text = "\n".join(c.body["message"]["text"] for c in sends)
    assert "Nguồn:" in text and "https://" in text and "](" not in text, text
    quick = [q for c in sends for q in c.body["message"].get("quick_replies", [])]
    assert quick and all(len(q["title"]) <= 20 and q["payload"].startswith("/") for q in quick)


def test_messenger_bad_signature_refused(web, fake):
    psid = str(uuid.uuid4().int % 10**16)
    body = messenger_event(psid, QUESTION)
    response = web.post("/webhooks/facebook/webhook", data=body,
                        headers=messenger_headers(body, secret="not-the-app-secret"))
    assert response.status_code == 401
    unsigned = web.post("/webhooks/facebook/webhook", data=body,
                        headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    time.sleep(0.3)
    assert not [c for c in fake.calls("/me/messages") if c.body["recipient"]["id"] == psid]


# ---------------------------------------------------------------- Telegram
def telegram_update(chat_id: int, text: str) -> dict:
    return {"update_id": uuid.uuid4().int % 10**9, "message": {
        "message_id": 5, "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "An"}, "text": text}}


def test_telegram_message_answered_with_inline_buttons(web, fake, outbox):
    chat_id = 700000 + uuid.uuid4().int % 100000
    response = web.post("/webhooks/telegram/webhook", json=telegram_update(chat_id, QUESTION),
                        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
    assert response.status_code == 200, response.get_data(as_text=True)

    sends = all_sent(fake, outbox, "telegram", str(chat_id), "/sendMessage")
    assert all(c.path == f"/bot{TELEGRAM_TOKEN}/sendMessage" for c in sends)
    assert all(c.body["chat_id"] == str(chat_id) for c in sends)
    text = "\n".join(c.body["text"] for c in sends)
    assert "Nguồn:" in text and "https://" in text and "](" not in text, text
    keyboards = [json.loads(c.body["reply_markup"])["inline_keyboard"] for c in sends
                 if "reply_markup" in c.body]
    data = [button["callback_data"] for rows in keyboards for row in rows for button in row]
    assert data and all(len(d.encode()) <= 64 for d in data)


def test_telegram_wrong_secret_refused(web, fake):
    chat_id = 600000 + uuid.uuid4().int % 100000
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
        response = web.post("/webhooks/telegram/webhook", json=telegram_update(chat_id, QUESTION),
                            headers=headers)
        assert response.status_code == 401
    time.sleep(0.3)
    assert not [c for c in fake.calls("/sendMessage") if c.body.get("chat_id") == str(chat_id)]
