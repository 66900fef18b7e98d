"""The conversation store and the conversation locks behind the assistant.

`TROLYAO_TRACKER_STORE` (a URL) -> Rasa's tracker store endpoint; the lock store that holds
wherever the conversation may be processed (trolyao/core/locks.py); SQLite tuning; start-up
check and clean close of the connections.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

import sqlalchemy as sa
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from trolyao.core.locks import FileLockStore, PostgresAdvisoryLockStore
from trolyao.core.rasa_internals import innermost_store

__all__ = ["StoreUnreachable", "check_reachable", "check_store", "close_store", "innermost_store",
           "lock_store_for", "prepare_sqlite", "store_location", "tracker_store_endpoint"]

SETTING = "TROLYAO_TRACKER_STORE"


class StoreUnreachable(RuntimeError):
    """The configured conversation store does not answer (the message names the setting)."""


def store_location(url: str) -> str:
    """The store URL without its password, for messages."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return url
    return f"{parsed.scheme}://{parsed.hostname or ''}{f':{parsed.port}' if parsed.port else ''}{parsed.path}"


def check_reachable(url: str, timeout: float = 5.0) -> None:
    """Connect once to a PostgreSQL or Redis conversation store; StoreUnreachable with the
    setting's name and the address (never the password) if it does not answer. Rasa itself
    would retry a PostgreSQL connection every 5 s forever, and fall back to memory for Redis."""
    parsed = urlparse(url)
    try:
        if parsed.scheme in ("postgresql", "postgres"):
            engine = sa.create_engine(url.replace("postgres://", "postgresql://", 1),
                                      connect_args={"connect_timeout": max(1, int(timeout))},
                                      poolclass=sa.pool.NullPool)
            try:
                with engine.connect() as connection:
                    connection.execute(sa.text("SELECT 1"))
            finally:
                engine.dispose()
        elif parsed.scheme in ("redis", "rediss"):
            import redis  # only deployments with a Redis store need the client loaded

            client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
            try:
                client.ping()
            finally:
                client.close()
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise StoreUnreachable(
            f"{SETTING}: the conversation store {store_location(url)} is unreachable"
            f" ({reason[0] if reason else type(exc).__name__}); start it, or fix the URL") from None


def tracker_store_endpoint(url: str):
    """`sqlite:///path`, `postgresql://user:pw@host:port/db?sslmode=…`, `redis://[:pw@]host:port/db`
    (`rediss://` for TLS) or `memory://` -> Rasa EndpointConfig (None = in-memory)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = Path(url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return EndpointConfig(type="sql", dialect="sqlite", db=str(path))
    if parsed.scheme in ("postgresql", "postgres"):
        query = dict(parse_qsl(parsed.query)) or None
        return EndpointConfig(type="sql", dialect="postgresql", url=parsed.hostname or "localhost",
                              port=parsed.port or 5432, db=unquote(parsed.path.lstrip("/")),
                              username=unquote(parsed.username or "") or None,
                              password=unquote(parsed.password or "") or None, query=query)
    if parsed.scheme in ("redis", "rediss"):
        return EndpointConfig(type="redis", url=parsed.hostname or "localhost",
                              port=parsed.port or 6379, db=int(parsed.path.lstrip("/") or 0),
                              username=unquote(parsed.username or "") or None,
                              password=unquote(parsed.password or "") or None,
                              use_ssl=parsed.scheme == "rediss", record_exp=None)
    if parsed.scheme == "memory":
        return None
    raise ValueError(f"unsupported TROLYAO_TRACKER_STORE {url!r} (sqlite, postgresql, redis, memory)")


def lock_store_for(endpoint, tracker_store=None):
    """Conversation locks that hold wherever the conversation can be processed (trolyao/core/locks.py):
    in Redis with Redis, PostgreSQL advisory locks with PostgreSQL, file locks beside the SQLite
    database (every worker on the machine), in memory for memory://."""
    if endpoint is not None and endpoint.type == "redis":
        kwargs = endpoint.kwargs
        return RedisLockStore(host=endpoint.url, port=kwargs["port"], db=kwargs["db"],
                              username=kwargs.get("username"), password=kwargs.get("password"),
                              use_ssl=kwargs.get("use_ssl", False), key_prefix="trolyao")
    if endpoint is not None and endpoint.type == "sql":
        dialect = endpoint.kwargs.get("dialect")
        if dialect == "sqlite":
            return FileLockStore.beside(Path(endpoint.kwargs["db"]))
        if dialect == "postgresql" and tracker_store is not None:
            return PostgresAdvisoryLockStore.for_store(innermost_store(tracker_store))
    return InMemoryLockStore()


def prepare_sqlite(store) -> None:
    """Tune Rasa's SQLite conversation store.

    - Write-ahead logging: several gunicorn workers can read while one writes.
    - `synchronous=NORMAL`: in WAL mode a crashed process still loses nothing (only a power
      cut can lose the last answers) and each answer saves an fsync.
    - A connection pool: SQLAlchemy 1.4 opens and closes a new SQLite connection for every
      session by default, three times per answer.
    """
    engine = getattr(store, "engine", None)
    if engine is None or engine.dialect.name != "sqlite":
        return
    pooled = sa.create_engine(engine.url, poolclass=QueuePool, pool_size=2, max_overflow=8,
                              connect_args={"check_same_thread": False})

    @event.listens_for(pooled, "connect")
    def _tune(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    engine.dispose()
    store.engine = pooled
    store.sessionmaker = sessionmaker(bind=pooled)


def check_store(store, url: str) -> None:
    """Fail at start-up, with the URL in the message, if a Redis server does not answer
    (Rasa would otherwise fall back to memory and silently forget conversations)."""
    client = getattr(innermost_store(store), "red", None)
    if client is None:
        return
    try:
        client.ping()
    except Exception as exc:
        where = urlparse(url)  # no password in the message
        raise RuntimeError(f"conversation store {where.scheme}://{where.hostname}:{where.port or 6379}"
                           f" is unreachable: {exc}") from exc


def close_store(store) -> None:
    """Release the database connections so the file/server can be reused at once."""
    store = innermost_store(store)
    engine = getattr(store, "engine", None)
    if engine is not None:
        engine.dispose()
    client = getattr(store, "red", None)
    if client is not None:
        client.close()
