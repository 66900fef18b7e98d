"""Process-wide singletons: settings, catalog, embedder, knowledge base.

The web server, the in-process custom actions, the CLI and a standalone
`rasa run actions` server all reach the knowledge base through here, so a process
loads the embedding model and the index exactly once.
"""
from __future__ import annotations

import logging
import sys
import threading

from knowledge.catalog import Catalog, load_catalog
from knowledge.embedding import shared_embedder
from knowledge.search import KnowledgeBase, open_knowledge_base
from trolyao.core.environment import quiet_environment  # noqa: F401 (runtime.quiet_environment)
from trolyao.core.logformat import formatter_for
from trolyao.core.redaction import install_log_redaction
from trolyao.core.settings import Settings, load_settings

_lock = threading.RLock()
_settings: Settings | None = None
_catalog: Catalog | None = None
_kb: KnowledgeBase | None = None


def configure_logging(level: str | int = "INFO", verbose: bool = False, log_format: str = "text",
                      stream=None) -> None:
    """Logs go to stderr (stdout is for command output), personal numbers redacted,
    Rasa's structlog debug chatter silenced unless --verbose. `log_format` "json": one JSON
    object per line (trolyao/core/logformat.py); `stream`: also write there (tests)."""
    level = logging.DEBUG if verbose else (
        getattr(logging, level, logging.INFO) if isinstance(level, str) else level)
    root = logging.getLogger()
    if stream is not None:
        root.addHandler(logging.StreamHandler(stream))
    logging.basicConfig(level=level, stream=sys.stderr)  # does nothing once a handler exists
    root.setLevel(level)
    for handler in root.handlers:
        # Plain stream handlers are ours or basicConfig's; pytest's and gunicorn's are subclasses.
        if type(handler) is logging.StreamHandler:
            handler.setFormatter(formatter_for(log_format))
    install_log_redaction()
    quiet = logging.INFO if verbose else logging.WARNING
    # (Not "root": getLogger("root") is the root logger itself, which silenced
    # TROLYAO_LOG_LEVEL=DEBUG for every logger.)
    for noisy in ("tensorflow", "absl", "rasa", "rasa_sdk", "sentence_transformers", "urllib3",
                  "filelock", "matplotlib", "h5py", "apscheduler", "asyncio", "httpx",
                  "transformers", "faiss", "sqlalchemy", "py.warnings"):
        logging.getLogger(noisy).setLevel(quiet)
    try:
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(quiet)
    except ImportError:  # pragma: no cover - rasa always present in this project
        pass


def settings() -> Settings:
    global _settings
    with _lock:
        if _settings is None:
            _settings = load_settings()
        return _settings


def catalog() -> Catalog:
    global _catalog
    with _lock:
        if _catalog is None:
            _catalog = load_catalog(settings().catalog_path)
        return _catalog


def embedder():
    return shared_embedder(settings().embedding_model)


def knowledge_base() -> KnowledgeBase:
    """The served knowledge base (loaded on first use; raises IndexUnavailable if missing)."""
    global _kb
    with _lock:
        if _kb is None:
            _kb = open_knowledge_base(settings().index_dir, embedder(), catalog())
        return _kb


def reset() -> None:
    """Forget everything (tests switch TROLYAO_* variables between cases)."""
    global _settings, _catalog, _kb
    with _lock:
        _settings = _catalog = _kb = None
