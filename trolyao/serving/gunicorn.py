"""Production serving with gunicorn: each worker builds the app (and loads the models) itself.

No preloading: TensorFlow and the assistant's event-loop thread do not survive a fork, so every
worker loads its own Rasa agent after forking (~20 s, memory ~1.1 GB each). Conversations live in
the tracker store (TROLYAO_TRACKER_STORE), so any worker can continue any conversation.

Slow clients: gunicorn's threaded worker gives a connection a thread as soon as its first bytes
arrive, and the thread then waits for the rest of the headers and the body; 16 clients sending
their body slowly occupied every thread. `BufferingThreadWorker` reads each request (headers
and body, up to the body limit) in the worker's event loop, without a thread, and hands it to a
thread only once it is complete; a request not complete within TROLYAO_REQUEST_READ_TIMEOUT
seconds (default 10, counted from its first byte or from the end of the previous request on a
kept-alive connection) gets 408 and is closed. Gunicorn's own errors (bad request line, headers
too large, bad chunked encoding …) are JSON `{"error": {"code", "message"}}` like the app's.
"""
from __future__ import annotations

import errno
import json
import os
import selectors
import shutil
import tempfile
import time
from collections import deque
from functools import partial

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import TConn, ThreadWorker

# What may be buffered per request: the app's body limit (64 KiB), headers, chunk framing.
MAX_BUFFERED_REQUEST = 64 * 1024 + 40 * 1024


def read_timeout() -> float:
    try:
        return max(0.5, float(os.environ.get("TROLYAO_REQUEST_READ_TIMEOUT", "10")))
    except ValueError:
        raise SystemExit("TROLYAO_REQUEST_READ_TIMEOUT must be a number of seconds")


def _chunked_body_complete(body: bytes) -> bool:
    pos = 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return False
        try:
            size = int(body[pos:eol].split(b";")[0].strip() or b"x", 16)
        except ValueError:
            return True  # invalid framing: gunicorn answers 400 at once
        if size < 0:
            return True
        if size == 0:  # last chunk, then optional trailers and an empty line
            return body.find(b"\r\n\r\n", eol) >= 0
        pos = eol + 2 + size + 2
        if pos > len(body):
            return False


def request_complete(buf: bytes) -> tuple[bool, bool]:
    """(whole request buffered — or enough for gunicorn to refuse it at once, client sent
    `Expect: 100-continue`)."""
    if len(buf) > MAX_BUFFERED_REQUEST:
        return True, False
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        first = buf.split(b"\r\n", 1)
        if len(first) == 2 and b" HTTP/" not in first[0]:
            return True, False  # HTTP/0.9 or garbage: gunicorn refuses it
        return False, False
    lines = buf[:end].decode("latin-1").split("\r\n")[1:]
    length, chunked, expect = None, False, False
    for line in lines:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = value
        elif name == "transfer-encoding":
            chunked = "chunked" in value
        elif name == "expect":
            expect = value == "100-continue"
    body = buf[end + 4:]
    if chunked:
        return _chunked_body_complete(body), expect
    if length is None:
        return True, False
    if not length.isdigit() or int(length) > MAX_BUFFERED_REQUEST:
        return True, False  # gunicorn or the app refuses it (400 / 413) without reading it
    return len(body) >= int(length), expect


def _json_response(status: int, reason: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            "Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
            "Cache-Control: no-store\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body


def json_write_error(sock, status_int, reason, mesg):
    """gunicorn's error page (util.write_error), as the app's JSON error body."""
    code = str(reason).lower().replace(" ", "_") or "error"
    util.write_nonblock(sock, _json_response(int(status_int), str(reason), code, str(mesg)))


class BufferingThreadWorker(ThreadWorker):
    """gthread, but requests are read in the event loop and reach a thread only when whole."""

    def init_process(self):
        self.reading: deque = deque()  # connections still sending, oldest deadline first
        self.request_read_timeout = read_timeout()
        util.write_error = json_write_error  # this process only
        super().init_process()

    # ---- new connections and kept-alive ones go through the buffer first
    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        if self.cfg.is_ssl:  # TLS is the reverse proxy's job; keep gunicorn's own path
            client_sock.setblocking(True)
            self.enqueue_req(conn)
            return
        self._start_reading(conn)

    def on_client_socket_readable(self, conn, client):
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        if getattr(conn, "is_http2", False):
            self.enqueue_req(conn)
            return
        self._start_reading(conn)
        self._on_readable(conn, client)

    def _start_reading(self, conn):
        conn.prebuffer = bytearray()
        conn.read_deadline = time.monotonic() + self.request_read_timeout
        conn.sock.setblocking(False)
        self.reading.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _stop_reading(self, conn):
        try:
            self.poller.unregister(conn.sock)
        except (OSError, KeyError, ValueError):
            pass
        try:
            self.reading.remove(conn)
        except ValueError:
            pass

    def _on_readable(self, conn, _client):
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._stop_reading(conn)
            self.nr_conns -= 1
            conn.close()
            return
        conn.prebuffer += data
        complete, expect = request_complete(conn.prebuffer)
        if expect and not complete and not getattr(conn, "continued", False):
            conn.continued = True  # answer "100 Continue" here; gunicorn must not again
            try:
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            except OSError:
                pass
        if complete:
            self._stop_reading(conn)
            if getattr(conn, "continued", False):
                conn.prebuffer = _without_expect(conn.prebuffer)
            conn.sock.setblocking(True)
            self.enqueue_req(conn)

    def murder_keepalived(self, force=False):
        super().murder_keepalived(force)
        now = time.monotonic()
        while self.reading and (force or self.reading[0].read_deadline <= now):
            conn = self.reading.popleft()
            try:
                self.poller.unregister(conn.sock)
            except (OSError, KeyError, ValueError):
                pass
            self.nr_conns -= 1
            if conn.prebuffer:  # a request was started: say why it ends
                try:
                    conn.sock.send(_json_response(
                        408, "Request Timeout", "request_timeout",
                        f"the request was not received within {self.request_read_timeout:g} s"))
                except OSError:
                    pass
            conn.close()

    def handle(self, conn):
        buffered = getattr(conn, "prebuffer", None)
        if buffered:
            conn.prebuffer = None
            conn.sock.setblocking(True)
            conn.init()
            unreader = conn.parser.unreader
            held = unreader.buf.getvalue()
            unreader.buf = type(unreader.buf)()
            unreader.unread(held + bytes(buffered))
            conn.data_ready = True
        return super().handle(conn)


def _without_expect(buf: bytearray) -> bytearray:
    end = buf.find(b"\r\n\r\n")
    lines = bytes(buf[:end]).split(b"\r\n")
    kept = [lines[0]] + [ln for ln in lines[1:] if not ln.lower().startswith(b"expect:")]
    return bytearray(b"\r\n".join(kept)) + buf[end:]


class TrolyaoServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Imported in the worker, after the fork: the launcher must not load the app (and
        # with it Rasa and TensorFlow), which does not survive a fork.
        from webhook.app import create_app

        return create_app()


def close_assistant(server, worker) -> None:
    """gunicorn `worker_exit` hook: stop the Rasa loop and release the conversation store."""
    app = getattr(worker, "wsgi", None)
    assistant = getattr(app, "extensions", {}).get("assistant") if app is not None else None
    if assistant is not None:
        assistant.close()


def prepare_metrics_dir() -> tuple[str, bool]:
    """PROMETHEUS_MULTIPROC_DIR, where each worker writes its metric values (webhook/metrics.py),
    set before the workers fork: the operator's folder, emptied (an earlier run's values would
    add up with this one's), or a new folder removed when the server stops. (path, temporary)"""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.remove(os.path.join(given, name))
        return given, False
    path = tempfile.mkdtemp(prefix="trolyao-metrics-",
                            dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path, True


def forget_worker_metrics(server, worker) -> None:
    """gunicorn `child_exit` hook (in the arbiter): an exited worker's gauges (model and index
    versions) stop counting; its counters stay in the totals."""
    # Imported here: prometheus_client chooses per-process or shared values when first imported,
    # and the arbiter must not import it before serve() has set PROMETHEUS_MULTIPROC_DIR.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def share_cores(workers: int) -> None:
    """Before forking: each worker gets cores / workers compute threads (read by
    trolyao/core/tuning.py in the worker; an explicit TROLYAO_COMPUTE_THREADS wins)."""
    if not os.environ.get("TROLYAO_COMPUTE_THREADS", "").strip():
        os.environ["TROLYAO_COMPUTE_THREADS"] = str(max(1, (os.cpu_count() or 1) // max(1, workers)))


def serve(host: str, port: int, workers: int = 1, threads: int = 8) -> int:
    share_cores(workers)
    metrics_dir, temporary = prepare_metrics_dir()
    try:
        _run_gunicorn(host, port, workers, threads)
    finally:
        if temporary:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _run_gunicorn(host: str, port: int, workers: int, threads: int) -> None:
    TrolyaoServer({
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "trolyao.serving.gunicorn.BufferingThreadWorker",
        "threads": threads,
        # Loading TensorFlow + the Rasa model takes ~20-30 s on 2 cores.
        "timeout": 180,
        "graceful_timeout": 30,
        "preload_app": False,
        "worker_exit": close_assistant,
        "child_exit": forget_worker_metrics,
        # Heartbeat files on tmpfs: a slow disk must not make the arbiter kill busy workers.
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
        "accesslog": None,
        "loglevel": "warning",
    }).run()
