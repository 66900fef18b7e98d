"""Probes for load balancers and Kubernetes.

- GET /healthz (liveness): 200 with the model and index versions once this worker has loaded
  them, 503 before. Cheap: touches nothing outside the process.
- GET /readyz (readiness): 200 only when the model is loaded, an index version is served and
  the conversation store answers (SQL `SELECT 1` / Redis `PING`, at most STORE_TIMEOUT
  seconds); else 503. The body gives each part's status, never the store's address.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlparse

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from trolyao.core.stores import innermost_store

bp = Blueprint("health", __name__)
STORE_TIMEOUT = 2.0


@bp.get("/healthz")
def healthz():
    assistant = current_app.extensions.get("assistant")
    if assistant is None or not assistant.ready:
        response = jsonify(status="starting", model=None, index=None)
        response.status_code = 503
        return response
    return jsonify(status="ok", model=assistant.model_version, index=assistant.knowledge.version)


class StoreProbe:
    """Whether the conversation store answers, asked on a thread of its own with a time limit:
    a database that never answers makes /readyz say so instead of hanging the probe. One
    question at a time: while one is unanswered, later probes report it without asking again."""

    def __init__(self, store, kind: str, timeout: float = STORE_TIMEOUT):
        self.store = innermost_store(store) if store is not None else None
        self.kind = kind
        self.timeout = timeout
        self._pending = None
        self._lock = threading.Lock()

    def _ping(self) -> None:
        client = getattr(self.store, "red", None)
        if client is not None:
            client.ping()
            return
        engine = getattr(self.store, "engine", None)
        if engine is not None:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))

    def _ask(self) -> Future:
        # A daemon thread, not an executor: a store that never answers must not keep the
        # worker from exiting.
        future: Future = Future()

        def run():
            try:
                self._ping()
            except Exception as exc:
                future.set_exception(exc)
            else:
                future.set_result(None)
        threading.Thread(target=run, name="store-probe", daemon=True).start()
        return future

    def check(self) -> dict:
        if self.store is None:
            return {"status": "unknown", "kind": self.kind}
        with self._lock:
            if self._pending is None or self._pending.done():
                self._pending = self._ask()
            pending = self._pending
        try:
            pending.result(timeout=self.timeout)
        except FutureTimeout:
            return {"status": "unreachable", "kind": self.kind,
                    "error": f"no answer within {self.timeout:g} s"}
        except Exception as exc:  # the class only: messages can carry host names and users
            return {"status": "unreachable", "kind": self.kind, "error": type(exc).__name__}
        return {"status": "ok", "kind": self.kind}


def store_kind(url: str) -> str:
    scheme = urlparse(url).scheme.split("+")[0]
    return {"postgres": "postgresql"}.get(scheme, scheme) or "memory"


def _store_probe(assistant) -> StoreProbe:
    probe = current_app.extensions.get("store_probe")
    if probe is None:
        kind = store_kind(current_app.config["TROLYAO"].tracker_store)
        probe = current_app.extensions.setdefault(
            "store_probe", StoreProbe(assistant.agent.tracker_store, kind))
    return probe


@bp.get("/readyz")
def readyz():
    assistant = current_app.extensions.get("assistant")
    agent = getattr(assistant, "agent", None)
    knowledge = getattr(assistant, "knowledge", None)
    model_ok = agent is not None and bool(getattr(assistant, "model_version", None))
    index_version = knowledge.version if knowledge is not None else None
    checks = {
        "model": {"status": "ok" if model_ok else "loading",
                  "version": assistant.model_version if model_ok else None},
        "index": {"status": "ok" if index_version else ("unavailable" if knowledge else "loading"),
                  "version": index_version},
        "store": _store_probe(assistant).check() if agent is not None else
                 {"status": "unknown", "kind": store_kind(current_app.config["TROLYAO"].tracker_store)},
    }
    ready = all(part["status"] == "ok" for part in checks.values())
    response = jsonify(status="ready" if ready else "not_ready", checks=checks)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response
