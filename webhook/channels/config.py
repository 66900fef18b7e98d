"""Channel settings, read from environment variables (README "Other channels").

A channel is on only when all its required variables are set; otherwise its routes do not
exist (404). Kept apart from trolyao/core/settings.py: only the web layer uses them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from webhook.channels import zalo_api


class ChannelConfigError(SystemExit):
    """A channel is half configured: refuse to start rather than drop citizens' messages."""


def _get(env: Mapping[str, str], name: str, default: str = "") -> str:
    return (env.get(name) or default).strip()


def _number(env: Mapping[str, str], name: str, default: str, kind=float):
    """A numeric setting; a typo stops start-up with the variable's name, not a traceback."""
    raw = _get(env, name, default)
    try:
        return kind(raw)
    except ValueError:
        raise ChannelConfigError(f"{name} must be a number, got {raw!r}") from None


def _required(env: Mapping[str, str], names: tuple[str, ...], channel: str) -> bool:
    """True if every variable is set, False if none is; a partial set is an error."""
    present = [n for n in names if _get(env, n)]
    if present and len(present) < len(names):
        missing = ", ".join(n for n in names if n not in present)
        raise ChannelConfigError(f"{channel} channel: {missing} must be set too "
                                 f"(or unset {', '.join(present)} to turn it off)")
    return bool(present)


@dataclass(frozen=True)
class ZaloConfig:
    app_id: str
    app_secret: str        # the app's secret key: refreshes the access token
    oa_secret_key: str     # the OA's secret key: signs webhook events (not the app secret)
    token_file: Path       # access + refresh tokens, mode 0600
    initial_refresh_token: str = ""  # seeds the token file on first start
    api_base: str = zalo_api.API_BASE
    oauth_base: str = zalo_api.OAUTH_BASE
    max_event_age: float = 300.0  # seconds; older (or future) events are refused as replays

    REQUIRED = ("TROLYAO_ZALO_APP_ID", "TROLYAO_ZALO_APP_SECRET", "TROLYAO_ZALO_OA_SECRET_KEY")

    @classmethod
    def from_env(cls, env: Mapping[str, str], home: Path) -> "ZaloConfig | None":
        if not _required(env, cls.REQUIRED, "Zalo"):
            return None
        return cls(app_id=_get(env, "TROLYAO_ZALO_APP_ID"),
                   app_secret=_get(env, "TROLYAO_ZALO_APP_SECRET"),
                   oa_secret_key=_get(env, "TROLYAO_ZALO_OA_SECRET_KEY"),
                   token_file=Path(_get(env, "TROLYAO_ZALO_TOKEN_FILE",
                                        str(home / "var" / "zalo-token.json"))),
                   initial_refresh_token=_get(env, "TROLYAO_ZALO_REFRESH_TOKEN"),
                   api_base=_get(env, "TROLYAO_ZALO_API_URL", zalo_api.API_BASE).rstrip("/"),
                   oauth_base=_get(env, "TROLYAO_ZALO_OAUTH_URL", zalo_api.OAUTH_BASE).rstrip("/"),
                   max_event_age=_number(env, "TROLYAO_ZALO_MAX_EVENT_AGE", "300"))


class _ChannelFromEnv:
    """Messenger and Telegram: each field filled from its variable in VARIABLES (an unset
    optional one keeps the field's default; base URLs lose a trailing slash)."""
    CHANNEL = ""
    REQUIRED: tuple[str, ...] = ()
    VARIABLES: dict[str, str] = {}

    @classmethod
    def from_env(cls, env: Mapping[str, str]):
        """The config, or None when the channel is off (none of REQUIRED set)."""
        if not _required(env, cls.REQUIRED, cls.CHANNEL):
            return None
        values = {name: _get(env, variable) for name, variable in cls.VARIABLES.items()
                  if _get(env, variable)}
        for name in ("graph_url", "api_base"):
            if name in values:
                values[name] = values[name].rstrip("/")
        return cls(**values)


@dataclass(frozen=True)
class MessengerConfig(_ChannelFromEnv):
    verify_token: str       # chosen by you, typed into the Facebook app's webhook settings
    app_secret: str         # signs the webhook's POSTs (X-Hub-Signature-256)
    page_access_token: str  # sends the answers in the page's name
    graph_url: str = "https://graph.facebook.com/v19.0"

    CHANNEL = "Messenger"
    REQUIRED = ("TROLYAO_MESSENGER_VERIFY", "TROLYAO_MESSENGER_SECRET",
                "TROLYAO_MESSENGER_PAGE_ACCESS_TOKEN")

    VARIABLES = {"verify_token": "TROLYAO_MESSENGER_VERIFY", "app_secret": "TROLYAO_MESSENGER_SECRET",
                 "page_access_token": "TROLYAO_MESSENGER_PAGE_ACCESS_TOKEN",
                 "graph_url": "TROLYAO_MESSENGER_GRAPH_URL"}


@dataclass(frozen=True)
class TelegramConfig(_ChannelFromEnv):
    token: str          # from @BotFather
    secret_token: str   # given to setWebhook; Telegram echoes it in X-Telegram-Bot-Api-Secret-Token
    webhook_url: str = ""  # https://…/webhooks/telegram/webhook (README: the setWebhook call)
    bot_name: str = ""
    api_base: str = "https://api.telegram.org"

    CHANNEL = "Telegram"
    REQUIRED = ("TROLYAO_TELEGRAM_TOKEN", "TROLYAO_TELEGRAM_SECRET")

    VARIABLES = {"token": "TROLYAO_TELEGRAM_TOKEN", "secret_token": "TROLYAO_TELEGRAM_SECRET",
                 "webhook_url": "TROLYAO_TELEGRAM_WEBHOOK_URL", "bot_name": "TROLYAO_TELEGRAM_BOT_NAME",
                 "api_base": "TROLYAO_TELEGRAM_API_URL"}


@dataclass(frozen=True)
class DeliveryConfig:
    outbox: Path
    max_attempts: int = 5
    backoff_seconds: float = 2.0  # 2, 4, 8, 16 s between the attempts
    timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str], home: Path) -> "DeliveryConfig":
        return cls(outbox=Path(_get(env, "TROLYAO_CHANNEL_OUTBOX",
                                    str(home / "var" / "channel-outbox.db"))),
                   max_attempts=max(1, _number(env, "TROLYAO_CHANNEL_SEND_ATTEMPTS", "5", int)),
                   backoff_seconds=_number(env, "TROLYAO_CHANNEL_RETRY_SECONDS", "2"))


@dataclass(frozen=True)
class ChannelConfig:
    delivery: DeliveryConfig
    zalo: ZaloConfig | None = None
    messenger: MessengerConfig | None = None
    telegram: TelegramConfig | None = None

    @property
    def any(self) -> bool:
        return bool(self.zalo or self.messenger or self.telegram)

    @classmethod
    def from_env(cls, home: Path, env: Mapping[str, str] | None = None) -> "ChannelConfig":
        env = os.environ if env is None else env
        return cls(delivery=DeliveryConfig.from_env(env, home),
                   zalo=ZaloConfig.from_env(env, home),
                   messenger=MessengerConfig.from_env(env),
                   telegram=TelegramConfig.from_env(env))

    def rasa_credentials(self) -> dict:
        """The same settings as Rasa's credentials.yml (for a stock `rasa run` deployment);
        secrets are written as ${VAR} references, never their values."""
        creds: dict = {}
        if self.messenger:
            creds["facebook"] = {"verify": "${TROLYAO_MESSENGER_VERIFY}",
                                 "secret": "${TROLYAO_MESSENGER_SECRET}",
                                 "page-access-token": "${TROLYAO_MESSENGER_PAGE_ACCESS_TOKEN}"}
        if self.telegram:
            creds["telegram"] = {"access_token": "${TROLYAO_TELEGRAM_TOKEN}",
                                 "verify": self.telegram.bot_name or "${TROLYAO_TELEGRAM_BOT_NAME}",
                                 "webhook_url": self.telegram.webhook_url
                                 or "${TROLYAO_TELEGRAM_WEBHOOK_URL}"}
        return creds
