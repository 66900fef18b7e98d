"""Personal data (Nghị định 13/2023/NĐ-CP): staff export and delete one conversation (web and
CLI), a citizen deletes their own from the widget's id, and the retention purge removes what
is older than TROLYAO_RETENTION_DAYS, in SQLite and Redis stores; every action is audited.

The web tests use the session's real assistant and app (no extra Rasa load); the retention
tests write conversations with old timestamps straight into real stores (no agent needed)."""
from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import secrets
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, BotUttered, SessionStarted, SlotSet,
                                     UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker

from pg_support import redis_server
from trolyao.core.audit import AuditLog
from trolyao.core.senders import SenderIds
from trolyao.staff.privacy import ChannelOutboxRecords, HandoffRecords, Privacy, RetentionSchedule
from trolyao.staff.review_store import ReviewStore

QUESTION = "Đăng ký tạm trú online thế nào?"


def widget_sender() -> str:
    """An id of the shape the widget makes (web- + 96 random bits in hex)."""
    return "web-" + secrets.token_hex(12)


def bearer(settings) -> dict:
    return {"Authorization": f"Bearer {settings.admin_token}"}


def audit_of(settings) -> AuditLog:
    return AuditLog.from_settings(settings)


def user_texts(events: list[dict]) -> list[str]:
    return [e.get("text") for e in events if e.get("event") == "user"]


# ---------------------------------------------------------------- staff, over HTTP
def test_staff_export_then_delete_everything_about_one_conversation(app, client, assistant, settings):
    sender = widget_sender()
    other = widget_sender()
    for text in (QUESTION, "lệ phí bao nhiêu?"):
        assert client.post("/api/chat", json={"sender": sender, "message": text}).status_code == 200
    assert client.post("/api/chat", json={"sender": other, "message": QUESTION}).status_code == 200
    conversation = assistant.conversation_id(sender)
    review = ReviewStore.for_settings(settings)
    review.add_flag(sender=conversation, question=QUESTION, answer="…", note="thiếu lệ phí")

    response = client.get(f"/admin/privacy/export?sender={sender}", headers=bearer(settings))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="trolyao-{conversation}.json"'
    data = response.get_json()
    assert data["conversation_id"] == conversation
    assert [m["text"] for m in data["messages"] if m["from"] == "citizen"] == [QUESTION, "lệ phí bao nhiêu?"]
    assert any(m["from"] == "assistant" and "tạm trú" in m["text"] for m in data["messages"])
    assert [f["note"] for f in data["review_flags"]] == ["thiếu lệ phí"]
    assert data["retention_days"] == settings.retention_days
    assert sender not in json.dumps(data), "the export names the stored id, not the raw sender id"
    # Staff who only have the stored id (from a report) get the same conversation.
    by_stored = client.get(f"/admin/privacy/export?sender={conversation}", headers=bearer(settings))
    assert by_stored.get_json()["events"] == data["events"]

    deleted = client.post("/admin/privacy/delete", json={"sender": sender}, headers=bearer(settings))
    assert deleted.status_code == 200, deleted.get_data(as_text=True)
    counts = deleted.get_json()["deleted"]
    assert counts["events"] == len(data["events"]) and counts["review_flags"] == 1
    assert assistant.tracker_events(sender) == []
    assert review.flags_of([conversation]) == []
    assert user_texts(assistant.tracker_events(other)) == [QUESTION], "other conversations stay"

    after = client.get(f"/admin/privacy/export?sender={sender}", headers=bearer(settings)).get_json()
    assert after["events"] == [] and after["review_flags"] == []
    entries = audit_of(settings).recent(10)
    actions = [(e["action"], e["subject"], e["actor"]) for e in entries if e["subject"] == conversation]
    assert actions[:4] == [("privacy.export", conversation, "admin:token"),
                           ("privacy.delete", conversation, "admin:token"),
                           ("privacy.export", conversation, "admin:token"),
                           ("privacy.export", conversation, "admin:token")]
    assert entries[0]["detail"] == {"events": 0, "review_flags": 0, "handoff_rows": 0,
                                    "channel_outbox_rows": 0}
    listed = client.get("/admin/audit?action=privacy.delete", headers=bearer(settings)).get_json()
    assert listed["entries"][0]["subject"] == conversation
    # The sender continues afterwards as a new conversation.
    assert client.post("/api/chat", json={"sender": sender, "message": QUESTION}).status_code == 200
    assert user_texts(assistant.tracker_events(sender)) == [QUESTION]


def test_staff_privacy_endpoints_need_the_token_and_csrf(app, client, settings):
    sender = widget_sender()
    assert client.post("/api/chat", json={"sender": sender, "message": QUESTION}).status_code == 200
    assert client.get(f"/admin/privacy/export?sender={sender}").status_code == 401
    assert client.post("/admin/privacy/delete", data={"sender": sender}).status_code == 401
    assert client.get("/admin/audit").status_code == 401
    wrong = {"Authorization": "Bearer doan-bua"}
    assert client.post("/admin/privacy/delete", json={"sender": sender}, headers=wrong).status_code == 401

    staff = app.test_client()
    assert staff.post("/admin/login", data={"token": settings.admin_token}).status_code == 303
    assert staff.get(f"/admin/privacy/export?sender={sender}").status_code == 200  # a read: no CSRF
    forged = staff.post("/admin/privacy/delete", data={"sender": sender})
    assert forged.status_code == 403
    html = staff.get("/admin").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    done = staff.post("/admin/privacy/delete", data={"sender": sender, "csrf": csrf})
    assert done.status_code == 200 and done.get_json()["deleted"]["events"] > 0
    assert audit_of(settings).recent(1)[0]["actor"] == "admin:session"
    # A page script sends JSON with the token in a header; without it the same call is refused.
    other = widget_sender()
    assert client.post("/api/chat", json={"sender": other, "message": QUESTION}).status_code == 200
    assert staff.post("/admin/privacy/delete", json={"sender": other}).status_code == 403
    by_script = staff.post("/admin/privacy/delete", json={"sender": other},
                           headers={"X-CSRF-Token": csrf})
    assert by_script.status_code == 200 and by_script.get_json()["deleted"]["events"] > 0

    for bad in ("", "x" * 129, "a b", "<script>"):
        response = client.get("/admin/privacy/export", query_string={"sender": bad}, headers=bearer(settings))
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_sender"
    response = client.post("/admin/privacy/delete", json={"sender": 5}, headers=bearer(settings))
    assert response.status_code == 400


# ---------------------------------------------------------------- the citizen
def test_a_citizen_deletes_their_own_widget_conversation(client, assistant, settings):
    sender = widget_sender()
    assert client.post("/api/chat", json={"sender": sender, "message": QUESTION}).status_code == 200
    assert user_texts(assistant.tracker_events(sender)) == [QUESTION]

    response = client.post("/api/conversation/delete", json={"sender": sender})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["deleted"] is True and response.get_json()["events"] > 0
    assert assistant.tracker_events(sender) == []
    entry = audit_of(settings).recent(1)[0]
    assert (entry["actor"], entry["action"], entry["subject"]) == \
        ("citizen", "privacy.delete", assistant.conversation_id(sender))
    # Deleting again is harmless: nothing left.
    again = client.post("/api/conversation/delete", json={"sender": sender})
    assert again.status_code == 200 and again.get_json()["events"] == 0


@pytest.mark.parametrize("sender", ["pytest-user", "0912345678", "u-" + "a" * 32, "web-123",
                                    "web-" + "A" * 24, None, 12])
def test_a_citizen_cannot_delete_other_kinds_of_conversation(client, assistant, sender):
    """Only the widget's unguessable ids: a phone number, an API client's name or a stored id
    seen in a report do not prove the conversation is yours."""
    victim = "pytest-user" if not isinstance(sender, str) or not sender.startswith(("0", "u-")) else sender
    assert client.post("/api/chat", json={"sender": victim, "message": QUESTION}).status_code == 200
    before = assistant.tracker_events(victim)
    response = client.post("/api/conversation/delete", json={"sender": sender})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_sender"
    assert "cuộc trò chuyện" in response.get_json()["error"]["message"]
    assert assistant.tracker_events(victim) == before


def test_citizen_delete_refuses_broken_bodies(client):
    for body in (b"", b"{", b"[]", b'{"sender": ["web-"]}'):
        response = client.post("/api/conversation/delete", data=body, content_type="application/json")
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_sender"


# ---------------------------------------------------------------- retention
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def old_then_new_events(sender: str, old_days: float, new_days: float | None, now=NOW) -> list:
    """A session `old_days` before `now` and, unless None, another one `new_days` before."""
    def session(days, text):
        at = (now - timedelta(days=days)).timestamp()
        return [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at),
                ActionExecuted("action_listen", timestamp=at),
                UserUttered(text, {"name": "ask_service", "confidence": 1.0}, timestamp=at + 1),
                SlotSet("feedback", "positive", timestamp=at + 2),
                BotUttered(f"trả lời: {text}", timestamp=at + 2),
                ActionExecuted("action_listen", timestamp=at + 3)]
    events = session(old_days, "câu hỏi cũ")
    if new_days is not None:
        events += session(new_days, "câu hỏi mới")
    return events


def save_conversations(store, conversations: dict[str, list]) -> None:
    async def main():
        for sender, events in conversations.items():
            await store.save(DialogueStateTracker.from_events(sender, events))
    asyncio.run(main())


def privacy_over(store, settings, tmp_path, days: int = 180) -> Privacy:
    return Privacy(store, SenderIds(b"k" * 32), ReviewStore(tmp_path / "review.db"),
                   AuditLog(f"sqlite:///{tmp_path / 'audit.db'}"), HandoffRecords(None), days)


def assert_purge_keeps_only_recent_sessions(store, privacy: Privacy) -> None:
    save_conversations(store, {
        "u-old": old_then_new_events("u-old", 400, None),       # nothing recent: goes entirely
        "u-mixed": old_then_new_events("u-mixed", 300, 10),     # the old session goes
        "u-recent": old_then_new_events("u-recent", 20, 5),     # stays whole
    })
    privacy.review.add_flag(sender="u-old", question="câu hỏi cũ", answer="…",
                            created=NOW - timedelta(days=365))
    privacy.review.add_flag(sender="u-recent", question="câu hỏi mới", answer="…",
                            created=NOW - timedelta(days=3))

    counts = privacy.purge(now=NOW)
    assert counts["conversations"] == 1 and counts["conversation_events"] == 14
    assert counts["flags"] == 1
    assert privacy.export("u-old", "test")["events"] == []
    mixed = privacy.export("u-mixed", "test")
    assert [m["text"] for m in mixed["messages"]] == ["câu hỏi mới", "trả lời: câu hỏi mới"]
    assert mixed["events"][0]["name"] == "action_session_start", "cut at a session start"
    assert len(privacy.export("u-recent", "test")["events"]) == 14
    assert [f.sender for f in privacy.review.flags()] == ["u-recent"]
    entry = privacy.audit.recent(action="retention.purge")[0]
    assert entry["detail"]["days"] == 180 and entry["detail"]["conversations"] == 1
    # A second purge finds nothing more.
    assert privacy.purge(now=NOW)["conversation_events"] == 0


def test_retention_purge_in_a_sqlite_store(settings, tmp_path):
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "conversations.db"))
    privacy = privacy_over(store, settings, tmp_path)
    try:
        assert_purge_keeps_only_recent_sessions(store, privacy)
    finally:
        privacy.close()
        store.engine.dispose()


def test_retention_purge_and_delete_in_a_redis_store(settings, tmp_path):
    with redis_server(tmp_path) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        store = RedisTrackerStore(Domain.empty(), host="127.0.0.1", port=port, db=0)
        privacy = privacy_over(store, settings, tmp_path)
        try:
            assert_purge_keeps_only_recent_sessions(store, privacy)
            result = privacy.delete("u-recent", "test")
            assert result["deleted"]["events"] == 14 and result["deleted"]["review_flags"] == 1
            assert store.red.keys("*") == [store.key_prefix + "u-mixed"]
        finally:
            privacy.close()
            store.red.close()


def test_the_daily_purge_runs_once_a_day_in_one_process(tmp_path):
    runs, now = [], [1_000_000.0]
    schedule = RetentionSchedule(lambda: runs.append(now[0]) or {"ok": True}, tmp_path,
                                 every_seconds=86400, clock=lambda: now[0])
    other_worker = RetentionSchedule(lambda: runs.append(("other", now[0])) or {"by": "other"},
                                     tmp_path, every_seconds=86400, clock=lambda: now[0])
    assert schedule.run_if_due() == {"ok": True}
    assert other_worker.run_if_due() is None  # the stamp says: done today
    now[0] += 86400 - 60
    assert schedule.run_if_due() is None
    now[0] += 120
    with open(tmp_path / "retention.lock", "a") as held:  # a worker purging right now
        fcntl.flock(held, fcntl.LOCK_EX)
        assert other_worker.run_if_due() is None
    assert other_worker.run_if_due() == {"by": "other"}  # a day later, the lock free: it purges
    assert runs == [1_000_000.0, ("other", now[0])]


def test_a_failed_purge_is_retried_and_the_thread_lives_on(tmp_path):
    attempts = []

    def purge():
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise RuntimeError("database busy")
        return {"ok": True}

    schedule = RetentionSchedule(purge, tmp_path, check_seconds=0.05).start()
    deadline = time.monotonic() + 10
    while not (tmp_path / "retention.last").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    schedule.stop()
    assert len(attempts) == 2 and (tmp_path / "retention.last").exists()


# ---------------------------------------------------------------- the CLI
def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TROLYAO_HOME": str(home), "TROLYAO_SENDER_KEY": "k" * 32,
           "TROLYAO_TRACKER_STORE": f"sqlite:///{home / 'var' / 'conversations.db'}"}
    env.pop("TROLYAO_AUDIT_STORE", None)
    return subprocess.run([str(Path(sys.executable).with_name("trolyao")), "privacy", *args],
                          env=env, capture_output=True, text=True, timeout=180)


def test_cli_export_delete_and_purge(tmp_path):
    home = tmp_path
    (home / "var").mkdir()
    sender = "zalo-user-42"
    conversation = SenderIds(b"k" * 32).stored(sender)
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(home / "var" / "conversations.db"))
    now = datetime.now(timezone.utc)  # the command purges relative to the real clock
    save_conversations(store, {conversation: old_then_new_events(conversation, 30, 2, now),
                               "u-ancient": old_then_new_events("u-ancient", 900, None, now)})
    store.engine.dispose()

    exported = run_cli(home, "export", "--sender", sender)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["conversation_id"] == conversation
    assert user_texts(data["events"]) == ["câu hỏi cũ", "câu hỏi mới"]
    assert [f["value"] for f in data["feedback"]] == ["positive", "positive"]

    purged = run_cli(home, "purge")
    assert purged.returncode == 0, purged.stderr
    assert json.loads(purged.stdout)["conversations"] == 1  # u-ancient; the other is recent

    deleted = run_cli(home, "delete", "--sender", sender)
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["deleted"]["events"] == 14
    assert json.loads(run_cli(home, "export", "--sender", sender).stdout)["events"] == []

    entries = AuditLog(f"sqlite:///{home / 'var' / 'audit.db'}").recent()
    assert [e["action"] for e in entries] == ["privacy.export", "privacy.delete", "retention.purge",
                                              "privacy.export"]
    assert all(e["actor"].startswith("cli") for e in entries)


def test_hand_off_records_are_exported_deleted_and_purged(tmp_path):
    """The hand-off queue's own tables (trolyao/core/handoff.py), found by name."""
    from trolyao.core.handoff import HandoffQueue

    url = f"sqlite:///{tmp_path / 'handoff.db'}"
    clock = [NOW.timestamp() - 400 * 86400]
    queue = HandoffQueue(url, clock=lambda: clock[0])
    queue.enqueue("u-old", "asked", True)                  # a year ago
    clock[0] = NOW.timestamp() - 86400
    for conversation in ("u-mine", "u-other"):
        queue.enqueue(conversation, "asked", True)
        queue.take(conversation, "lan", "Nguyễn Thị Lan")
        queue.reply(conversation, "lan", "Chị gọi 0912 345 678 nhé")
    queue.close()

    records = HandoffRecords(url)
    try:
        exported = records.export(["u-mine"])
        assert [r["state"] for r in exported["handoff_queue"]] == ["taken"]
        assert [r["author"] for r in exported["handoff_messages"]] == ["system", "staff"]
        assert "0912" not in json.dumps(exported, default=str)
        assert records.delete(["u-mine"]) == 3
        assert records.export(["u-mine"]) == {"handoff_messages": [], "handoff_queue": []}
        assert records.purge_before(NOW - timedelta(days=180)) == 1  # u-old's queue entry
        assert [r["conversation"] for r in records.export(["u-old", "u-other"])["handoff_queue"]] == ["u-other"]
    finally:
        records.close()
    assert HandoffRecords(None).export(["u-mine"]) == {}  # no hand-off database: nothing stored


def test_the_chat_apps_outbox_is_exported_deleted_and_purged(tmp_path, monkeypatch, settings):
    """What webhook/channels/outbox.py keeps about a Zalo conversation goes with it."""
    from webhook.channels.outbox import Outbox

    path = tmp_path / "channel-outbox.db"
    clock = [NOW.timestamp() - 300 * 86400]
    outbox = Outbox(path, clock=lambda: clock[0])
    outbox.add("zalo", "zalo-user-old", "u-old", [{"text": "trả lời cũ"}])
    clock[0] = NOW.timestamp() - 3600
    outbox.add("zalo", "zalo-user-1", "u-mine", [{"text": "trả lời 1"}, {"text": "trả lời 2"}])
    outbox.add("zalo", "zalo-user-2", "u-other", [{"text": "trả lời khác"}])
    monkeypatch.setenv("TROLYAO_CHANNEL_OUTBOX", str(path))
    records = ChannelOutboxRecords.from_settings(settings)
    try:
        exported = records.export(["u-mine"])
        assert [json.loads(r["body"])["text"] for r in exported["outbox"]] == ["trả lời 1", "trả lời 2"]
        assert [r["recipient"] for r in exported["recipients"]] == ["zalo-user-1"]
        assert records.delete(["u-mine"]) == 3
        assert outbox.recipient_of("u-mine") is None and outbox.recipient_of("u-other")
        assert records.purge_before(NOW - timedelta(days=180)) == 2  # u-old's message and id
        assert outbox.recipient_of("u-old") is None and outbox.recipient_of("u-other")
    finally:
        records.close()
