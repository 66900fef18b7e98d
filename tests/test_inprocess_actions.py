"""Custom actions run inside the assistant process, through rasa_sdk's executor."""
from __future__ import annotations

import asyncio
import json
import uuid

import pytest


def test_answer_action_ran_in_process_and_is_recorded(assistant):
    sender = f"act-{uuid.uuid4().hex[:8]}"
    reply = assistant.chat(sender, "Đăng ký khai sinh online cần giấy tờ gì?")
    assert reply.sources and reply.sources[0]["service"] == "khai-sinh"
    events = assistant.tracker_events(sender)
    actions = [e.get("name") for e in events if e.get("event") == "action"]
    assert "action_answer_question" in actions
    assert assistant.agent.action_endpoint.url.startswith("inprocess://")
    # The action's slot updates reached the tracker.
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots.get("service") == "khai-sinh"


def test_unknown_action_is_a_clear_404_like_a_remote_action_server():
    from rasa.utils.endpoints import ClientResponseError

    from trolyao.core.inprocess_actions import InProcessActionEndpoint

    endpoint = InProcessActionEndpoint("actions")
    call = {"next_action": "action_does_not_exist", "sender_id": "x", "tracker": {
        "sender_id": "x", "slots": {}, "latest_message": {}, "events": [], "paused": False,
        "followup_action": None, "active_loop": {}, "latest_action_name": None}, "domain": {},
        "version": "3.6.2"}
    with pytest.raises(ClientResponseError) as info:
        asyncio.run(endpoint.request(json=call))
    assert info.value.status == 404
    assert "action_does_not_exist" in json.loads(info.value.text)["error"]


def test_actions_package_registers_the_answer_action():
    from trolyao.core.inprocess_actions import InProcessActionEndpoint

    endpoint = InProcessActionEndpoint("actions")
    assert "action_answer_question" in endpoint.executor.actions
