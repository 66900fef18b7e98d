"""Live hand-off through the real app, Rasa agent and stores: the citizen asks for a person,
two staff members race to take the conversation, the reply reaches the citizen's waiting
request, the paused bot stores but does not answer, "return" gives the conversation back to
the assistant; outside office hours the message waits for staff; every action is audited."""
from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from trolyao.core.audit import AuditLog
from trolyao.core.handoff import shared_queue
from trolyao.staff.report import read_exchanges_from_assistant


def say(client, sender: str, text: str) -> dict:
    response = client.post("/api/chat", json={"sender": sender, "message": text})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def signed_in(app, login: str, password: str):
    """A browser of one staff member: signed in, with the page's CSRF token."""
    staff = app.test_client()
    response = staff.post("/admin/handoff/login", data={"login": login, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    page = staff.get("/admin/handoff").get_data(as_text=True)
    staff.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return staff


def act(staff, conversation: str, what: str, **body):
    return staff.post(f"/admin/handoff/api/conversations/{conversation}/{what}", json=body,
                      headers={"X-CSRF-Token": staff.csrf})


def test_a_person_takes_over_and_gives_the_conversation_back(app, assistant, settings, live_handoff):
    citizen = app.test_client()
    sender = f"web-{uuid.uuid4().hex}"
    asked = say(citizen, sender, "cho tôi gặp cán bộ")
    assert asked["intent"]["name"] == "request_human" and asked["handoff"] is True
    assert "vị trí số 1" in asked["messages"][0]["text"]
    conversation = assistant.conversation_id(sender)

    # Paused: the citizen's message is stored for staff, the bot does not answer it.
    left = say(citizen, sender, "Con tôi 15 tuổi thì làm lý lịch tư pháp thế nào?")
    assert left["messages"] == [] and left["handoff"] is True
    events = assistant.tracker_events(sender)
    kinds = [e["event"] for e in events]
    assert "pause" in kinds
    last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
    assert events[last_user]["text"] == "Con tôi 15 tuổi thì làm lý lịch tư pháp thế nào?"
    assert not [e for e in events[last_user:] if e["event"] == "bot"]

    lan = signed_in(app, "lan", live_handoff["lan"][1])
    minh = signed_in(app, "minh", live_handoff["minh"][1])
    waiting = lan.get("/admin/handoff/api/queue").get_json()["waiting"]
    assert [t["conversation"] for t in waiting if t["conversation"] == conversation] == [conversation]
    transcript = lan.get(f"/admin/handoff/api/conversations/{conversation}").get_json()["transcript"]
    assert [line["text"] for line in transcript if line["who"] == "citizen"][-1].startswith("Con tôi 15")

    assert act(lan, conversation, "take").status_code == 200
    refused = act(minh, conversation, "take")
    assert refused.status_code == 409 and "Nguyễn Thị Lan" in refused.get_json()["error"]["message"]
    others = minh.get("/admin/handoff/api/queue").get_json()["others"]
    assert any(t["conversation"] == conversation and t["taken_name"] == "Nguyễn Thị Lan" for t in others)
    assert act(minh, conversation, "reply", text="Tôi trả lời thay").status_code == 409

    # The citizen's widget is waiting (long polling) when Lan replies.
    first = citizen.get(f"/api/handoff/updates?sender={sender}&after=0").get_json()
    assert first["state"] == "taken" and "đã tiếp nhận" in first["messages"][0]["text"]
    received = []

    def widget_waits():
        started = time.monotonic()
        body = app.test_client().get(
            f"/api/handoff/updates?wait=1&sender={sender}&after={first['cursor']}").get_json()
        received.append((time.monotonic(), started, body))
    waiter = threading.Thread(target=widget_waits)
    waiter.start()
    time.sleep(0.5)
    sent = time.monotonic()
    reply = act(lan, conversation, "reply", text="Chào anh/chị, cháu cần đăng ký VNeID mức 2 trước. Số của tôi 0912345678")
    assert reply.status_code == 200
    waiter.join(10)
    arrived, _started, body = received[0]
    assert arrived - sent < 2.0, arrived - sent
    assert body["messages"][0]["author"] == "staff" and body["messages"][0]["label"] == "Cán bộ hỗ trợ"
    assert body["messages"][0]["text"].startswith("Chào anh/chị, cháu cần")
    assert "0912345678" not in body["messages"][0]["text"]  # redacted when stored and sent

    answer = say(citizen, sender, "Vâng, cảm ơn cán bộ")
    assert answer["messages"] == []
    transcript = lan.get(f"/admin/handoff/api/conversations/{conversation}").get_json()["transcript"]
    assert [line["who"] for line in transcript[-2:]] == ["staff", "citizen"]
    staff_events = [e for e in assistant.tracker_events(sender)
                    if e["event"] == "bot" and (e.get("metadata") or {}).get("staff")]
    assert [(e["metadata"]["staff"], e["metadata"]["handoff"]) for e in staff_events] == [
        ("staff:lan", "taken"), ("staff:lan", "reply")]
    assert "0912345678" not in staff_events[0]["text"]

    assert act(lan, conversation, "return").status_code == 200
    back = citizen.get(f"/api/handoff/updates?sender={sender}&after={body['messages'][0]['id']}").get_json()
    assert back["state"] == "returned" and "lại cho trợ lý ảo" in back["messages"][-1]["text"]
    answered = say(citizen, sender, "Làm lý lịch tư pháp trên VNeID thế nào?")
    assert "handoff" not in answered and answered["sources"], answered
    assert answered["sources"][0]["service"] == "ly-lich-tu-phap"
    assert [e["event"] for e in assistant.tracker_events(sender)].count("resume") == 1

    # The report counts the hand-off and its times from the conversation store.
    handoffs = [h for h in read_exchanges_from_assistant(assistant).handoffs if h.sender == conversation]
    assert len(handoffs) == 1 and handoffs[0].end is not None
    assert 0 < handoffs[0].waiting_seconds <= handoffs[0].first_reply_seconds

    actions = [(e["actor"], e["action"]) for e in AuditLog.from_settings(settings).recent(50)
               if e["subject"] == conversation]
    assert ("staff:lan", "handoff.take") in actions and ("staff:lan", "handoff.reply") in actions
    assert ("staff:lan", "handoff.return") in actions
    assert ("staff:minh", "handoff.take") not in actions  # refused actions change nothing


def test_outside_office_hours_the_message_waits_for_staff(app, assistant, settings, live_handoff,
                                                         monkeypatch):
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    monkeypatch.setattr(settings, "holidays", today)  # nobody on duty today
    citizen = app.test_client()
    sender = f"web-{uuid.uuid4().hex}"
    answered = say(citizen, sender, "Đăng ký tạm trú online thế nào?")
    assert answered["sources"]
    say(citizen, sender, '/give_feedback{"feedback":"negative"}')  # 👎, then the widget's offer:
    asked = say(citizen, sender, "Tôi muốn gặp cán bộ hỗ trợ")
    text = asked["messages"][0]["text"]
    assert asked["handoff"] is True and "ngoài giờ làm việc" in text and "để lại lời nhắn" in text
    assert "18001096" in text and "dichvucong.gov.vn" in text  # the official channels
    say(citizen, sender, "Tôi cần xác nhận tạm trú cho con đi học, mai cán bộ gọi lại giúp")

    ticket = shared_queue(settings).get(assistant.conversation_id(sender))
    assert ticket.state == "waiting" and ticket.in_office_hours is False
    lan = signed_in(app, "lan", live_handoff["lan"][1])
    transcript = lan.get(f"/admin/handoff/api/conversations/{ticket.conversation}").get_json()["transcript"]
    assert transcript[-1] == {**transcript[-1], "who": "citizen",
                              "text": "Tôi cần xác nhận tạm trú cho con đi học, mai cán bộ gọi lại giúp"}
    bot_lines = [line for line in transcript if line["who"] == "bot" and line.get("sources")]
    assert bot_lines, "staff see the bot's sources"
    assert act(lan, ticket.conversation, "close").status_code == 200


def test_staff_pages_refuse_strangers_and_bad_requests(app, live_handoff):
    stranger = app.test_client()
    assert stranger.get("/admin/handoff").status_code == 401
    assert stranger.get("/admin/handoff/api/queue").status_code == 401
    wrong = stranger.post("/admin/handoff/login", data={"login": "lan", "password": "sai-mat-khau"})
    assert wrong.status_code == 401 and "không đúng" in wrong.get_data(as_text=True)
    lan = signed_in(app, "lan", live_handoff["lan"][1])
    queue = shared_queue(app.config["TROLYAO"])
    queue.enqueue("u-csrf-check", "asked", True)
    no_csrf = lan.post("/admin/handoff/api/conversations/u-csrf-check/take", json={})
    assert no_csrf.status_code == 403 and queue.get("u-csrf-check").state == "waiting"
    assert act(lan, "u-never-queued", "take").status_code == 404
    # Who asks is checked before what they sent: a stranger learns nothing from the body rules.
    unsigned = app.test_client().post("/admin/handoff/api/conversations/u-csrf-check/reply",
                                      json={"text": ""})
    assert unsigned.status_code == 401 and "Bearer" in unsigned.headers["WWW-Authenticate"]
    assert act(lan, "u-csrf-check", "take").status_code == 200
    assert act(lan, "u-csrf-check", "reply", text="  ").status_code == 400
    assert act(lan, "u-csrf-check", "reply", text="x" * 2001).status_code == 400
    assert stranger.get("/api/handoff/updates?sender=bad sender").status_code == 400
    assert stranger.get("/api/handoff/updates?sender=web-1&after=x").status_code == 400
    assert stranger.get("/api/handoff/updates?sender=web-unknown").get_json()["state"] == "none"
    # The admin token keeps working, as "admin".
    admin = app.test_client()
    headers = {"Authorization": f"Bearer {app.config['TROLYAO'].admin_token}"}
    assert admin.get("/admin/handoff/api/queue", headers=headers).get_json()["me"]["id"] == "admin"
    assert admin.post("/admin/handoff/api/conversations/u-csrf-check/close", headers=headers,
                      json={}).status_code == 200  # admins may close anybody's
    # Signing out ends the session (on the server too) and is audited.
    assert lan.post("/admin/handoff/logout", data={"csrf": lan.csrf}).status_code == 303
    assert lan.get("/admin/handoff/api/queue").status_code == 401
    actions = [e["action"] for e in AuditLog.from_settings(app.config["TROLYAO"]).recent(20)
               if e["actor"] == "staff:lan"]
    assert "handoff.sign_out" in actions and "handoff.sign_in" in actions


def test_the_second_failure_in_a_row_queues_the_conversation(app, assistant, settings, live_handoff):
    citizen = app.test_client()
    sender = f"web-{uuid.uuid4().hex}"
    first = say(citizen, sender, "asdkj qwe zxc")
    assert "handoff" not in first  # the first failure asks again
    second = say(citizen, sender, "xyz abc uvw")
    assert second["handoff"] is True and "cán bộ hỗ trợ" in second["messages"][0]["text"]
    ticket = shared_queue(settings).get(assistant.conversation_id(sender))
    assert ticket.state == "waiting" and ticket.reason == "failed_twice"
    shared_queue(settings).end(ticket.conversation, "staff:test", "closed")
