"""Production serving: `trolyao serve --workers 2` (gunicorn) answers, any worker continues
a conversation because conversations live in the shared store, not in a worker, and /metrics
adds up both workers' counters. One server for the module (starting one takes a minute)."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from serve_support import ServedAssistant, serve_env

pytestmark = pytest.mark.slow


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


@pytest.fixture(scope="module")
def gunicorn_server(settings, rasa_model, knowledge_index, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"an earlier run's values")  # must be emptied
    env = serve_env(TROLYAO_TRACKER_STORE=f"sqlite:///{tmp_path / 'conversations.db'}",
                    PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), TROLYAO_LOG_FORMAT="json")
    with ServedAssistant(env, tmp_path / "serve.log") as running:
        yield running.base, running.process, tmp_path


def test_gunicorn_with_two_workers_answers_and_keeps_the_conversation(gunicorn_server):
    import psutil

    base, process, _ = gunicorn_server
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


def scrape(base: str) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    request = urllib.request.Request(base + "/metrics", headers={
        "Authorization": f"Bearer {os.environ['TROLYAO_ADMIN_TOKEN']}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_add_up_both_workers_and_logs_are_json(gunicorn_server):
    """The acceptance figure: after N chat requests from 4 parallel clients, whichever worker
    answers the scrape, /metrics shows exactly N more answered requests."""
    base, _, tmp_path = gunicorn_server
    assert not (tmp_path / "metrics" / "counter_1.db").exists()
    n = 24
    chat = (("endpoint", "/api/chat"), ("method", "POST"), ("status", "200"))
    before = scrape(base)

    def ask(i: int) -> str:
        request = urllib.request.Request(
            base + "/api/chat", method="POST", headers={"Content-Type": "application/json",
                                                         "X-Request-ID": f"gunicorn-{i}"},
            data=json.dumps({"sender": f"g-{uuid.uuid4().hex[:10]}",
                             "message": "Làm lý lịch tư pháp trên VNeID thế nào?"}).encode())
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
            return response.headers["X-Request-ID"]
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(ask, range(n)))
    assert ids == [f"gunicorn-{i}" for i in range(n)]

    scrapes = [scrape(base) for _ in range(4)]  # any worker may answer each one
    for after in scrapes:
        assert after.get(("trolyao_http_requests_total", chat), 0) - \
            before.get(("trolyao_http_requests_total", chat), 0) == n
        assert after.get(("trolyao_answers_total", (("outcome", "answered"),)), 0) - \
            before.get(("trolyao_answers_total", (("outcome", "answered"),)), 0) == n
        assert after.get(("trolyao_answer_seconds_count", (("endpoint", "/api/chat"),)), 0) - \
            before.get(("trolyao_answer_seconds_count", (("endpoint", "/api/chat"),)), 0) == n
    models = [labels for (name, labels), v in scrapes[-1].items()
              if name == "trolyao_model_info" and v == 1]
    assert len(models) == 1, models

    # The workers' logs are JSON lines carrying the ids the client sent.
    access = []
    for line in (tmp_path / "serve.log").read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "trolyao.access" and entry["request_id"].startswith("gunicorn-"):
                assert entry["path"] == "/api/chat" and entry["status"] == 200, entry
                access.append(entry["request_id"])
    assert sorted(access) == sorted(ids)
