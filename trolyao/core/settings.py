"""All configuration comes from environment variables (documented in README).

Defaults give an embedded setup: files under `$TROLYAO_HOME/var`, SQLite conversations,
the bundled embedding model, the documents shipped in `knowledge/documents`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import knowledge

PROJECT_ROOT = Path(knowledge.__file__).resolve().parent.parent
DEFAULT_DOCS_DIR = Path(knowledge.__file__).resolve().parent / "documents"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = _env(name, default).strip().lower()
    if value not in allowed:
        raise SystemExit(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


@dataclass
class Settings:
    home: Path
    docs_dir: Path
    index_dir: Path
    models_dir: Path
    catalog_path: Path
    embedding_model: str
    tracker_store: str
    host: str
    port: int
    admin_token: str
    max_message_chars: int
    rate_limit: str
    cors_origins: list[str] = field(default_factory=list)
    frame_ancestors: list[str] = field(default_factory=list)
    portal_url: str = "https://dichvucong.gov.vn"
    hanoi_portal_url: str = "https://dichvucong.hanoi.gov.vn"
    log_level: str = "INFO"
    # "text" (one readable line) or "json" (one JSON object per line, trolyao/core/logformat.py).
    log_format: str = "text"
    # Bearer token Prometheus sends to GET /metrics; empty: the admin token (webhook/metrics.py).
    metrics_token: str = ""
    response_timeout: float = 30.0
    index_watch_seconds: float = 5.0
    # Reverse proxies in front of the app whose X-Forwarded-For is trusted (rate limit per citizen).
    trusted_proxies: int = 0
    # Events of one conversation session Rasa loads per answer; more starts a new session with
    # the slots carried over (long conversations stay as fast as short ones). 0 = unbounded.
    max_session_events: int = 300
    # The append-only audit log of staff actions on citizens' data (trolyao/core/audit.py).
    audit_store: str = ""
    # Conversations and review notes older than this are deleted (trolyao/staff/privacy.py).
    retention_days: int = 180
    # Live hand-off to staff (trolyao/core/handoff.py): on when staff accounts are configured
    # (TROLYAO_STAFF_ACCOUNTS_FILE) or TROLYAO_LIVE_HANDOFF=on; off = the hotline message only.
    live_handoff: bool = False
    staff_accounts_file: Path | None = None
    office_hours: str = "mon-fri 07:30-11:30 13:30-17:00"
    holidays: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    handoff_store: str = ""  # SQLAlchemy URL; default: the conversation store's database
    handoff_wait_seconds: float = 20.0  # how long a widget's request waits for staff messages

    @property
    def rasa_model_path(self) -> Path:
        return self.models_dir / "trolyao.tar.gz"

    @property
    def bot_dir(self) -> Path:
        return PROJECT_ROOT / "bot"

    @property
    def rasa_config_path(self) -> Path:
        return PROJECT_ROOT / "config.yml"

    @property
    def feedback_db(self) -> Path:
        return self.home / "var" / "feedback.db"


def load_settings() -> Settings:
    home = Path(_env("TROLYAO_HOME", str(PROJECT_ROOT))).resolve()
    var = home / "var"
    return Settings(
        home=home,
        docs_dir=Path(_env("TROLYAO_DOCS_DIR", str(DEFAULT_DOCS_DIR))),
        index_dir=Path(_env("TROLYAO_INDEX_DIR", str(var / "index"))),
        models_dir=Path(_env("TROLYAO_MODELS_DIR", str(var / "models"))),
        catalog_path=Path(_env("TROLYAO_CATALOG", str(PROJECT_ROOT / "knowledge" / "catalog.yml"))),
        embedding_model=_env("TROLYAO_EMBEDDING_MODEL", ""),  # "" = knowledge.embedding.DEFAULT_MODEL
        tracker_store=_env("TROLYAO_TRACKER_STORE", f"sqlite:///{var / 'conversations.db'}"),
        host=_env("TROLYAO_HOST", "127.0.0.1"),
        port=_int("TROLYAO_PORT", 8000),
        admin_token=_env("TROLYAO_ADMIN_TOKEN", ""),
        max_message_chars=_int("TROLYAO_MAX_MESSAGE_CHARS", 1000),
        rate_limit=_env("TROLYAO_RATE_LIMIT", "60/60"),
        cors_origins=[o.strip() for o in _env("TROLYAO_CORS_ORIGINS", "").split(",") if o.strip()],
        frame_ancestors=[o.strip() for o in _env("TROLYAO_FRAME_ANCESTORS", "'self'").split()
                         if o.strip()],
        portal_url=_env("TROLYAO_PORTAL_URL", "https://dichvucong.gov.vn"),
        hanoi_portal_url=_env("TROLYAO_HANOI_PORTAL_URL", "https://dichvucong.hanoi.gov.vn"),
        log_level=_env("TROLYAO_LOG_LEVEL", "INFO"),
        log_format=_choice("TROLYAO_LOG_FORMAT", "text", ("text", "json")),
        metrics_token=_env("TROLYAO_METRICS_TOKEN", ""),
        response_timeout=float(_env("TROLYAO_RESPONSE_TIMEOUT", "30")),
        index_watch_seconds=float(_env("TROLYAO_INDEX_WATCH_SECONDS", "5")),
        trusted_proxies=_int("TROLYAO_TRUSTED_PROXIES", 0),
        max_session_events=_int("TROLYAO_MAX_SESSION_EVENTS", 300),
        audit_store=_env("TROLYAO_AUDIT_STORE", f"sqlite:///{var / 'audit.db'}"),
        retention_days=_int("TROLYAO_RETENTION_DAYS", 180),
        live_handoff=_env("TROLYAO_LIVE_HANDOFF", "on" if _env("TROLYAO_STAFF_ACCOUNTS_FILE", "")
                          else "off").lower() in ("1", "on", "true", "yes"),
        staff_accounts_file=Path(_env("TROLYAO_STAFF_ACCOUNTS_FILE", "")) if _env(
            "TROLYAO_STAFF_ACCOUNTS_FILE", "") else None,
        office_hours=_env("TROLYAO_OFFICE_HOURS", "mon-fri 07:30-11:30 13:30-17:00"),
        holidays=_env("TROLYAO_HOLIDAYS", ""),
        timezone=_env("TROLYAO_TIMEZONE", "Asia/Ho_Chi_Minh"),
        handoff_store=_env("TROLYAO_HANDOFF_STORE", ""),
        handoff_wait_seconds=float(_env("TROLYAO_HANDOFF_WAIT_SECONDS", "20")),
    )
