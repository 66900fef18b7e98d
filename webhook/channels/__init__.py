"""Chat apps other than the widget: Zalo OA, Facebook Messenger, Telegram.

`init_app` registers the webhook of each configured channel (webhook/channels/config.py; a
channel without its settings has no route: 404), one outbox and one delivery thread per
process, and POST /admin/channels/retry (admin token) to resend what could not be delivered.
Every channel answers through the app's Assistant under a namespaced sender id
(`zalo:<id>`, `messenger:<id>`, `telegram:<id>`: trolyao/core/senders.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Blueprint, Flask, current_app, jsonify, request

from webhook.channels import messenger, telegram, zalo, zalo_api
from webhook.channels.base import ChannelAnswerer
from webhook.channels.config import ChannelConfig
from webhook.channels.formatting import channel_messages
from webhook.channels.outbox import DeliveryWorker, Outbox
from webhook.channels.tokens import ZaloTokens
from webhook.security import admin_required

log = logging.getLogger(__name__)


@dataclass
class Channels:
    config: ChannelConfig
    outbox: Outbox
    worker: DeliveryWorker
    zalo: zalo.ZaloWebhook | None = None
    zalo_tokens: ZaloTokens | None = None
    names: list[str] = field(default_factory=list)

    def send_text(self, conversation: str, text: str) -> bool:
        """Send `text` (a staff member's reply, hand-off) to the chat-app citizen of a stored
        conversation id; False if that conversation did not come from a configured chat app."""
        found = self.outbox.recipient_of(conversation)
        if found is None or found[0] not in self.worker.senders:
            return False
        channel, recipient = found
        messages = _plain_messages(text, channel)
        if channel == zalo.CHANNEL:
            bodies = zalo.outgoing_bodies(recipient, messages)
        elif channel == messenger.CHANNEL:
            bodies = messenger.outgoing_bodies(messages)
        else:
            bodies = telegram.outgoing_bodies(messages)
        self.outbox.add(channel, recipient, conversation, bodies)
        self.worker.wake()
        return True

    def close(self) -> None:
        self.worker.stop()
        for sender in self.worker.senders.values():
            if hasattr(sender, "close"):
                sender.close()


def _plain_messages(text: str, channel: str):
    limit = {zalo.CHANNEL: zalo_api.TEXT_LIMIT, messenger.CHANNEL: messenger.TEXT_LIMIT}.get(
        channel, telegram.TEXT_LIMIT)
    return channel_messages([{"text": text}], limit)


def init_app(app: Flask, assistant, settings, config: ChannelConfig | None = None) -> Channels | None:
    config = config or ChannelConfig.from_env(settings.home)
    if not config.any:
        return None
    outbox = Outbox(config.delivery.outbox)
    worker = DeliveryWorker(outbox, {}, max_attempts=config.delivery.max_attempts,
                            backoff=config.delivery.backoff_seconds,
                            keep_days=float(getattr(settings, "retention_days", 180) or 180))
    channels = Channels(config=config, outbox=outbox, worker=worker)
    max_chars = settings.max_message_chars
    timeout = config.delivery.timeout_seconds

    if config.zalo:
        tokens = ZaloTokens(config.zalo, timeout=timeout)
        worker.senders[zalo.CHANNEL] = zalo.ZaloSender(config.zalo, tokens, timeout=timeout)
        channels.zalo_tokens = tokens
        channels.zalo = zalo.ZaloWebhook(
            config.zalo, ChannelAnswerer(assistant, zalo.CHANNEL, zalo_api.TEXT_LIMIT, max_chars),
            outbox, worker.wake)
        app.register_blueprint(zalo.blueprint(channels.zalo))
        channels.names.append(zalo.CHANNEL)
    # Messenger and Telegram are wired alike: a sender for the outbox, a webhook blueprint.
    for module, sender_class, channel_config in (
            (messenger, messenger.MessengerSender, config.messenger),
            (telegram, telegram.TelegramSender, config.telegram)):
        if not channel_config:
            continue
        worker.senders[module.CHANNEL] = sender_class(channel_config, timeout)
        answerer = ChannelAnswerer(assistant, module.CHANNEL, module.TEXT_LIMIT, max_chars)
        app.register_blueprint(module.blueprint(channel_config, answerer, outbox, worker.wake))
        channels.names.append(module.CHANNEL)

    app.register_blueprint(_admin_blueprint())
    app.extensions["channels"] = channels
    worker.start()
    log.info("chat channels on: %s (outbox %s)", ", ".join(channels.names), outbox.path)
    return channels


def _admin_blueprint() -> Blueprint:
    bp = Blueprint("channels_admin", __name__)

    @bp.post("/admin/channels/retry")
    @admin_required
    def retry():
        """Resend the messages that were given up on (after the chat app's API is back)."""
        channels: Channels = current_app.extensions["channels"]
        requeued = channels.outbox.requeue_failed(request.args.get("channel") or None)
        channels.worker.wake()
        return jsonify(requeued=requeued, outbox=channels.outbox.counts(),
                       delivery=dict(channels.worker.stats))

    @bp.get("/admin/channels")
    @admin_required
    def status():
        channels: Channels = current_app.extensions["channels"]
        return jsonify(channels=channels.names, outbox=channels.outbox.counts(),
                       delivery=dict(channels.worker.stats))

    return bp
