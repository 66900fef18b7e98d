"""Prometheus metrics at GET /metrics (Prometheus text format 0.0.4).

What is counted (all names start with `trolyao_`):
- http_requests_total{endpoint,method,status}: every response of the app; `endpoint` is the
  route pattern (`/admin/charts/<name>.svg`), `<unmatched>` for unknown paths (bounded labels)
- answer_seconds{endpoint}: histogram of the time the assistant took for one chat message
- answers_total{outcome}: answered, clarified, declined, handed_off, other (greetings,
  thanks, a message without words)
- feedback_total{verdict}: the citizen's 👍 (up) / 👎 (down)
- rate_limited_requests_total{endpoint}: chat requests refused with 429
- model_info{version}, index_info{version} (1 = served), index_built_timestamp_seconds,
  index_age_seconds

Under gunicorn every worker writes its values to files in PROMETHEUS_MULTIPROC_DIR (set by
trolyao/serving/gunicorn.py before the workers fork) and a scrape adds them up, so the counters
are the server's, whichever worker answers the scrape. Without it (tests, one process) the
values live in this process.

Access: `Authorization: Bearer $TROLYAO_METRICS_TOKEN` (or the admin token when no metrics token
is set; 404 when neither is). Wrong tokens are counted like the admin endpoints' (429 after too many).
"""
from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import (CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, CollectorRegistry, Counter, Gauge,
                               Histogram, disable_created_metrics, generate_latest,
                               multiprocess)

from webhook.security import refuse_without_bearer

bp = Blueprint("metrics", __name__)

disable_created_metrics()  # no `_created` series: multiprocess mode has none either
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
UNMATCHED = "<unmatched>"

REQUESTS = Counter("trolyao_http_requests", "HTTP responses by route pattern, method and status",
                   ["endpoint", "method", "status"])
ANSWER_SECONDS = Histogram("trolyao_answer_seconds", "Time the assistant took to answer one chat message",
                           ["endpoint"],
                           buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30))
OUTCOMES = Counter("trolyao_answers", "Chat replies by outcome", ["outcome"])
FEEDBACK = Counter("trolyao_feedback", "Citizens' verdicts on answers (up / down)", ["verdict"])
RATE_LIMITED = Counter("trolyao_rate_limited_requests", "Chat requests refused by the rate limit (429)",
                       ["endpoint"])
# Info gauges: 1 for the version served, 0 for one served before. "livemax": a worker that
# exited no longer counts (its files are removed by gunicorn's child_exit hook).
MODEL_INFO = Gauge("trolyao_model_info", "Rasa model served (1)", ["version"], multiprocess_mode="livemax")
INDEX_INFO = Gauge("trolyao_index_info", "Knowledge index version served (1)", ["version"],
                   multiprocess_mode="livemax")
INDEX_BUILT = Gauge("trolyao_index_built_timestamp_seconds", "When the served index version was built",
                    multiprocess_mode="livemostrecent")
INDEX_AGE = Gauge("trolyao_index_age_seconds", "Age of the served index version (at the last answer or scrape)",
                  multiprocess_mode="livemostrecent")

OUTCOME_NAMES = ("answered", "clarified", "declined", "handed_off", "other")
# Which domain responses (bot/domain/responses.yml) say what happened, most telling first.
RESPONSE_OUTCOMES = (("utter_hand_off", "handed_off"), ("utter_decline", "declined"),
                     ("utter_out_of_scope", "declined"), ("utter_clarify", "clarified"))
FEEDBACK_RESPONSES = {"utter_feedback_positive": "up", "utter_feedback_negative": "down"}


def _template_pattern(text: str) -> re.Pattern:
    """A response text with its {slots} as wildcards."""
    return re.compile(re.sub(r"\\\{\w+\\\}", ".*?", re.escape(text.strip())), re.DOTALL)


class OutcomeClassifier:
    """Names a reply's outcome and feedback from the domain responses it contains (the texts
    are the domain's, filled with slots). A reply citing sources without one of them answered."""

    def __init__(self, responses: dict):
        self.patterns: list[tuple[re.Pattern, str, str]] = []  # (pattern, kind, value)
        for name, variants in sorted(responses.items()):
            outcome = next((o for prefix, o in RESPONSE_OUTCOMES if name.startswith(prefix)), None)
            verdict = FEEDBACK_RESPONSES.get(name)
            for variant in variants or []:
                text = variant.get("text") if isinstance(variant, dict) else None
                if not text:
                    continue
                if outcome:
                    self.patterns.append((_template_pattern(text), "outcome", outcome))
                if verdict:
                    self.patterns.append((_template_pattern(text), "feedback", verdict))

    @classmethod
    def for_assistant(cls, assistant) -> "OutcomeClassifier":
        agent = getattr(assistant, "agent", None)
        return cls(agent.domain.responses if agent is not None else {})

    def classify(self, reply) -> tuple[str, str | None]:
        """(outcome, feedback verdict or None)."""
        found, verdict = set(), None
        for message in reply.messages:
            text = (message.get("text") or "").strip()
            for pattern, kind, value in self.patterns:
                if pattern.fullmatch(text):
                    if kind == "outcome":
                        found.add(value)
                    else:
                        verdict = value
        for _prefix, outcome in RESPONSE_OUTCOMES:
            if outcome in found:
                return outcome, verdict
        if not reply.fallback and reply.sources:
            return "answered", verdict
        return "other", verdict


class VersionGauges:
    """Model and index versions served by this worker, and the index's age."""

    def __init__(self):
        self._lock = threading.Lock()
        self._model = self._index = None
        self._built: float | None = None

    def refresh(self, assistant) -> None:
        if assistant is None or not getattr(assistant, "ready", False):
            return
        with self._lock:
            model, index = assistant.model_version, assistant.knowledge.version
            if model != self._model:
                if self._model:
                    MODEL_INFO.labels(self._model).set(0)
                MODEL_INFO.labels(model).set(1)
                self._model = model
            if index != self._index:
                if self._index:
                    INDEX_INFO.labels(self._index).set(0)
                INDEX_INFO.labels(index).set(1)
                self._index, self._built = index, _built_at(assistant.knowledge)
                if self._built is not None:
                    INDEX_BUILT.set(self._built)
            if self._built is not None:
                INDEX_AGE.set(max(0.0, time.time() - self._built))


def _built_at(knowledge) -> float | None:
    try:
        created = knowledge.searcher.version.manifest.get("created")
        return dt.datetime.fromisoformat(created).timestamp() if created else None
    except Exception:  # an index without the field (or not loaded): no age, never an error
        return None


def _state(name: str, make):
    found = current_app.extensions.get(name)
    if found is None:
        found = current_app.extensions.setdefault(name, make())
    return found


def record_answer(reply, seconds: float) -> None:
    """Called by the chat views once the assistant has answered."""
    assistant = current_app.extensions.get("assistant")
    endpoint = request.url_rule.rule if request.url_rule else UNMATCHED
    ANSWER_SECONDS.labels(endpoint).observe(seconds)
    classifier = _state("outcome_classifier", lambda: OutcomeClassifier.for_assistant(assistant))
    outcome, verdict = classifier.classify(reply)
    OUTCOMES.labels(outcome).inc()
    if verdict:
        FEEDBACK.labels(verdict).inc()
    _state("version_gauges", VersionGauges).refresh(assistant)


def _count_response(response):
    endpoint = request.url_rule.rule if request.url_rule else UNMATCHED
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    if response.status_code == 429 and request.blueprint == "chat":
        RATE_LIMITED.labels(endpoint).inc()
    return response


def exposition() -> bytes:
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def metrics_token() -> str:
    settings = current_app.config["TROLYAO"]
    return settings.metrics_token or settings.admin_token


@bp.get("/metrics")
def metrics():
    refused = refuse_without_bearer(
        metrics_token(), "trolyao-metrics",
        "metrics are disabled (set TROLYAO_METRICS_TOKEN or TROLYAO_ADMIN_TOKEN)")
    if refused is not None:
        return refused
    # Versions are read now too: a worker that answered nothing since a re-index is current.
    _state("version_gauges", VersionGauges).refresh(current_app.extensions.get("assistant"))
    # Text format 0.0.4: every Prometheus version reads it (our names are plain ASCII).
    response = Response(exposition(), mimetype="text/plain")
    response.headers["Content-Type"] = CONTENT_TYPE_PLAIN_0_0_4
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(_count_response)
