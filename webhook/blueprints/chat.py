"""Chat endpoints: our JSON API and a Rasa REST-channel compatible webhook."""
from __future__ import annotations

import json
import logging
import re
import time
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, current_app, jsonify, request
from rasa.core.lock_store import LockError
from werkzeug.exceptions import HTTPException

from trolyao.core.assistant import AssistantNotReady
from trolyao.core.senders import is_channel_sender
from webhook import metrics, observability
from webhook.security import allowed_origin_only, json_error, rate_limited

bp = Blueprint("chat", __name__)
log = logging.getLogger(__name__)

# fullmatch: "$" would also accept a trailing newline ("x\n").
SENDER_RE = re.compile(r"[\w.:@\-]{1,128}")


class BadRequest(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def parse_chat_request(max_chars: int) -> tuple[str, str]:
    """Validate the body; every failure names the field and the rule it broke."""
    try:
        raw = request.get_data(cache=False)
    except HTTPException:  # 413 and the like answer themselves
        raise
    except Exception:  # gunicorn: invalid chunk size, missing chunk terminator, body cut short
        raise BadRequest("invalid_body", "request body could not be read (bad chunked encoding?)")
    if len(raw) == current_app.config["MAX_CONTENT_LENGTH"] and request.content_length is None:
        # A streamed (chunked) body stops silently at the limit: anything more is too large.
        request.stream.read(1)  # raises RequestEntityTooLarge (413) if more follows
    if not raw:
        raise BadRequest("empty_body", "request body is empty; send JSON {\"sender\", \"message\"}")
    try:
        body_text = raw.decode("utf-8-sig")  # a leading BOM is harmless
    except UnicodeDecodeError:
        raise BadRequest("invalid_utf8", "request body is not valid UTF-8")
    try:
        body = json.loads(body_text)
    except json.JSONDecodeError as exc:
        raise BadRequest("invalid_json", f"request body is not valid JSON ({exc.msg})")
    except RecursionError:  # "[[[[…" nested thousands deep fits in 64 KiB
        raise BadRequest("invalid_json", "request body is nested too deeply")
    except ValueError:  # a number with more than 4,300 digits (Python's int limit)
        raise BadRequest("invalid_json", "request body has a number that is too long")
    if not isinstance(body, dict):
        raise BadRequest("invalid_json", "request body must be a JSON object")
    sender, message = body.get("sender"), body.get("message")
    if sender is None:
        raise BadRequest("missing_sender", "field 'sender' is required")
    if not isinstance(sender, str) or not SENDER_RE.fullmatch(sender):
        raise BadRequest("invalid_sender",
                         "field 'sender' must be a string of 1-128 letters, digits or ._:@-")
    if is_channel_sender(sender):
        raise BadRequest("invalid_sender", "sender ids starting with 'zalo:', 'messenger:' or "
                         "'telegram:' belong to those chat apps; use another id")
    if message is None:
        raise BadRequest("missing_message", "field 'message' is required")
    if not isinstance(message, str):
        raise BadRequest("invalid_message", "field 'message' must be a string")
    if not message.strip():
        raise BadRequest("empty_message", "field 'message' is empty")
    if len(message) > max_chars:
        raise BadRequest("message_too_long", f"field 'message' is longer than {max_chars} characters")
    if "\x00" in message:
        raise BadRequest("invalid_message", "field 'message' contains a NUL character")
    if any("\ud800" <= ch <= "\udfff" for ch in message):
        # JSON escapes like "\ud800" decode to lone surrogates that are not text.
        raise BadRequest("invalid_message", "field 'message' contains invalid Unicode (lone surrogate)")
    return sender, message


def _answer(render):
    settings = current_app.config["TROLYAO"]
    try:
        sender, message = parse_chat_request(settings.max_message_chars)
    except BadRequest as exc:
        return json_error(400, exc.code, exc.message)
    assistant = current_app.extensions["assistant"]
    if assistant is None:
        return json_error(503, "not_ready", "Trợ lý đang khởi động, anh/chị vui lòng thử lại sau giây lát.",
                          Retry_After="5")
    # Logs name the conversation by its stored (hashed) id; debug logs show what citizens ask
    # (the log record factory redacts personal data).
    conversation = assistant.conversation_id(sender)
    observability.note_sender(conversation)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("message from %s: %s", conversation, message)
    started = time.perf_counter()
    try:
        reply = assistant.chat(sender, message)
    except AssistantNotReady:
        return json_error(503, "not_ready", "Trợ lý đang khởi động, anh/chị vui lòng thử lại sau giây lát.",
                          Retry_After="5")
    except FutureTimeout:
        return json_error(504, "timeout", "Trợ lý trả lời quá lâu, anh/chị vui lòng thử lại.")
    except LockError:  # another message of this conversation is still being processed
        return json_error(503, "conversation_busy",
                          "Trợ lý đang trả lời tin nhắn trước, anh/chị vui lòng gửi lại sau giây lát.",
                          Retry_After="2")
    metrics.record_answer(reply, time.perf_counter() - started)
    return jsonify(render(reply))


# OPTIONS is answered by `preflight` below (204 + CORS headers), not by Flask's default.
@bp.post("/api/chat", provide_automatic_options=False)
@rate_limited
@allowed_origin_only
def chat():
    return _answer(lambda reply: reply.to_api())


@bp.post("/webhooks/rest/webhook", provide_automatic_options=False)
@rate_limited
@allowed_origin_only
def rest_webhook():
    """Same shape as Rasa's REST channel: a list of {recipient_id, text, buttons, ...}."""
    return _answer(lambda reply: reply.rest_messages)


@bp.route("/api/chat", methods=["OPTIONS"])
@bp.route("/webhooks/rest/webhook", methods=["OPTIONS"])
def preflight():
    return ("", 204)
