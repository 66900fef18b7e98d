"""Shared fixtures: one real trained Rasa model, one real FAISS index, one real assistant.

Everything expensive is session-scoped: the Rasa model is trained once (into the project's
`var/models`, shared with `make run`, retrained only when training data changed), the
index is built once into a temporary TROLYAO_HOME, and one Assistant serves all tests.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
SESSION_HOME = Path(tempfile.mkdtemp(prefix="trolyao-test-"))
ADMIN_TOKEN = "test-admin-token-3f9a"

# Configuration must be in the environment before trolyao.core.runtime reads it.
os.environ.update({
    "TROLYAO_HOME": str(SESSION_HOME),
    # Shared with `make run` (training is skipped when nothing changed); several people
    # working on the same checkout can each point TROLYAO_TEST_MODELS_DIR elsewhere.
    "TROLYAO_MODELS_DIR": os.environ.get("TROLYAO_TEST_MODELS_DIR",
                                         str(PROJECT_ROOT / "var" / "models")),
    "TROLYAO_ADMIN_TOKEN": ADMIN_TOKEN,
    "TROLYAO_RATE_LIMIT": "0",
    "TROLYAO_INDEX_WATCH_SECONDS": "1",
    "RASA_TELEMETRY_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
})
for name in ("TROLYAO_DOCS_DIR", "TROLYAO_INDEX_DIR", "TROLYAO_TRACKER_STORE", "TROLYAO_PORT"):
    os.environ.pop(name, None)


def shared_path(*parts: str) -> Path:
    """A file under ../shared; tests that need it fail loudly if it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: these tests read the shared reference material")
    return path


@pytest.fixture(scope="session")
def settings():
    from trolyao.core import runtime

    runtime.reset()
    return runtime.settings()


@pytest.fixture(scope="session")
def rasa_model(settings):
    from trolyao.serving.training import train_if_needed

    path, _ = train_if_needed(settings)
    return path


@pytest.fixture(scope="session")
def knowledge_index(settings):
    from knowledge.maintenance import build_index

    report = build_index(settings)
    assert report.version, report.to_dict()
    return report


@pytest.fixture(scope="module")
def kb(knowledge_index):
    """The served knowledge base over the session's index (search and decision tests)."""
    from trolyao.core import runtime

    return runtime.knowledge_base()


@pytest.fixture(scope="session")
def assistant(settings, rasa_model, knowledge_index):
    from trolyao.core.assistant import Assistant

    bot = Assistant(settings).start()
    yield bot
    bot.close()


@pytest.fixture(scope="session")
def app(assistant, settings):
    from webhook.app import create_app

    return create_app(assistant=assistant, settings=settings)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def make_client(assistant, settings):
    """A test client of an app built with some settings changed (e.g. rate_limit="3/60")."""
    from webhook.app import create_app

    def make(**changes):
        app = create_app(assistant=assistant, settings=dataclasses.replace(settings, **changes))
        return app.test_client()
    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(app):
    """The real Flask app on a real socket (threaded WSGI server), for browser and load tests."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture()
def chat(client):
    """POST one message to /api/chat and return the JSON reply (asserting HTTP 200)."""
    def _chat(message: str, sender: str = "pytest-user"):
        response = client.post("/api/chat", json={"sender": sender, "message": message})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()
    return _chat


@pytest.fixture(scope="session")
def postgres():
    """URL of a throw-away PostgreSQL server shared by the session (tests/pg_support.py);
    tests that write make their own database with `pg_support.new_database`."""
    from pg_support import postgres_server

    with postgres_server() as url:
        yield url


# The machine's closed network refuses Chromium's background connections: turn them off.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def chromium():
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("Debian chromium is not installed; run `make browser-deps` "
                    "(apt-get install chromium chromium-driver) before the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


STAFF = {"lan": ("Nguyễn Thị Lan", "mat-khau-cua-lan"), "minh": ("Trần Văn Minh", "mat-khau-cua-minh")}


@pytest.fixture()
def live_handoff(settings, tmp_path, monkeypatch):
    """Live hand-off on for one test: two staff accounts, staff on duty round the clock
    (tests change the hours), widget requests wait at most 5 s. Returns the accounts
    {login: (name, password)}."""
    import json

    from trolyao.staff.accounts import hash_password

    path = tmp_path / "staff.json"
    path.write_text(json.dumps({"accounts": [
        {"login": login, "name": name, "password_hash": hash_password(password)}
        for login, (name, password) in STAFF.items()]}, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(settings, "live_handoff", True)
    monkeypatch.setattr(settings, "staff_accounts_file", path)
    monkeypatch.setattr(settings, "office_hours", "mon-sun 00:00-24:00")
    monkeypatch.setattr(settings, "holidays", "")
    monkeypatch.setattr(settings, "handoff_wait_seconds", 5.0)
    return STAFF
