"""Every Zalo Official Account (OA) format the connector relies on, in one place.

Followed: Zalo for Developers, Official Account API v3.0 ("Tin Tư vấn" / consultation
messages, https://developers.zalo.me/docs/official-account/tin-nhan/tin-tu-van), the OA
webhook page (https://developers.zalo.me/docs/official-account/webhook/tong-quan: events
`user_send_text`, header `X-ZEvent-Signature`) and the OA OAuth v4 page
(https://developers.zalo.me/docs/official-account/bat-dau/xac-thuc-va-uy-quyen-cho-ung-dung-new),
as published in 2024-2025. Nothing here has been tried against the real OA (no account from
this machine); `tests/fake_zalo.py` implements exactly these shapes.

Where the public documentation is ambiguous (also in the README, "Other channels"):
- the signature header is documented as `mac=<hex>`; some integrations see the bare hex. Both
  are accepted; the digest is sha256(app_id + raw body + timestamp + OA secret key) with the
  timestamp read from the JSON body (milliseconds), not from a header;
- text limit: 2,000 characters per consultation message (the page says "tối đa 2000 ký tự");
- buttons under a text message (`attachment.type = template`, `payload.buttons`) are shown
  for consultation messages, at most 5 in the examples; an `oa.query.hide` button sends its
  payload back as a `user_send_text` event without showing it in the chat. If an OA tier
  refuses buttons, the answer still arrives: the buttons are only an attachment;
- which error codes mean "access token invalid/expired": -216 and -124 are used here.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

DOC_VERSION = "Zalo OA API v3.0 (messages), OAuth v4 (tokens), webhook 2024-2025"

API_BASE = "https://openapi.zalo.me"
OAUTH_BASE = "https://oauth.zaloapp.com"
SEND_PATH = "/v3.0/oa/message/cs"  # consultation message: answers to a citizen who wrote first
TOKEN_PATH = "/v4/oa/access_token"

SIGNATURE_HEADER = "X-ZEvent-Signature"
TEXT_EVENT = "user_send_text"
# Events whose content we cannot read (pictures, stickers, files...): answered with a hint.
NON_TEXT_EVENTS = frozenset({"user_send_image", "user_send_link", "user_send_audio",
                             "user_send_video", "user_send_sticker", "user_send_location",
                             "user_send_file", "user_send_gif", "user_send_business_card"})

TEXT_LIMIT = 2000
MAX_BUTTONS = 5
BUTTON_TITLE_LIMIT = 100
BUTTON_PAYLOAD_LIMIT = 1000
BUTTON_TYPE = "oa.query.hide"  # the payload goes back to the OA, not shown to the citizen

ACCESS_TOKEN_HEADER = "access_token"
TOKEN_ERRORS = frozenset({-216, -124})
# Access tokens live about 25 hours ("expires_in": "90000"); refresh tokens 3 months, single use.
DEFAULT_EXPIRES_IN = 90000


def signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The hex digest Zalo sends in X-ZEvent-Signature (after "mac=")."""
    mac = hashlib.sha256()
    mac.update(app_id.encode())
    mac.update(body)
    mac.update(timestamp.encode())
    mac.update(oa_secret_key.encode())
    return mac.hexdigest()


def signature_header(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    return "mac=" + signature(app_id, body, timestamp, oa_secret_key)


def signature_ok(header: str, app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> bool:
    given = (header or "").strip()
    if given.lower().startswith("mac="):
        given = given[4:].strip()
    if not given:
        return False
    expected = signature(app_id, body, timestamp, oa_secret_key)
    return hmac.compare_digest(given.lower().encode(), expected.encode())


@dataclass(frozen=True)
class ZaloEvent:
    name: str
    app_id: str
    timestamp_ms: int
    user_id: str  # sender.id: the citizen's id for this OA
    text: str | None
    msg_id: str | None


class EventError(ValueError):
    """The body is not a Zalo OA event we can read."""


def parse_event(body: bytes) -> ZaloEvent:
    """The fields of a webhook event. Ids stay strings (they exceed 2**53: JSON readers that
    make them floats lose digits; Zalo sends them quoted anyway)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise EventError(f"body is not JSON ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict):
        raise EventError("body is not a JSON object")
    name = data.get("event_name")
    if not isinstance(name, str) or not name:
        raise EventError("event_name is missing")
    try:
        timestamp = int(str(data.get("timestamp", "")))
    except ValueError as exc:
        raise EventError("timestamp is missing or not a number") from exc
    sender = data.get("sender") if isinstance(data.get("sender"), dict) else {}
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    text = message.get("text")
    msg_id = message.get("msg_id")
    return ZaloEvent(name=name, app_id=str(data.get("app_id", "")), timestamp_ms=timestamp,
                     user_id=str(sender.get("id", "")),
                     text=text if isinstance(text, str) else None,
                     msg_id=str(msg_id) if msg_id not in (None, "") else None)


def text_message(user_id: str, text: str, buttons: list[dict] | None = None) -> dict:
    """Body of POST {API_BASE}{SEND_PATH} (header `access_token`): text, optional buttons."""
    message: dict = {"text": text[:TEXT_LIMIT]}
    if buttons:
        message["attachment"] = {"type": "template", "payload": {"buttons": [
            {"title": b["title"][:BUTTON_TITLE_LIMIT], "type": BUTTON_TYPE,
             "payload": b["payload"][:BUTTON_PAYLOAD_LIMIT]}
            for b in buttons[:MAX_BUTTONS]]}}
    return {"recipient": {"user_id": user_id}, "message": message}


@dataclass(frozen=True)
class SendResult:
    ok: bool
    token_invalid: bool = False
    error: str = ""
    message_id: str = ""


def read_send_response(data) -> SendResult:
    """{"error": 0, "message": "Success", "data": {"message_id", "user_id"}} on success;
    {"error": -2xx, "message": "..."} otherwise (HTTP 200 either way)."""
    if not isinstance(data, dict):
        return SendResult(ok=False, error="response is not a JSON object")
    try:
        code = int(data.get("error", -1))
    except (TypeError, ValueError):
        code = -1
    if code == 0:
        inner = data.get("data") if isinstance(data.get("data"), dict) else {}
        return SendResult(ok=True, message_id=str(inner.get("message_id", "")))
    return SendResult(ok=False, token_invalid=code in TOKEN_ERRORS,
                      error=f"Zalo error {code}: {str(data.get('message', ''))[:200]}")


def refresh_request(app_id: str, app_secret: str, refresh_token: str) -> tuple[dict, dict]:
    """(headers, form) of POST {OAUTH_BASE}{TOKEN_PATH}: the app's secret key in a header."""
    headers = {"secret_key": app_secret, "Content-Type": "application/x-www-form-urlencoded"}
    form = {"refresh_token": refresh_token, "app_id": app_id, "grant_type": "refresh_token"}
    return headers, form


def read_token_response(data) -> tuple[str, str, int]:
    """(access_token, refresh_token, expires_in seconds); raises ValueError on an error body
    ({"error": -14014, "error_name": "...", "error_description": "..."})."""
    if not isinstance(data, dict) or not data.get("access_token") or not data.get("refresh_token"):
        code = data.get("error") if isinstance(data, dict) else None
        name = data.get("error_name", "") if isinstance(data, dict) else ""
        raise ValueError(f"token refresh refused (error {code} {name})".strip())
    try:
        expires_in = int(str(data.get("expires_in", DEFAULT_EXPIRES_IN)))
    except ValueError:
        expires_in = DEFAULT_EXPIRES_IN
    return str(data["access_token"]), str(data["refresh_token"]), expires_in
