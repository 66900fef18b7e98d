"""Log lines for machines: `TROLYAO_LOG_FORMAT=json` writes one JSON object per line.

Fields: timestamp (UTC, ISO 8601 with milliseconds), level, logger, message, and while a web
request is handled its `request_id` and `sender_hash` (the stored, keyed hash of the
conversation id: never the id the client sent). Messages were redacted when the record was
created (trolyao/core/redaction.py); what citizens type is only logged at DEBUG level.
The web layer fills the request fields through `log_context` (a context variable, so each
request thread sees only its own).
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging

from trolyao.core.redaction import redact

# Keys the web layer may set for the current request (webhook/observability.py).
CONTEXT_FIELDS = ("request_id", "sender_hash")
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("trolyao_log_context",
                                                                      default=None)


def start_context(**fields) -> contextvars.Token:
    """Begin a request's context; pass the token to `end_context` when the request ends."""
    return _context.set({k: v for k, v in fields.items() if k in CONTEXT_FIELDS})


def end_context(token: contextvars.Token) -> None:
    _context.reset(token)


def set_context_field(name: str, value: str) -> None:
    """Add a field to the current request's context (no-op outside a request)."""
    current = _context.get()
    if current is not None and name in CONTEXT_FIELDS:
        current[name] = value


def context_fields() -> dict:
    return dict(_context.get() or {})


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (json.dumps escapes newlines in the text)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
                           .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(context_fields())
        extra = getattr(record, "fields", None)  # log.info("…", extra={"fields": {...}})
        if isinstance(extra, dict):
            entry.update({k: v for k, v in extra.items() if k not in entry})
        if record.exc_text or record.exc_info:  # exc_text: formatted and redacted at creation
            entry["exception"] = record.exc_text or redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
