"""/readyz tells a load balancer whether this worker can answer: model, index and conversation
store, each with its status; /healthz stays the cheap liveness check."""
from __future__ import annotations

import socket
import threading
import time
import types

import pytest
import redis
import sqlalchemy

from webhook.blueprints.health import StoreProbe

pytestmark = pytest.mark.slow


def test_ready_when_model_index_and_store_answer(client, assistant):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["model"] == {"status": "ok", "version": assistant.model_version}
    assert body["checks"]["index"] == {"status": "ok", "version": assistant.knowledge.version}
    assert body["checks"]["store"] == {"status": "ok", "kind": "sqlite"}
    assert client.get("/healthz").status_code == 200


def test_not_ready_while_loading(settings):
    from webhook.app import create_app

    app = create_app(assistant=None, settings=settings, start=False)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not_ready"
    assert body["checks"]["model"]["status"] == "loading"
    assert body["checks"]["index"]["status"] == "loading"
    assert body["checks"]["store"] == {"status": "unknown", "kind": "sqlite"}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_database_makes_the_worker_not_ready(assistant, settings):
    """A real PostgreSQL client refused on a closed local port: 503, the store named as the
    part that failed, the model and index still ok, no address or user in the body."""
    from webhook.app import create_app

    app = create_app(assistant=assistant, settings=settings)
    url = f"postgresql://trolyao:secret-pw@127.0.0.1:{closed_port()}/conversations"
    engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 1})
    app.extensions["store_probe"] = StoreProbe(types.SimpleNamespace(engine=engine), "postgresql")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not_ready"
    assert body["checks"]["store"]["status"] == "unreachable"
    assert body["checks"]["store"]["kind"] == "postgresql"
    assert body["checks"]["model"]["status"] == "ok" and body["checks"]["index"]["status"] == "ok"
    text = response.get_data(as_text=True)
    assert "secret-pw" not in text and "127.0.0.1" not in text and "trolyao:" not in text
    engine.dispose()


@pytest.fixture()
def silent_server():
    """Accepts connections and never answers (a hung Redis or a black-holed database)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for conn in accepted:
        conn.close()


def test_a_store_that_never_answers_is_reported_within_the_limit(silent_server):
    client = redis.Redis(host="127.0.0.1", port=silent_server)  # no socket timeout: would hang
    probe = StoreProbe(types.SimpleNamespace(red=client), "redis", timeout=0.5)
    def probes() -> int:
        return sum(t.name == "store-probe" for t in threading.enumerate())
    running = probes()
    started = time.monotonic()
    first = probe.check()
    second = probe.check()  # the first question is still unanswered: not asked again
    assert time.monotonic() - started < 3
    assert first == second == {"status": "unreachable", "kind": "redis",
                               "error": "no answer within 0.5 s"}
    assert probes() == running + 1
