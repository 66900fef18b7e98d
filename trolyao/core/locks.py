"""Conversation locks that hold across worker processes.

One message of a conversation is processed at a time: load the tracker, run NLU and the
actions, save the new events. Two workers doing that at once for the same conversation both
load N events and both save "their" events after N: Rasa's SQL store then drops or mixes one
side's events (20 threads x 20 messages on one sender with 2 workers kept 311 of 400). Rasa's
own lock store is in memory (per process) unless Redis is used, so:

- SQLite (one machine): `FileLockStore`, an `flock` on one of 1,024 lock files beside the
  database (`locks/<db name>/` in the database's folder); the kernel releases it if a worker
  dies.
- PostgreSQL (several machines): `PostgresAdvisoryLockStore`, `pg_try_advisory_lock` on the
  conversation's key, on a connection held for the message.
- Redis: Rasa's RedisLockStore (unchanged).

Inside one process an asyncio lock per conversation queues its messages in arrival order, so
a process asks the cross-process lock once per message. A lock not obtained within
`wait_seconds` raises rasa's `LockError`; the API answers 503 and nothing is stored.
"""
from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
from contextlib import asynccontextmanager
from pathlib import Path

from rasa.core.lock_store import InMemoryLockStore, LockError

STRIPES = 1024
WAIT_SECONDS = 60.0


def conversation_key(conversation_id: str) -> int:
    """A stable 63-bit key of a conversation id (same in every process and machine)."""
    return int.from_bytes(hashlib.sha256(conversation_id.encode("utf-8")).digest()[:8], "big") >> 1


class _LocalLocks:
    """asyncio locks per conversation on this process's event loop, freed when unused."""

    def __init__(self):
        self._locks: dict[str, list] = {}  # id -> [lock, users]

    @asynccontextmanager
    async def hold(self, conversation_id: str):
        entry = self._locks.setdefault(conversation_id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._locks.pop(conversation_id, None)


async def _poll(try_once, what: str, wait_seconds: float):
    """Call `try_once()` until it returns a truthy value, backing off up to 20 ms."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    delay = 0.001
    while True:
        result = try_once()
        if result:
            return result
        if loop.time() > deadline:
            raise LockError(f"could not lock {what} within {wait_seconds:g} s")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.02)


class FileLockStore(InMemoryLockStore):
    """Rasa lock store whose `lock()` also holds an flock shared by every process on the host."""

    def __init__(self, directory: Path, wait_seconds: float = WAIT_SECONDS):
        super().__init__()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.wait_seconds = wait_seconds
        self._local = _LocalLocks()

    @classmethod
    def beside(cls, database: Path, **kwargs) -> "FileLockStore":
        """Locks for the SQLite file `database`: `<its folder>/locks/<its name>/`."""
        database = Path(database)
        return cls(database.parent / "locks" / database.name, **kwargs)

    def _path(self, conversation_id: str) -> Path:
        return self.directory / f"{conversation_key(conversation_id) % STRIPES:04d}.lock"

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = 60,
                   wait_time_in_seconds: float = 0.01):
        async with self._local.hold(conversation_id):
            fd = os.open(self._path(conversation_id), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                def try_once() -> bool:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        return True
                    except OSError as exc:
                        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                            return False
                        raise

                await _poll(try_once, f"conversation {conversation_id}", self.wait_seconds)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


class PostgresAdvisoryLockStore(InMemoryLockStore):
    """Rasa lock store holding a PostgreSQL session advisory lock per conversation, so workers
    on several machines sharing one database never process a conversation at once. Uses its
    own small connection pool (a held lock keeps its connection until the message is saved)."""

    def __init__(self, engine, wait_seconds: float = WAIT_SECONDS):
        super().__init__()
        self.engine = engine
        self.wait_seconds = wait_seconds
        self._local = _LocalLocks()

    @classmethod
    def for_store(cls, sql_store, **kwargs) -> "PostgresAdvisoryLockStore":
        import sqlalchemy as sa

        engine = sa.create_engine(sql_store.engine.url, pool_size=4, max_overflow=28,
                                  pool_pre_ping=True)
        return cls(engine, **kwargs)

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = 60,
                   wait_time_in_seconds: float = 0.01):
        import sqlalchemy as sa

        key = conversation_key(conversation_id)
        loop = asyncio.get_running_loop()
        async with self._local.hold(conversation_id):
            connection = await loop.run_in_executor(None, self.engine.connect)
            try:
                def try_once() -> bool:
                    return bool(connection.execute(sa.text("SELECT pg_try_advisory_lock(:k)"),
                                                   {"k": key}).scalar())

                await _poll(try_once, f"conversation {conversation_id}", self.wait_seconds)
                try:
                    yield
                finally:
                    connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            finally:
                connection.close()

    def close(self) -> None:
        self.engine.dispose()
