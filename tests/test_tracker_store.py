"""Conversations are stored outside the process: they survive a restart (SQLite by default,
Redis for several workers), and the follow-up question still knows the service asked about."""
from __future__ import annotations

import dataclasses
import uuid

import pytest

from pg_support import free_port, redis_server

pytestmark = pytest.mark.slow

FIRST_QUESTION = "Đăng ký tạm trú online thế nào?"
FOLLOW_UP = "lệ phí bao nhiêu?"


@pytest.fixture()
def start_assistant(settings, rasa_model, knowledge_index):
    """Start real Assistants on a given conversation store; all are closed at the end."""
    from trolyao.core.assistant import Assistant

    started = []

    def start(tracker_store: str):
        bot = Assistant(dataclasses.replace(settings, tracker_store=tracker_store))
        started.append(bot)
        return bot.start(watch_index=False)

    yield start
    for bot in started:
        bot.close()


@pytest.fixture()
def redis_url(tmp_path):
    """A real redis-server on a free local port, without persistence, for this test only."""
    with redis_server(tmp_path) as url:
        yield url


def user_texts(events: list[dict]) -> list[str]:
    return [e.get("text") for e in events if e.get("event") == "user"]


def assert_conversation_survives_restart(start_assistant, store_url: str) -> None:
    sender = f"restart-{uuid.uuid4().hex[:10]}"
    before = start_assistant(store_url)
    first = before.chat(sender, FIRST_QUESTION)
    assert first.sources and first.sources[0]["service"] == "tam-tru", first.to_api()
    before.close()

    after = start_assistant(store_url)
    assert FIRST_QUESTION in user_texts(after.tracker_events(sender)), \
        "the new process must see the conversation of the old one"
    follow_up = after.chat(sender, FOLLOW_UP)
    assert follow_up.sources, follow_up.to_api()
    assert follow_up.sources[0]["service"] == "tam-tru", \
        "the follow-up must be answered about the service remembered from before the restart"
    assert user_texts(after.tracker_events(sender))[-2:] == [FIRST_QUESTION, FOLLOW_UP]


def test_sqlite_conversation_survives_a_restart(start_assistant, tmp_path):
    assert_conversation_survives_restart(start_assistant, f"sqlite:///{tmp_path / 'conv.db'}")


def test_redis_conversation_survives_a_restart(start_assistant, redis_url):
    assert_conversation_survives_restart(start_assistant, redis_url)


def test_unreachable_redis_fails_at_start_up_with_its_address(start_assistant):
    port = free_port()  # nothing listens there
    with pytest.raises(RuntimeError, match=f"TROLYAO_TRACKER_STORE: .*127.0.0.1:{port}/0 is unreachable") \
            as failure:
        start_assistant(f"redis://:secret@127.0.0.1:{port}/0")
    assert "secret" not in str(failure.value)


@pytest.mark.parametrize("url, expected", [
    ("postgresql://bot:p%40ss@db.internal:5433/trolyao?sslmode=require",
     {"type": "sql", "dialect": "postgresql", "url": "db.internal", "port": 5433, "db": "trolyao",
      "username": "bot", "password": "p@ss", "query": {"sslmode": "require"}}),
    ("redis://:pw@cache:6380/2",
     {"type": "redis", "url": "cache", "port": 6380, "db": 2, "password": "pw", "use_ssl": False}),
    ("rediss://cache/0", {"type": "redis", "url": "cache", "port": 6379, "db": 0, "use_ssl": True}),
])
def test_store_urls_become_rasa_endpoints(url, expected):
    from trolyao.core.stores import tracker_store_endpoint

    endpoint = tracker_store_endpoint(url)
    actual = {"type": endpoint.type, "url": endpoint.url, **endpoint.kwargs}
    assert {k: actual.get(k) for k in expected} == expected


def test_unknown_store_scheme_is_refused_clearly():
    from trolyao.core.stores import tracker_store_endpoint

    with pytest.raises(ValueError, match="mongodb.*sqlite, postgresql, redis"):
        tracker_store_endpoint("mongodb://x/y")
