"""Issue 13, medium: with `trolyao serve --workers 2` and SQLite, a 200 means stored (a
conversation lock across workers), slow clients cannot freeze the server (requests are read
without a thread and time out), and gunicorn's own errors are JSON.

One real gunicorn server with two workers for the module (each worker loads the Rasa model)."""
from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from pg_support import new_database
from serve_support import ServedAssistant, serve_env

pytestmark = pytest.mark.slow
READ_TIMEOUT = 3  # TROLYAO_REQUEST_READ_TIMEOUT for this server


def post(base: str, body: dict, timeout: float = 60) -> tuple[int, dict]:
    request = urllib.request.Request(base + "/api/chat", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@contextmanager
def serve(tmp: Path, **env_extra):
    """`trolyao serve --workers 2` with this module's read timeout, until both workers answer."""
    env = serve_env(TROLYAO_REQUEST_READ_TIMEOUT=str(READ_TIMEOUT), **env_extra)
    with ServedAssistant(env, tmp / "serve.log", healthy_in_a_row=4) as running:
        yield {"base": running.base, "port": running.port, "log": tmp / "serve.log"}


@pytest.fixture(scope="module")
def server(settings, rasa_model, knowledge_index, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serving")
    db = tmp / "conversations.db"
    with serve(tmp, TROLYAO_TRACKER_STORE=f"sqlite:///{db}") as running:
        yield {**running, "db": db}


def stored_user_texts(db: Path, conversation_id: str) -> list[str]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT data FROM events WHERE type_name = 'user' AND sender_id = ? "
                           "ORDER BY id", (conversation_id,)).fetchall()
    finally:
        con.close()
    return [json.loads(data)["text"] for (data,) in rows]


def send_concurrently(base: str, tag: str) -> tuple[list[str], list[tuple[str, str]]]:
    """One busy conversation (as in the issue: 20 threads on one sender) and three others."""
    senders = [f"conc-{tag}-{i}" for i in range(4)]
    jobs = [(senders[0], f"xin chào lần {i}") for i in range(160)]
    jobs += [(s, f"cảm ơn bạn lần {i}") for s in senders[1:] for i in range(30)]
    statuses: list[int] = []
    lock = threading.Lock()

    def send(job):
        status, _ = post(base, {"sender": job[0], "message": job[1]})
        with lock:
            statuses.append(status)

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(send, jobs))
    assert statuses.count(200) == len(jobs), sorted(set(statuses))
    return senders, jobs


def test_two_workers_lose_no_message_of_concurrent_senders(server, settings):
    from trolyao.core.senders import SenderIds, sender_key

    senders, jobs = send_concurrently(server["base"], uuid.uuid4().hex[:6])
    ids = SenderIds(sender_key(settings.home))
    for sender in senders:
        sent = sorted(text for s, text in jobs if s == sender)
        stored = sorted(stored_user_texts(server["db"], ids.stored(sender)))
        assert stored == sent, f"{sender}: {len(stored)} stored of {len(sent)} answered"


def test_two_workers_on_postgresql_lose_nothing(postgres, settings, rasa_model, knowledge_index,
                                                tmp_path):
    """The same with PostgreSQL (advisory locks), on a throw-away local server."""
    import sqlalchemy as sa

    from trolyao.core.senders import SenderIds, sender_key

    database = new_database(postgres)  # the session's throw-away server (conftest)
    with serve(tmp_path, TROLYAO_TRACKER_STORE=database) as running:
        senders, jobs = send_concurrently(running["base"], uuid.uuid4().hex[:6])
    ids = SenderIds(sender_key(settings.home))
    engine = sa.create_engine(database)
    try:
        with engine.connect() as connection:
            for sender in senders:
                rows = connection.execute(sa.text(
                    "SELECT data FROM events WHERE type_name = 'user' AND sender_id = :s"),
                    {"s": ids.stored(sender)}).fetchall()
                stored = sorted(json.loads(data)["text"] for (data,) in rows)
                sent = sorted(text for s, text in jobs if s == sender)
                assert stored == sent, f"{sender}: {len(stored)} stored of {len(sent)} answered"
    finally:
        engine.dispose()


def slow_client(port: int, kind: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    body = json.dumps({"sender": "slow", "message": "xin chào"}).encode()
    head = (f"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    if kind == "body":  # headers, then part of the body, then nothing
        sock.sendall(head + body[:5])
    elif kind == "headers":  # half of the headers
        sock.sendall(head[:30])
    # "idle": connects and sends nothing
    return sock


def test_slow_clients_do_not_delay_a_normal_one(server):
    assert post(server["base"], {"sender": "warm", "message": "xin chào"})[0] == 200
    kinds = ["body"] * 12 + ["headers"] * 4 + ["idle"] * 4
    sockets = [slow_client(server["port"], kind) for kind in kinds]
    try:
        time.sleep(0.5)  # they are all waiting now
        start = time.monotonic()
        status, reply = post(server["base"], {"sender": f"normal-{uuid.uuid4().hex[:6]}",
                                              "message": "đăng ký tạm trú online thế nào"})
        elapsed = time.monotonic() - start
        assert status == 200 and reply["messages"]
        assert elapsed < 2.0, f"a normal client waited {elapsed:.2f} s behind 20 slow ones"
        # The stalled requests end: 408 (JSON) once the read timeout has passed, then closed.
        stalled = sockets[0]
        stalled.settimeout(READ_TIMEOUT + 5)
        answer = b""
        while chunk := stalled.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"request_timeout"' in answer
    finally:
        for sock in sockets:
            sock.close()


def raw_request(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    return answer


@pytest.mark.parametrize("data, status", [
    (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
    (b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", b"400"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n", b"431"),
    (b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}", b"400"),
    (b"GET /healthz\r\n", b"400"),  # HTTP/0.9
])
def test_errors_gunicorn_answers_itself_are_json(server, data, status):
    answer = raw_request(server["port"], data)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == status, head[:200]
    assert b"application/json" in head.lower()
    assert "error" in json.loads(body)


def test_a_chunked_body_with_a_bad_chunk_size_is_a_400(server):
    body = json.dumps({"sender": "c", "message": "xin chào"}).encode()
    data = (b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(body) + body
            + b"\r\n1x\r\nz\r\n0\r\n\r\n")
    answer = raw_request(server["port"], data)
    assert answer.split(b" ")[1] == b"400", answer[:300]
