"""Production serving: `trolyao serve --workers 2` (gunicorn) answers, and any worker continues
a conversation because conversations live in the shared store, not in a worker."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
START_TIMEOUT = 420  # two workers load TensorFlow + the Rasa model at once on a small machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return json.load(response)


@pytest.fixture()
def gunicorn_server(settings, rasa_model, knowledge_index, tmp_path):
    port = free_port()
    env = {**os.environ, "TROLYAO_TRACKER_STORE": f"sqlite:///{tmp_path / 'conversations.db'}",
           "TROLYAO_RATE_LIMIT": "0", "TROLYAO_INDEX_WATCH_SECONDS": "0"}
    log = open(tmp_path / "serve.log", "wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("trolyao")), "serve", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "2", "--threads", "4"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"`trolyao serve` exited with {process.returncode}:\n"
                            + (tmp_path / "serve.log").read_text(errors="replace")[-3000:])
            try:
                if get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn not healthy after {START_TIMEOUT} s")
            time.sleep(1)
        yield base, process
    finally:
        process.send_signal(signal.SIGTERM)  # graceful: workers finish their requests
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_gunicorn_with_two_workers_answers_and_keeps_the_conversation(gunicorn_server):
    import psutil

    base, process = gunicorn_server
    workers = psutil.Process(process.pid).children()
    assert len(workers) == 2, workers

    status, health = get(base + "/healthz")
    # (other tests may re-index meanwhile: any served version will do)
    assert status == 200 and health["status"] == "ok" and health["model"] and health["index"]

    sender = f"prod-{uuid.uuid4().hex[:10]}"
    first = post(base + "/api/chat", {"sender": sender, "message": "Đăng ký tạm trú online thế nào?"})
    assert first["sources"] and first["sources"][0]["service"] == "tam-tru", first
    # Several follow-ups: whichever worker takes each, it reads the conversation from the store.
    for _ in range(3):
        follow_up = post(base + "/api/chat", {"sender": sender, "message": "lệ phí bao nhiêu?"})
        assert follow_up["sources"] and follow_up["sources"][0]["service"] == "tam-tru", follow_up
