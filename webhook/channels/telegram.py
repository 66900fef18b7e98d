"""Telegram through Rasa's own connector pieces, served by Flask.

Rasa 3.6's `TelegramInput` is a Sanic blueprint that calls Telegram's getMe on every message
to compare the bot's name (an extra API call that proves nothing about the sender) and sets
the webhook with `asyncio.run` at start-up. Here: aiogram's `Update` reads the event and
Rasa's `TelegramInput` rules pick the text (a button's callback data, an edited message, a
plain message); Rasa's `TelegramOutput` sends, from the outbox thread on its own event loop,
with bounded retries like Zalo. Requests are authenticated by the secret token Telegram
echoes in X-Telegram-Bot-Api-Secret-Token (set once with setWebhook, README).
"""
from __future__ import annotations

import asyncio
import hmac
import logging

import aiohttp
from aiogram.bot.api import TelegramAPIServer, check_token
from aiogram.types import Update
from aiogram.utils import exceptions as tg_errors
from flask import Blueprint, jsonify, request
from rasa.core.channels.telegram import TelegramInput, TelegramOutput

from webhook.channels.base import ChannelAnswerer
from webhook.channels.config import ChannelConfigError, TelegramConfig
from webhook.channels.formatting import shorten
from webhook.channels.outbox import Outbox, SendError
from webhook.security import json_error

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TEXT_LIMIT = 4096
CALLBACK_DATA_BYTES = 64  # Telegram's limit on a button's callback data
BUTTON_TITLE = 60
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
START_COMMAND = "/start"
START_TEXT = "Xin chào"  # the first message of every Telegram chat is the /start command
PERMANENT_ERRORS = (tg_errors.BadRequest, tg_errors.Unauthorized, tg_errors.MethodNotKnown)


def read_update(payload) -> tuple[str, str | None, str] | None:
    """(chat id, text or None for a photo/sticker/…, update id); None: nothing to answer."""
    update = Update(**payload)
    if TelegramInput._is_button(update):
        msg, text = update.callback_query.message, update.callback_query.data
    elif TelegramInput._is_edited_message(update):
        msg, text = update.edited_message, update.edited_message.text
    else:
        msg = update.message
        if msg is None:
            return None
        text = msg.text if TelegramInput._is_user_message(msg) else None
    if msg is None or msg.chat is None:
        return None
    if text is not None and text.strip().split("@")[0] == START_COMMAND:
        text = START_TEXT
    return str(msg.chat.id), text, str(update.update_id)


def button_data(button: dict) -> str:
    """The payload if it fits Telegram's 64 bytes, else the title (read by the NLU)."""
    payload = button["payload"]
    if len(payload.encode()) <= CALLBACK_DATA_BYTES:
        return payload
    return button["title"].encode()[:CALLBACK_DATA_BYTES].decode(errors="ignore")


def outgoing_bodies(messages) -> list[dict]:
    return [{"text": m.text,
             "buttons": [{"title": shorten(b["title"], BUTTON_TITLE), "payload": button_data(b)}
                         for b in m.buttons]} for m in messages]


class TelegramSender:
    """Rasa's TelegramOutput (an aiogram Bot) on an event loop owned by the delivery thread."""

    def __init__(self, config: TelegramConfig, timeout: float = 10.0):
        try:
            check_token(config.token)  # a mistyped token stops the start, not each send
        except tg_errors.ValidationError as exc:
            raise ChannelConfigError(f"TROLYAO_TELEGRAM_TOKEN is not a bot token ({exc})") from exc
        self.config = config
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bot: TelegramOutput | None = None

    def _output(self) -> TelegramOutput:
        if self._bot is None:
            self._loop = asyncio.new_event_loop()
            bot = TelegramOutput(self.config.token)
            bot.server = TelegramAPIServer.from_base(self.config.api_base)
            bot.timeout = self.timeout
            self._bot = bot
        return self._bot

    def __call__(self, recipient: str, body: dict) -> None:
        bot = self._output()
        if body.get("buttons"):
            send = bot.send_text_with_buttons(recipient, body["text"], body["buttons"],
                                              button_type="vertical")
        else:
            send = bot.send_message(recipient, body["text"])
        try:
            self._loop.run_until_complete(send)
        except PERMANENT_ERRORS as exc:
            raise SendError(f"Telegram refused: {exc}", transient=False) from exc
        except (tg_errors.TelegramAPIError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise SendError(f"Telegram API failed ({exc.__class__.__name__}: {exc})") from exc

    def close(self) -> None:
        if self._bot is not None and self._loop is not None:
            self._loop.run_until_complete(self._bot.session.close())
            self._loop.close()
            self._bot = self._loop = None


def blueprint(config: TelegramConfig, answerer: ChannelAnswerer, outbox: Outbox, wake) -> Blueprint:
    bp = Blueprint("telegram", __name__)

    @bp.post("/webhooks/telegram/webhook")
    def webhook():
        given = request.headers.get(SECRET_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), config.secret_token.encode()):
            log.warning("telegram webhook: missing or wrong secret token refused")
            return json_error(401, "bad_secret_token", f"{SECRET_HEADER} does not match")
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return json_error(400, "invalid_json", "body is not a JSON object")
        try:
            found = read_update(payload)
        except (TypeError, ValueError, AttributeError) as exc:
            return json_error(400, "invalid_update", f"not a Telegram update ({exc.__class__.__name__})")
        if found is None:
            return jsonify(status="ignored")
        chat_id, text, update_id = found
        if not outbox.first_seen(f"{CHANNEL}:{update_id}"):
            return jsonify(status="duplicate")
        try:
            answer = answerer.answer(chat_id, text)
        except ValueError as exc:
            return json_error(400, "invalid_update", str(exc))
        outbox.add(CHANNEL, chat_id, answer.conversation, outgoing_bodies(answer.messages))
        wake()
        return jsonify(status="ok")

    return bp
