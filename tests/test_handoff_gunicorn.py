"""Live hand-off under `trolyao serve --workers 2` (gunicorn), then a restart in the middle.

Staff sign in once and act through either worker (the session lives in the shared
var/admin-sessions.db, signed with TROLYAO_SECRET_KEY); the citizen's waiting requests get
the staff reply within 2 s whichever worker holds them; after a restart of the server the
queue, the taken state and the paused conversation are all still there."""
from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from conftest import STAFF
from serve_support import ServedAssistant, serve_env

from trolyao.staff.accounts import hash_password

pytestmark = pytest.mark.slow


def request(opener, url: str, body: dict | None = None, form: dict | None = None,
            headers: dict | None = None, timeout: float = 60) -> tuple[int, dict | str]:
    data = json.dumps(body).encode() if body is not None else (
        urllib.parse.urlencode(form).encode() if form is not None else None)
    req = urllib.request.Request(url, data=data, headers={
        **({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})})
    try:
        with opener.open(req, timeout=timeout) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as exc:
        text, status = exc.read().decode(), exc.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


@pytest.fixture()
def server(settings, rasa_model, knowledge_index, tmp_path):
    accounts = tmp_path / "staff.json"
    accounts.write_text(json.dumps({"accounts": [
        {"login": login, "name": name, "password_hash": hash_password(password)}
        for login, (name, password) in STAFF.items()]}, ensure_ascii=False), encoding="utf-8")
    env = serve_env(TROLYAO_TRACKER_STORE=f"sqlite:///{tmp_path / 'conversations.db'}",
                    TROLYAO_STAFF_ACCOUNTS_FILE=str(accounts),
                    TROLYAO_OFFICE_HOURS="mon-sun 00:00-24:00", TROLYAO_HANDOFF_WAIT_SECONDS="5",
                    TROLYAO_SECRET_KEY=uuid.uuid4().hex * 2)
    running = ServedAssistant(env, tmp_path / "serve.log")
    running.start()
    yield running
    running.stop()


def test_handoff_across_two_workers_and_a_restart(server):
    import psutil

    assert len(psutil.Process(server.process.pid).children()) == 2
    base = server.base
    citizen = urllib.request.build_opener()
    sender = f"web-{uuid.uuid4().hex}"
    status, asked = request(citizen, base + "/api/chat", {"sender": sender, "message": "cho tôi gặp cán bộ"})
    assert status == 200 and asked["handoff"] is True, asked

    staff = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    status, _ = request(staff, base + "/admin/handoff/login", form={"login": "lan", "password": STAFF["lan"][1]})
    assert status == 200  # redirected to the page
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', request(staff, base + "/admin/handoff")[1]).group(1)
    headers = {"X-CSRF-Token": csrf}
    # Several requests: whichever worker answers knows the session and the queue.
    for _ in range(4):
        status, queue = request(staff, base + "/admin/handoff/api/queue")
        assert status == 200 and queue["me"]["id"] == "staff:lan"
    conversation = queue["waiting"][0]["conversation"]
    status, _ = request(staff, f"{base}/admin/handoff/api/conversations/{conversation}/take", {}, headers=headers)
    assert status == 200
    status, first = request(citizen, f"{base}/api/handoff/updates?sender={sender}")
    assert first["state"] == "taken"

    # Three widgets of the same citizen wait at once (spread over the workers' threads).
    results = []

    def wait_for_reply():
        _status, body = request(urllib.request.build_opener(),
                                f"{base}/api/handoff/updates?wait=1&sender={sender}&after={first['cursor']}")
        results.append((time.monotonic(), body))
    waiters = [threading.Thread(target=wait_for_reply) for _ in range(3)]
    [w.start() for w in waiters]
    time.sleep(1.0)
    sent = time.monotonic()
    status, _ = request(staff, f"{base}/admin/handoff/api/conversations/{conversation}/reply",
                        {"text": "Chào anh/chị, tôi đã nhận cuộc trò chuyện."}, headers=headers)
    assert status == 200
    [w.join(15) for w in waiters]
    assert len(results) == 3
    for arrived, body in results:
        assert [m["text"] for m in body["messages"]] == ["Chào anh/chị, tôi đã nhận cuộc trò chuyện."]
        assert arrived - sent < 2.0, arrived - sent

    # Restart the server in the middle of the hand-off.
    server.stop()
    server.start()
    status, paused = request(citizen, base + "/api/chat", {"sender": sender, "message": "Tôi vẫn đang chờ ạ"})
    assert status == 200 and paused["messages"] == [] and paused["handoff"] is True  # still paused
    status, queue = request(staff, base + "/admin/handoff/api/queue")  # the sign-in survived too
    assert status == 200 and [t["conversation"] for t in queue["mine"]] == [conversation]
    status, detail = request(staff, f"{base}/admin/handoff/api/conversations/{conversation}")
    assert detail["transcript"][-1]["text"] == "Tôi vẫn đang chờ ạ"
    status, _ = request(staff, f"{base}/admin/handoff/api/conversations/{conversation}/return", {}, headers=headers)
    assert status == 200
    status, answered = request(citizen, base + "/api/chat",
                               {"sender": sender, "message": "Đăng ký tạm trú online thế nào?"})
    assert "handoff" not in answered and answered["sources"][0]["service"] == "tam-tru", answered
