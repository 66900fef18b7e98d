"""Issue 13, medium: conversation locks that hold across processes (trolyao/locks.py).

The end-to-end check (two gunicorn workers, concurrent senders, nothing lost) is in
test_hardening_serving.py; here the lock stores themselves: two lock stores are two workers
(separate file descriptions for flock, separate database sessions for advisory locks)."""
from __future__ import annotations

import asyncio
import time

from rasa.core.lock_store import LockError

from trolyao.core.locks import FileLockStore, PostgresAdvisoryLockStore, conversation_key


def run(coro):
    return asyncio.run(coro)


async def contend(first, second, conversation: str, other: str) -> list[str]:
    """`first` holds `conversation`; `second` must wait for it (LockError when it gives up)
    but gets `other` at once; then, released, `second` gets `conversation`."""
    seen = []
    async with first.lock(conversation):
        seen.append("first holds")
        try:
            async with second.lock(conversation):
                seen.append("second got it while held")  # must not happen
        except LockError:
            seen.append("second waited")
        async with second.lock(other):
            seen.append("second got another conversation")
    async with second.lock(conversation):
        seen.append("second holds after release")
    return seen


EXPECTED = ["first holds", "second waited", "second got another conversation",
            "second holds after release"]


def other_stripe(conversation: str) -> str:
    """A conversation id whose lock file differs from `conversation`'s."""
    from trolyao.core.locks import STRIPES

    for i in range(1000):
        candidate = f"{conversation}-{i}"
        if conversation_key(candidate) % STRIPES != conversation_key(conversation) % STRIPES:
            return candidate
    raise AssertionError("no other stripe")


def test_file_locks_hold_between_two_workers(tmp_path):
    db = tmp_path / "conversations.db"
    worker_a = FileLockStore.beside(db, wait_seconds=0.3)
    worker_b = FileLockStore.beside(db, wait_seconds=0.3)
    assert worker_a.directory == tmp_path / "locks" / "conversations.db"
    assert run(contend(worker_a, worker_b, "u-abc", other_stripe("u-abc"))) == EXPECTED


def test_one_workers_messages_of_a_conversation_queue_in_order(tmp_path):
    store = FileLockStore.beside(tmp_path / "c.db", wait_seconds=5)
    order = []

    async def message(i: int):
        async with store.lock("u-same"):
            order.append(("start", i))
            await asyncio.sleep(0.01)
            order.append(("end", i))

    async def main():
        await asyncio.gather(*(message(i) for i in range(5)))

    run(main())
    assert order == [(kind, i) for i in range(5) for kind in ("start", "end")]


# ---------------------------------------------------------------- PostgreSQL
# `postgres`: the session's throw-away server (tests/conftest.py, tests/pg_support.py).


def test_advisory_locks_hold_between_two_workers(postgres):
    import sqlalchemy as sa

    worker_a = PostgresAdvisoryLockStore(sa.create_engine(postgres), wait_seconds=0.3)
    worker_b = PostgresAdvisoryLockStore(sa.create_engine(postgres), wait_seconds=0.3)
    try:
        assert run(contend(worker_a, worker_b, "u-abc", "u-def")) == EXPECTED
        # Nothing stays locked: every lock was released with its message.
        with worker_a.engine.connect() as connection:
            held = connection.execute(sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar()
        assert held == 0
    finally:
        worker_a.close()
        worker_b.close()


def test_advisory_lock_waits_then_proceeds(postgres):
    """A second worker's message waits for the first one's and is then processed."""
    import sqlalchemy as sa

    worker_a = PostgresAdvisoryLockStore(sa.create_engine(postgres), wait_seconds=5)
    worker_b = PostgresAdvisoryLockStore(sa.create_engine(postgres), wait_seconds=5)
    events = []

    async def hold(store, name, seconds):
        async with store.lock("u-shared"):
            events.append((name, "in", time.monotonic()))
            await asyncio.sleep(seconds)
            events.append((name, "out", time.monotonic()))

    async def main():
        first = asyncio.create_task(hold(worker_a, "a", 0.3))
        await asyncio.sleep(0.05)
        await hold(worker_b, "b", 0)
        await first

    try:
        run(main())
    finally:
        worker_a.close()
        worker_b.close()
    names = [(n, k) for n, k, _ in events]
    assert names == [("a", "in"), ("a", "out"), ("b", "in"), ("b", "out")]


def test_a_postgresql_conversation_store_gets_advisory_locks(postgres):
    """The assistant's wiring: TROLYAO_TRACKER_STORE=postgresql://… -> advisory locks on the
    same database."""
    from rasa.core.tracker_store import TrackerStore

    from trolyao.core.stores import close_store, lock_store_for, tracker_store_endpoint

    async def main():
        endpoint = tracker_store_endpoint(postgres)
        stores = [TrackerStore.create(endpoint) for _ in range(2)]  # two workers
        locks = [lock_store_for(endpoint, store) for store in stores]
        try:
            assert all(isinstance(lock, PostgresAdvisoryLockStore) for lock in locks)
            for lock in locks:
                lock.wait_seconds = 0.3
            return await contend(locks[0], locks[1], "u-abc", "u-def")
        finally:
            for lock, store in zip(locks, stores):
                lock.close()
                close_store(store)

    assert run(main()) == EXPECTED
