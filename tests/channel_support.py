"""Shared by the channel tests: the fake chat-app APIs and an app with every channel on,
built by the real factory around the session's one real Assistant."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest

from conftest import ADMIN_TOKEN
from fake_chat_apis import FakeChatApis
from webhook.channels import zalo_api
from webhook.channels.config import (ChannelConfig, DeliveryConfig, MessengerConfig,
                                     TelegramConfig, ZaloConfig)

ZALO_APP_ID = "4291763606161179100"
ZALO_APP_SECRET = "zalo-app-secret-for-tests"
ZALO_OA_SECRET = "zalo-oa-secret-for-tests"
MESSENGER_SECRET = "fb-app-secret-for-tests"
MESSENGER_VERIFY = "fb-verify-for-tests"
TELEGRAM_TOKEN = "123456789:AAHtestTokenForTheFakeTelegramApi00"
TELEGRAM_SECRET = "tg-secret-for-tests"
MAX_ATTEMPTS = 3
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def channel_config(fake: FakeChatApis, tmp: Path) -> ChannelConfig:
    return ChannelConfig(
        delivery=DeliveryConfig(outbox=tmp / "outbox.db", max_attempts=MAX_ATTEMPTS,
                                backoff_seconds=0.05, timeout_seconds=5),
        zalo=ZaloConfig(app_id=ZALO_APP_ID, app_secret=ZALO_APP_SECRET,
                        oa_secret_key=ZALO_OA_SECRET, token_file=tmp / "zalo-token.json",
                        initial_refresh_token=fake.state.refresh_token,
                        api_base=fake.url, oauth_base=fake.url),
        messenger=MessengerConfig(verify_token=MESSENGER_VERIFY, app_secret=MESSENGER_SECRET,
                                  page_access_token="page-token-for-tests", graph_url=fake.url),
        telegram=TelegramConfig(token=TELEGRAM_TOKEN, secret_token=TELEGRAM_SECRET,
                                api_base=fake.url))


def zalo_event(user_id: str, text: str, msg_id: str, timestamp_ms: int | None = None) -> bytes:
    """A user_send_text event as the OA webhook documentation shows it."""
    return json.dumps({
        "app_id": ZALO_APP_ID, "user_id_by_app": "552177279717587730",
        "event_name": "user_send_text",
        "sender": {"id": user_id}, "recipient": {"id": "579745863508352884"},
        "message": {"text": text, "msg_id": msg_id},
        "timestamp": str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)),
    }, ensure_ascii=False).encode()


def zalo_headers(body: bytes, secret: str = ZALO_OA_SECRET) -> dict:
    timestamp = json.loads(body)["timestamp"]
    return {zalo_api.SIGNATURE_HEADER: zalo_api.signature_header(ZALO_APP_ID, body, timestamp, secret),
            "Content-Type": "application/json"}


def messenger_headers(body: bytes, secret: str = MESSENGER_SECRET) -> dict:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


# Fixtures (imported by the test modules): one fake and one app per module.
@pytest.fixture(scope="module")
def fake():
    server = FakeChatApis(ZALO_APP_ID, ZALO_APP_SECRET).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def channel_app(assistant, settings, fake, tmp_path_factory):
    from webhook.app import create_app

    app = create_app(assistant=assistant, settings=settings,
                     channel_config=channel_config(fake, tmp_path_factory.mktemp("channels")))
    yield app
    app.extensions["channels"].close()


@pytest.fixture()
def web(channel_app):
    return channel_app.test_client()


@pytest.fixture()
def outbox(channel_app):
    return channel_app.extensions["channels"].outbox
