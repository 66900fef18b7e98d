"""Conversations in a real PostgreSQL server (started by the tests, tests/pg_support.py):
two gunicorn workers writing at once lose nothing, a conversation survives a restart of the
server, the report's SQL query reads it, privacy deletion, retention and the audit log work
there, and a database that does not answer at start-up is one clear line, not a traceback.

Rasa loads: the two gunicorn workers (in parallel) and one in-process assistant after them."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from pg_support import free_port, new_database
from serve_support import ServedAssistant, serve_env
from test_privacy import assert_purge_keeps_only_recent_sessions, privacy_over
from trolyao.core.audit import AuditLog
from trolyao.core.senders import SenderIds
from trolyao.core.stores import StoreUnreachable

pytestmark = pytest.mark.slow
FIRST = "Đăng ký tạm trú online thế nào?"
FOLLOW_UPS = ["lệ phí bao nhiêu?", "cần giấy tờ gì?", "mất bao lâu?"]


def post(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.fixture(scope="module")
def pg_url(postgres):
    return new_database(postgres, "conversations")


@pytest.fixture(scope="module")
def served_on_postgres(settings, rasa_model, knowledge_index, pg_url, tmp_path_factory):
    """`trolyao serve --workers 2` on PostgreSQL: many conversations at once (and three
    messages of one conversation at once), one conversation deleted by staff; then the
    server is stopped. Returns what was sent."""
    folder = tmp_path_factory.mktemp("pg-serve")
    env = serve_env(TROLYAO_TRACKER_STORE=pg_url, TROLYAO_AUDIT_STORE=pg_url)
    sent: dict[str, list[str]] = {}
    with ServedAssistant(env, folder / "serve.log") as running:
        base, process = running.base, running.process
        import psutil

        workers = len(psutil.Process(process.pid).children())

        def conversation(sender: str) -> list[tuple[int, dict]]:
            return [post(base + "/api/chat", {"sender": sender, "message": text})
                    for text in [FIRST] + FOLLOW_UPS]

        senders = [f"pg-{uuid.uuid4().hex[:10]}" for _ in range(6)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = dict(zip(senders, pool.map(conversation, senders)))
        for sender, replies in results.items():
            assert all(status == 200 for status, _ in replies), replies
            sent[sender] = [FIRST] + FOLLOW_UPS
        # Three messages of one conversation at the same moment: the advisory lock queues them.
        same = f"pg-{uuid.uuid4().hex[:10]}"
        texts = ["hộ chiếu làm ở đâu?", "lý lịch tư pháp là gì?", "căn cước công dân cấp đổi thế nào?"]
        with ThreadPoolExecutor(max_workers=3) as pool:
            statuses = list(pool.map(lambda t: post(base + "/api/chat", {"sender": same, "message": t})[0],
                                     texts))
        assert statuses == [200, 200, 200]
        sent[same] = texts
        deleted = senders[-1]
        status, body = post(base + "/admin/privacy/delete", {"sender": deleted},
                            {"Authorization": f"Bearer {settings.admin_token}"})
        assert status == 200 and body["deleted"]["events"] > 0, body
        return {"sent": sent, "deleted": deleted, "same": same, "workers": workers, "url": pg_url}


@pytest.fixture(scope="module")
def pg_assistant(served_on_postgres, settings):
    """A new process's view: an assistant started on the same database after the server stopped."""
    from trolyao.core.assistant import Assistant

    bot = Assistant(dataclasses.replace(settings, tracker_store=served_on_postgres["url"]))
    bot.start(watch_index=False)
    yield bot
    bot.close()


def user_texts_in_database(url: str, conversation: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' ORDER BY id"),
                {"s": conversation}).all()
    finally:
        engine.dispose()
    return [json.loads(data)["text"] for (data,) in rows]


def test_two_gunicorn_workers_write_every_message_to_postgresql(served_on_postgres, settings):
    record = served_on_postgres
    assert record["workers"] == 2
    ids = SenderIds.for_settings(settings)  # the server used the same TROLYAO_HOME key
    for sender, texts in record["sent"].items():
        stored = user_texts_in_database(record["url"], ids.stored(sender))
        if sender == record["deleted"]:
            assert stored == []
        elif sender == record["same"]:
            assert sorted(stored) == sorted(texts), "every concurrent message stored once"
        else:
            assert stored == texts, f"{sender}: messages lost or out of order"
    audit = AuditLog(record["url"])
    entry = audit.recent(1, action="privacy.delete")[0]
    audit.close()
    assert entry["subject"] == ids.stored(record["deleted"]) and entry["actor"] == "admin:token"


def test_a_conversation_survives_a_server_restart_on_postgresql(served_on_postgres, pg_assistant):
    sender = next(s for s in served_on_postgres["sent"]
                  if s not in (served_on_postgres["deleted"], served_on_postgres["same"]))
    events = pg_assistant.tracker_events(sender)
    assert FIRST in [e.get("text") for e in events if e.get("event") == "user"]
    reply = pg_assistant.chat(sender, "thời hạn tạm trú tối đa là bao lâu?")
    assert reply.sources and reply.sources[0]["service"] == "tam-tru", reply.to_api()


def test_the_report_query_reads_postgresql(served_on_postgres, pg_assistant, settings):
    from trolyao.staff.report import (_sql_store, read_exchanges_from_assistant,
                                      read_exchanges_from_settings)

    sql = _sql_store(pg_assistant.tracker_store)
    assert sql is not None and sql.engine.dialect.name == "postgresql"
    exchanges = read_exchanges_from_assistant(pg_assistant)
    ids = SenderIds.for_settings(settings)
    kept = [s for s in served_on_postgres["sent"] if s != served_on_postgres["deleted"]]
    by_conversation = {}
    for exchange in exchanges:
        by_conversation.setdefault(exchange.sender, []).append(exchange.question)
    for sender in kept:
        assert set(served_on_postgres["sent"][sender]) <= set(by_conversation[ids.stored(sender)])
    assert ids.stored(served_on_postgres["deleted"]) not in by_conversation
    # `trolyao report` (no assistant running) reads the same rows.
    fresh = read_exchanges_from_settings(dataclasses.replace(settings, tracker_store=served_on_postgres["url"]))
    assert sorted(x.question for x in fresh) == sorted(x.question for x in exchanges)


def test_retention_purge_on_postgresql(postgres, settings, tmp_path):
    url = new_database(postgres, "retention")
    store = SQLTrackerStore(Domain.empty(), dialect="postgresql", host=url)
    privacy = privacy_over(store, settings, tmp_path)
    try:
        assert_purge_keeps_only_recent_sessions(store, privacy)
    finally:
        privacy.close()
        store.engine.dispose()


def test_the_audit_log_in_postgresql_refuses_changes(postgres):
    url = new_database(postgres, "audit")
    audit = AuditLog(url)
    try:
        audit.record("cli:root", "privacy.export", "u-" + "a" * 32, {"events": 3})
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with audit.engine.begin() as connection:
                connection.execute(sa.text("UPDATE audit_log SET actor = 'x'"))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with audit.engine.begin() as connection:
                connection.execute(sa.text("DELETE FROM audit_log"))
        assert [e["actor"] for e in audit.recent()] == ["cli:root"]
    finally:
        audit.close()


def test_an_unreachable_database_at_start_up_is_one_clear_error(settings, knowledge_index, rasa_model):
    from trolyao.core.assistant import Assistant

    url = f"postgresql://trolyao:mat-khau@127.0.0.1:{free_port()}/trolyao"  # nothing listens
    started = time.monotonic()
    result = subprocess.run([str(Path(sys.executable).with_name("trolyao")), "serve", "--port",
                             str(free_port())], env={**os.environ, "TROLYAO_TRACKER_STORE": url},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip() and "Warning" not in line
             and not line.startswith("  ")]
    assert lines[-1].startswith("error: TROLYAO_TRACKER_STORE: the conversation store "
                                "postgresql://127.0.0.1:"), result.stderr
    assert "is unreachable" in lines[-1]
    assert "Traceback" not in result.stderr and "mat-khau" not in result.stderr
    # The assistant itself (a gunicorn worker, `trolyao shell`) fails fast too, not in Rasa's
    # endless reconnect loop.
    bot = Assistant(dataclasses.replace(settings, tracker_store=url))
    try:
        with pytest.raises(StoreUnreachable, match="TROLYAO_TRACKER_STORE"):
            bot.start(watch_index=False)
    finally:
        bot.close()
    assert time.monotonic() - started < 100
