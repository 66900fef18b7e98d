"""Zalo Official Account channel: POST /webhooks/zalo/webhook, answers through the OA API.

One event: signature and age checked (401 otherwise), resent events recognised by their
msg_id, the citizen's text answered by the same Assistant as the widget under the sender
`zalo:<user id>`, the answer (plain text, the source as a link, the aspect buttons as
`oa.query.hide` buttons, cut at 2,000 characters) written to the outbox, and 200 at once;
the delivery thread sends it with the OA access token (webhook/channels/tokens.py).
The formats are in webhook/channels/zalo_api.py.
"""
from __future__ import annotations

import logging
import time

import requests
from flask import Blueprint, jsonify, request

from webhook.channels import zalo_api
from webhook.channels.base import ChannelAnswerer
from webhook.channels.config import ZaloConfig
from webhook.channels.formatting import shorten
from webhook.channels.outbox import Outbox, SendError
from webhook.channels.tokens import TokenError, ZaloTokens
from webhook.security import json_error

log = logging.getLogger(__name__)

CHANNEL = "zalo"


class ZaloSender:
    """Sends one outbox message; raises SendError (transient or not) when it did not go."""

    def __init__(self, config: ZaloConfig, tokens: ZaloTokens,
                 session: requests.Session | None = None, timeout: float = 10.0):
        self.url = config.api_base + zalo_api.SEND_PATH
        self.tokens = tokens
        self.session = session or requests.Session()
        self.timeout = timeout

    def __call__(self, recipient: str, body: dict) -> None:
        token = self._token()
        result = self._post(token, body)
        if result.token_invalid:  # revoked or expired early: one refresh, one more try
            token = self._token(refresh_from=token)
            result = self._post(token, body)
        if result.ok:
            return
        raise SendError(result.error, transient=result.token_invalid)

    def _token(self, refresh_from: str | None = None) -> str:
        try:
            if refresh_from is not None:
                return self.tokens.refresh(stale=refresh_from)
            return self.tokens.access_token()
        except TokenError as exc:
            raise SendError(str(exc), transient=not exc.permanent) from exc

    def _post(self, token: str, body: dict) -> zalo_api.SendResult:
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout,
                                         headers={zalo_api.ACCESS_TOKEN_HEADER: token})
        except requests.RequestException as exc:
            raise SendError(f"Zalo API unreachable ({exc.__class__.__name__})") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise SendError(f"Zalo API answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise SendError(f"Zalo API answered HTTP {response.status_code} without JSON")
        return zalo_api.read_send_response(data)


def outgoing_bodies(user_id: str, messages) -> list[dict]:
    return [zalo_api.text_message(
        user_id, m.text,
        [{"title": shorten(b["title"], zalo_api.BUTTON_TITLE_LIMIT), "payload": b["payload"]}
         for b in m.buttons]) for m in messages]


class ZaloWebhook:
    def __init__(self, config: ZaloConfig, answerer: ChannelAnswerer, outbox: Outbox, wake,
                 clock=time.time):
        self.config = config
        self.answerer = answerer
        self.outbox = outbox
        self.wake = wake
        self.clock = clock

    def handle(self, body: bytes, signature: str):
        if not signature:
            log.warning("zalo webhook: request without %s refused", zalo_api.SIGNATURE_HEADER)
            return json_error(401, "missing_signature", f"{zalo_api.SIGNATURE_HEADER} is required")
        try:
            event = zalo_api.parse_event(body)
        except zalo_api.EventError as exc:
            return json_error(400, "invalid_event", str(exc))
        if not zalo_api.signature_ok(signature, self.config.app_id, body, str(event.timestamp_ms),
                                     self.config.oa_secret_key):
            log.warning("zalo webhook: wrong signature refused (event %s)", event.name)
            return json_error(401, "bad_signature", "signature does not match")
        age = self.clock() - event.timestamp_ms / 1000.0
        if abs(age) > self.config.max_event_age:
            log.warning("zalo webhook: event %s refused, timestamp %.0f s off", event.name, age)
            return json_error(401, "stale_event", "event timestamp is too old or in the future")
        if event.name != zalo_api.TEXT_EVENT and event.name not in zalo_api.NON_TEXT_EVENTS:
            return jsonify(status="ignored", event=event.name)
        if not event.user_id:
            return json_error(400, "invalid_event", "sender.id is missing")
        dedupe_key = f"{CHANNEL}:{event.msg_id or event.user_id + ':' + str(event.timestamp_ms)}"
        if not self.outbox.first_seen(dedupe_key):
            return jsonify(status="duplicate")
        try:
            answer = self.answerer.answer(event.user_id,
                                          event.text if event.name == zalo_api.TEXT_EVENT else None)
        except ValueError as exc:  # a user id outside the documented shape
            return json_error(400, "invalid_event", str(exc))
        self.outbox.add(CHANNEL, event.user_id, answer.conversation,
                        outgoing_bodies(event.user_id, answer.messages))
        self.wake()
        return jsonify(status="ok")


def blueprint(hook: ZaloWebhook) -> Blueprint:
    bp = Blueprint("zalo", __name__)

    @bp.post("/webhooks/zalo/webhook")
    def webhook():
        body = request.get_data(cache=False)
        return hook.handle(body, request.headers.get(zalo_api.SIGNATURE_HEADER, ""))

    @bp.get("/webhooks/zalo/webhook")
    def alive():  # the developer console checks the URL answers
        return jsonify(status="ok", channel=CHANNEL, formats=zalo_api.DOC_VERSION)

    return bp
