"""Request ids and the access log.

Every response carries `X-Request-ID`: the client's (or the reverse proxy's) value when it is
a safe token (1-128 letters, digits or `._:=+/-`), else a new random one, so a citizen's
complaint, the proxy's log and ours can be matched. While a request is handled, its id (and,
on the chat endpoints, the stored hash of the conversation id) is in every log record
(trolyao/core/logformat.py). One access line per request: INFO, probes and /metrics at DEBUG.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request

from trolyao.core.logformat import end_context, set_context_field, start_context

REQUEST_ID_HEADER = "X-Request-ID"
# Bounded and without spaces, quotes or controls: it is echoed in a header and written to logs.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/\-]{1,128}")
QUIET_PATHS = ("/healthz", "/readyz", "/metrics")  # polled every few seconds

access_log = logging.getLogger("trolyao.access")


def request_id_from(given: str | None) -> str:
    """The client's id if it is safe to echo and log, else a new one."""
    if given and SAFE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def current_request_id() -> str:
    found = g.get("request_id")
    if found is None:
        found = g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    return found


def note_sender(sender_hash: str) -> None:
    """The chat views name the conversation (its stored hash) for the rest of the request's logs."""
    set_context_field("sender_hash", sender_hash)


def _begin() -> None:
    g.started = time.perf_counter()
    g.log_context = start_context(request_id=current_request_id())


def _finish(response):
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    if "Access-Control-Allow-Origin" in response.headers:  # let portal pages read it
        response.headers["Access-Control-Expose-Headers"] = REQUEST_ID_HEADER
    started = g.get("started")
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
    if access_log.isEnabledFor(level):
        access_log.log(level, "%s %s %s %s ms", request.method, request.path, response.status_code,
                       elapsed_ms, extra={"fields": {
                           "method": request.method, "path": request.path,
                           "status": response.status_code, "duration_ms": elapsed_ms}})
    return response


def _end(_exc) -> None:
    token = g.pop("log_context", None)
    if token is not None:
        end_context(token)


def init_app(app: Flask) -> None:
    """Register before the security headers' after_request: Flask runs after_request functions
    in reverse order, so this one then sees the CORS headers."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_end)
