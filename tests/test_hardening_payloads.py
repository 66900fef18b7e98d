"""Issue 13, high: citizen text is never read as a Rasa intent payload unless the bot offered
it (or it is in the small validated set of trolyao/payloads.py), and the report and the
admin dashboard survive any value stored in the conversation store.

Real assistant, real Flask app, real SQLite tracker store; the report also through the real
`trolyao report` command in another process."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from trolyao.core.payloads import STALE_PAYLOAD_REPLY

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TROLYAO = PROJECT_ROOT / ".venv" / "bin" / "trolyao"
FEEDBACK_NEGATIVE = '/give_feedback{"feedback":"negative"}'
FEEDBACK_POSITIVE = '/give_feedback{"feedback":"positive"}'


def bearer(settings) -> dict:
    return {"Authorization": f"Bearer {settings.admin_token}"}


def clear_report_cache(app) -> None:
    cache = app.extensions.get("admin_report_cache")
    if cache is not None:
        cache.clear()


def new_sender() -> str:
    return f"hardening-{uuid.uuid4().hex[:10]}"


def post_chat(client, sender: str, message: str, path: str = "/api/chat"):
    response = client.post(path, json={"sender": sender, "message": message})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def text_of(reply: dict) -> str:
    return "\n".join(m.get("text", "") for m in reply["messages"])


def user_events(assistant, sender):
    return [e for e in assistant.tracker_events(sender) if e["event"] == "user"]


def slot_values(assistant, sender, name):
    return [e["value"] for e in assistant.tracker_events(sender)
            if e["event"] == "slot" and e["name"] == name]


def admin_views_ok(app, settings) -> dict:
    """Every admin view a maintainer opens answers 200; returns the JSON report."""
    clear_report_cache(app)
    client = app.test_client()
    for path in ("/admin", "/admin/report.csv", "/admin/charts/services.svg",
                 "/admin/charts/satisfaction.svg", "/admin/charts/per-day.svg",
                 "/admin/charts/answered.svg"):
        response = client.get(path, headers=bearer(settings))
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:500])
    response = client.get("/admin/report", headers=bearer(settings))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()


# ---------------------------------------------------------------- the reproduction of the issue
def test_forged_service_payload_is_refused_and_admin_keeps_working(app, client, assistant, settings):
    sender = new_sender()
    reply = post_chat(client, sender, '/ask_procedure{"service":1}')
    assert text_of(reply) == STALE_PAYLOAD_REPLY
    assert reply["intent"]["name"] is None and reply["fallback"] is True
    # Nothing of it reached the conversation store.
    assert user_events(assistant, sender) == []
    report = admin_views_ok(app, settings)
    assert all(isinstance(s["service"], str) for s in report["summary"]["top_services"])


def test_invented_service_never_reaches_the_charts(app, client, assistant, settings):
    sender = new_sender()
    reply = post_chat(client, sender, '/ask_procedure{"service":"<img src=x>"}')
    assert text_of(reply) == STALE_PAYLOAD_REPLY
    assert slot_values(assistant, sender, "service") == []
    report = admin_views_ok(app, settings)
    assert "<img src=x>" not in json.dumps(report, ensure_ascii=False)


def test_feedback_payload_without_an_answer_is_not_feedback(client, assistant):
    sender = new_sender()
    reply = post_chat(client, sender, FEEDBACK_NEGATIVE)
    assert text_of(reply) == STALE_PAYLOAD_REPLY
    assert slot_values(assistant, sender, "feedback") == []
    # Nor after a declined question (no answer asked for a verdict).
    declined = post_chat(client, sender, "đăng ký nuôi chó cảnh ở phường thế nào")
    assert declined["fallback"] is True
    post_chat(client, sender, FEEDBACK_NEGATIVE)
    assert slot_values(assistant, sender, "feedback") == []


def test_form_choice_that_was_not_offered_is_refused(client, assistant):
    sender = new_sender()
    reply = post_chat(client, sender, '/inform{"lltp_type":"phieu_2"}')
    assert text_of(reply) == STALE_PAYLOAD_REPLY
    assert slot_values(assistant, sender, "lltp_type") == []


@pytest.mark.parametrize("message", ["/bot_challenge", "/greet@1.0", "/restart",
                                     '/ask_procedure{"service":"tam-tru","service":"x"}',
                                     '/ask_procedure{"service":["tam-tru"]}'])
def test_other_slash_texts_are_never_intents(client, assistant, message):
    sender = new_sender()
    reply = post_chat(client, sender, message)
    assert reply["intent"]["confidence"] < 1.0 or reply["intent"]["name"] is None
    assert reply["intent"]["name"] not in ("bot_challenge", "greet", "restart", "ask_procedure")


def test_rest_webhook_applies_the_same_rule(client, assistant):
    sender = new_sender()
    response = client.post("/webhooks/rest/webhook",
                           json={"sender": sender, "message": FEEDBACK_POSITIVE})
    assert response.status_code == 200
    assert [m.get("text") for m in response.get_json()] == [STALE_PAYLOAD_REPLY]
    assert slot_values(assistant, sender, "feedback") == []


# ---------------------------------------------------------------- what the bot offers still works
def test_offered_feedback_button_is_stored(client, assistant):
    sender = new_sender()
    answer = post_chat(client, sender, "đăng ký khai sinh online cần giấy tờ gì")
    assert answer["fallback"] is False
    offered = {b["payload"] for m in answer["messages"] for b in m.get("buttons", [])}
    assert FEEDBACK_NEGATIVE in offered
    thanks = post_chat(client, sender, FEEDBACK_NEGATIVE)
    assert "Cảm ơn" in text_of(thanks)
    assert slot_values(assistant, sender, "feedback") == ["negative"]


def test_vote_after_a_thank_you_still_counts(client, assistant):
    """The widget keeps an answer's vote buttons until used: a vote after "cảm ơn" is valid."""
    sender = new_sender()
    assert post_chat(client, sender, "đổi bằng lái xe online được không")["fallback"] is False
    post_chat(client, sender, "cảm ơn")
    post_chat(client, sender, FEEDBACK_POSITIVE)
    assert slot_values(assistant, sender, "feedback")[-1:] == ["positive"]


def test_an_older_service_button_is_still_a_question_about_that_service(client, assistant):
    sender = new_sender()
    first = post_chat(client, sender, "asdkj qwe zxc")
    payloads = [b["payload"] for m in first["messages"] for b in m.get("buttons", [])]
    assert payloads and payloads[0].startswith('/ask_procedure{"service":')
    service = json.loads(payloads[0][len("/ask_procedure"):])["service"]
    post_chat(client, sender, "xin chào")  # the buttons are no longer the last reply
    picked = post_chat(client, sender, payloads[0])
    assert picked["fallback"] is False and picked["sources"][0]["service"] == service


def test_an_aspect_button_of_an_earlier_answer_still_works(client, assistant):
    sender = new_sender()
    answer = post_chat(client, sender, "đăng ký tạm trú online thế nào")
    aspect_buttons = [b["payload"] for m in answer["messages"] for b in m.get("buttons", [])
                      if '"aspect"' in b["payload"]]
    assert aspect_buttons, "a procedure's answer offers its other aspects as buttons"
    post_chat(client, sender, FEEDBACK_POSITIVE)  # the last reply is now "Cảm ơn…"
    picked = post_chat(client, sender, aspect_buttons[0])
    assert text_of(picked) != STALE_PAYLOAD_REPLY
    assert picked["fallback"] is False and picked["sources"][0]["service"] == "tam-tru"


def test_offered_form_choice_is_accepted(assistant):
    sender = new_sender()
    asked = assistant.chat(sender, "làm lý lịch tư pháp cần giấy tờ gì?")
    offered = [b["payload"] for m in asked.messages for b in m.get("buttons", [])]
    assert '/inform{"lltp_type":"phieu_1"}' in offered
    assistant.chat(sender, '/inform{"lltp_type":"phieu_1"}')
    assert slot_values(assistant, sender, "lltp_type")[:1] == ["phieu_1"]


# ---------------------------------------------------------------- the policy itself
@pytest.fixture()
def policy(assistant):
    return assistant.payloads


@pytest.mark.parametrize("text", [
    '/ask_procedure{"service":1}', '/ask_procedure{"service":null}',
    '/ask_procedure{"service":["tam-tru"]}', '/ask_procedure{"service":{"a":1}}',
    '/ask_procedure{"service":"<img src=x>"}', '/ask_procedure{"service":"khong-co-that"}',
    '/ask_procedure{"secret":"tam-tru"}', '/no_such_intent', '/ask_procedure@0.3',
    '/give_feedback{"feedback":"rat-tot"}', '/inform{"lltp_type":"phieu_3"}',
    '/ask_procedure{"service":"tam-tru"} extra', '/ask_procedure["tam-tru"]',
    '/ask_procedure{"service":"tam-tru"', '/ask_procedure{"service":"tam-tru","aspect":"<b>"}',
    '/ask_procedure{"service":"tam-tru","aspect":"gia-ve"}',
])
def test_policy_refuses_invalid_payloads(policy, text):
    assert policy.parse(text) is None


@pytest.mark.parametrize("text", ['/ask_procedure{"service":"tam-tru"}', FEEDBACK_NEGATIVE,
                                  '/ask_procedure{"service":"tam-tru","aspect":"fee"}',
                                  '/inform{"lltp_requester":"nguoi_than"}', "/greet"])
def test_policy_accepts_valid_payloads_canonically(policy, text):
    payload = policy.parse(text)
    assert payload is not None and payload.text == text


# ---------------------------------------------------------------- stored values of any kind
BAD_EVENTS = [
    # What `/ask_procedure{"service": 1}` stored before the fix.
    {"event": "user", "text": '/ask_procedure{"service":1}',
     "parse_data": {"intent": {"name": "ask_procedure", "confidence": 1.0},
                    "entities": [{"entity": "service", "value": 1}]}},
    {"event": "slot", "name": "service", "value": 1},
    {"event": "bot", "text": "trả lời", "data": {"custom": {"trolyao": {
        "sources": [{"service": 1}, "x", None], "fallback": "yes"}}}},
    {"event": "user", "text": '/ask_procedure{"service":"<img src=x>"}',
     "parse_data": {"intent": {"name": "ask_procedure", "confidence": 1.0},
                    "entities": [{"entity": "service", "value": "<img src=x>"}]}},
    {"event": "slot", "name": "service", "value": "<img src=x>"},
    {"event": "slot", "name": "service", "value": ["tam-tru"]},
    {"event": "slot", "name": "feedback", "value": ["negative"]},
    {"event": "slot", "name": "feedback", "value": None},
    {"event": "slot", "name": "feedback", "value": {"x": 1}},
    # Unreadable ones: counted and skipped.
    {"event": "user", "text": 12345, "parse_data": {"intent": {"name": "ask_procedure"}}},
    {"event": "user", "text": "câu hỏi", "parse_data": ["not", "an", "object"]},
    {"event": "user", "text": "câu hỏi", "parse_data": {"intent": {"name": 7, "confidence": "abc"}}},
    {"event": "user", "text": "câu hỏi", "parse_data": {"intent": None, "entities": "tam-tru"}},
    {"event": "bot", "text": ["a", "b"]},
    {"event": "bot", "text": None, "data": "<b>html</b>"},
    {"event": "user", "text": "<script>alert(1)</script>", "timestamp": "never",
     "parse_data": {"intent": {"name": "ask_procedure", "confidence": None}}},
    {"event": "user", "text": None, "timestamp": 1e300},
]
UNREADABLE = 8


def insert_raw_events(sql_store, sender: str, events: list) -> None:
    now = time.time()
    with sql_store.session_scope() as session:
        for i, event in enumerate(events):
            event = {"timestamp": now + i * 0.001, **event} if isinstance(event, dict) else event
            session.add(sql_store.SQLEvent(
                sender_id=sender, type_name=event.get("event", "user") if isinstance(event, dict)
                else "user", timestamp=now + i * 0.001, intent_name=None, action_name=None,
                data=json.dumps(event) if not isinstance(event, str) else event))
        # And rows that are not JSON at all.
        session.add(sql_store.SQLEvent(sender_id=sender, type_name="user", timestamp=now,
                                       data="{not json"))
        session.add(sql_store.SQLEvent(sender_id=sender, type_name="slot", timestamp=now,
                                       data=None))
        session.commit()


@pytest.fixture()
def old_store(tmp_path):
    """A SQLite conversation store of its own holding BAD_EVENTS (the shared store stays clean:
    other tests compare it through Rasa's replay, which refuses such events)."""
    import asyncio

    from rasa.core.tracker_store import TrackerStore

    from trolyao.core.stores import close_store, innermost_store, tracker_store_endpoint

    url = f"sqlite:///{tmp_path / 'old-conversations.db'}"

    async def make():
        return TrackerStore.create(tracker_store_endpoint(url))

    store = asyncio.run(make())
    insert_raw_events(innermost_store(store), "citizen-old", BAD_EVENTS)
    close_store(store)
    return url


def test_report_reads_around_any_stored_value(old_store, settings):
    import asyncio
    import dataclasses

    from rasa.core.tracker_store import TrackerStore

    from trolyao.core.stores import close_store, tracker_store_endpoint
    from trolyao.staff.report import read_exchanges_from_settings, read_exchanges_via_trackers

    exchanges = read_exchanges_from_settings(dataclasses.replace(settings, tracker_store=old_store))
    assert exchanges.skipped >= UNREADABLE + 2
    assert exchanges, "the readable questions are kept"
    for x in exchanges:
        assert x.likely_service is None, "no invented or non-string service"
        assert x.feedback is None
        assert isinstance(x.question, str) and isinstance(x.answer, str)

    async def slow_path():  # Redis & co.: through Rasa's replay, which refuses such rows
        store = TrackerStore.create(tracker_store_endpoint(old_store))
        try:
            return await read_exchanges_via_trackers(store, include_synthetic=True)
        finally:
            close_store(store)

    assert asyncio.run(slow_path()).skipped >= 1


def test_dashboard_and_json_survive_any_stored_value(old_store, settings):
    """The admin views over that store (an app whose assistant is still loading reads the
    configured store directly, the same code path as a running one)."""
    import dataclasses

    from webhook.app import create_app

    app = create_app(assistant=None, settings=dataclasses.replace(settings, tracker_store=old_store),
                     start=False)
    report = admin_views_ok(app, settings)
    assert report["skipped_records"] >= UNREADABLE + 2
    assert report["summary"]["questions"] >= 1
    services = [s["service"] for s in report["summary"]["top_services"]]
    assert "<img src=x>" not in services and 1 not in services
    page = app.test_client().get("/admin", headers=bearer(settings)).get_data(as_text=True)
    assert "không đọc được" in page


def test_report_command_survives_any_stored_value(old_store):
    """`trolyao report` over a store holding events from before the fix."""
    command = [str(TROLYAO)] if TROLYAO.exists() else [sys.executable, "-m", "trolyao.cli"]
    env = {**os.environ, "TROLYAO_TRACKER_STORE": old_store, "COLUMNS": "200"}
    table = subprocess.run(command + ["report"], capture_output=True, text=True, timeout=300,
                           env=env, cwd=PROJECT_ROOT)
    assert table.returncode == 0, table.stderr[-2000:]
    assert "không đọc được" in table.stdout
    result = subprocess.run(command + ["report", "--csv", "-"], capture_output=True, text=True,
                            timeout=300, env=env, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert not [r for r in rows if r["service"] not in ("",) and "<" in r["service"]]
