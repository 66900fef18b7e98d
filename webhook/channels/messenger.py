"""Facebook Messenger through Rasa's own connector pieces, served by Flask.

Rasa 3.6's `FacebookInput` is a Sanic blueprint that answers inside the request and sends with
blocking calls and no timeout. Here the same pieces run in our Flask process: Rasa's
`Messenger` rules decide what an event is (quick reply first, then text, postbacks; echoes
ignored), Rasa's `MessengerBot._convert_to_quick_reply` and fbmessenger's `Text` build the
message, fbmessenger's `MessengerClient` (what `MessengerBot` sends with) sends it — from the
outbox thread, with a timeout and bounded retries, like Zalo.

GET /webhooks/facebook/webhook answers Facebook's subscription check (hub.verify_token);
POST needs X-Hub-Signature-256 (HMAC-SHA256 of the body with the app secret).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging

import requests
from fbmessenger import MessengerClient
from fbmessenger.elements import Text as FBText
from flask import Blueprint, jsonify, request
from rasa.core.channels.facebook import Messenger, MessengerBot

from webhook.channels.base import ChannelAnswerer
from webhook.channels.config import MessengerConfig
from webhook.channels.formatting import shorten
from webhook.channels.outbox import Outbox, SendError
from webhook.security import json_error

log = logging.getLogger(__name__)

CHANNEL = "messenger"
TEXT_LIMIT = 2000          # Send API: text up to 2,000 characters
MAX_QUICK_REPLIES = 10     # fbmessenger refuses more (Facebook allows 13)
QUICK_REPLY_TITLE = 20     # characters shown on a quick reply
# Graph API error codes worth retrying: unknown, temporarily unavailable, rate limits.
TRANSIENT_ERRORS = frozenset({1, 2, 4, 17, 32, 341, 613})


def signature_ok(secret: str, body: bytes, headers) -> bool:
    """X-Hub-Signature-256 ("sha256=<hex>"), or the older X-Hub-Signature ("sha1=<hex>").
    (Rasa's FacebookInput.validate_hub_signature compares with ==; this is constant-time.)"""
    for header, algorithm in (("X-Hub-Signature-256", hashlib.sha256),
                              ("X-Hub-Signature", hashlib.sha1)):
        value = headers.get(header, "")
        if not value:
            continue
        _, _, given = value.partition("=")
        expected = hmac.new(secret.encode(), body, algorithm).hexdigest()
        return bool(given) and hmac.compare_digest(given.strip().lower().encode(), expected.encode())
    return False


def events(payload) -> list[tuple[str, str | None, str]]:
    """(sender id, text or None for attachments, event id) of each citizen's message."""
    found = []
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        return found
    for entry in payload["entry"]:
        messaging = entry.get("messaging") if isinstance(entry, dict) else None
        for event in messaging if isinstance(messaging, list) else []:
            if not isinstance(event, dict):
                continue
            sender = str((event.get("sender") or {}).get("id", ""))
            message = event.get("message") if isinstance(event.get("message"), dict) else None
            if message is not None:
                if message.get("is_echo"):
                    continue  # the page's own message
                event_id = str(message.get("mid") or "")
                if Messenger._is_quick_reply_message(event):
                    found.append((sender, message["quick_reply"]["payload"], event_id))
                elif Messenger._is_user_message(event):
                    found.append((sender, message["text"], event_id))
                elif message.get("attachments"):
                    found.append((sender, None, event_id))
            elif isinstance(event.get("postback"), dict) and event["postback"].get("payload"):
                found.append((sender, event["postback"]["payload"],
                              str(event["postback"].get("mid") or "")))
    return found


def outgoing_bodies(messages) -> list[dict]:
    bodies = []
    for m in messages:
        quick = MessengerBot._convert_to_quick_reply(
            [{"title": shorten(b["title"], QUICK_REPLY_TITLE), "payload": b["payload"][:1000]}
             for b in m.buttons[:MAX_QUICK_REPLIES]]) if m.buttons else None
        bodies.append(FBText(text=m.text, quick_replies=quick).to_dict())
    return bodies


class MessengerSender:
    def __init__(self, config: MessengerConfig, timeout: float = 10.0):
        self.client = MessengerClient(config.page_access_token)
        self.client.graph_url = config.graph_url
        self.timeout = timeout

    def __call__(self, recipient: str, body: dict) -> None:
        try:
            data = self.client.send(body, recipient, "RESPONSE", timeout=self.timeout)
        except requests.RequestException as exc:
            raise SendError(f"Graph API unreachable ({exc.__class__.__name__})") from exc
        except ValueError as exc:  # not JSON: a proxy's error page
            raise SendError("Graph API answered without JSON") from exc
        error = data.get("error") if isinstance(data, dict) else {"message": "not an object"}
        if error:
            code = error.get("code") if isinstance(error, dict) else None
            raise SendError(f"Graph API error {code}: {str(error.get('message', ''))[:200]}",
                            transient=code in TRANSIENT_ERRORS)


def blueprint(config: MessengerConfig, answerer: ChannelAnswerer, outbox: Outbox, wake) -> Blueprint:
    bp = Blueprint("messenger", __name__)

    @bp.get("/webhooks/facebook/webhook")
    def verify():
        if request.args.get("hub.mode") == "subscribe" and hmac.compare_digest(
                request.args.get("hub.verify_token", "").encode(), config.verify_token.encode()):
            return request.args.get("hub.challenge", ""), 200, {"Content-Type": "text/plain"}
        log.warning("messenger webhook: wrong verify token")
        return json_error(403, "bad_verify_token", "hub.verify_token does not match")

    @bp.post("/webhooks/facebook/webhook")
    def webhook():
        body = request.get_data(cache=False)
        if not signature_ok(config.app_secret, body, request.headers):
            log.warning("messenger webhook: missing or wrong signature refused")
            return json_error(401, "bad_signature", "X-Hub-Signature-256 does not match")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return json_error(400, "invalid_json", "body is not JSON")
        for sender, text, event_id in events(payload):
            if event_id and not outbox.first_seen(f"{CHANNEL}:{event_id}"):
                continue
            try:
                answer = answerer.answer(sender, text)
            except ValueError as exc:
                log.warning("messenger webhook: event skipped (%s)", exc)
                continue
            outbox.add(CHANNEL, sender, answer.conversation, outgoing_bodies(answer.messages))
            wake()
        return jsonify(status="ok")

    return bp
