"""Benchmark: how long the maintainers' report takes to read the conversation store.

Writes N synthetic conversations (4 questions each, with answers, sources, a fallback and a
feedback event, as the assistant stores them) into a fresh SQLite tracker store through
Rasa's own API, then times both readers of `trolyao.staff.report`:

- `read_sql_events`: one query over Rasa's `events` table (SQLite / PostgreSQL fast path)
- `read_exchanges_via_trackers`: keys() + retrieve_full_tracker() per conversation (any backend)

Usage: .venv/bin/python bench/report_speed.py [--conversations 2000]
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path


def conversation(sender: str, start: float) -> list:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

    events = [SessionStarted(timestamp=start), ActionExecuted("action_listen", timestamp=start)]
    questions = [("làm căn cước cho con", "can-cuoc", False), ("mất bao lâu", "can-cuoc", False),
                 ("giá vàng hôm nay", None, True), ("đăng ký tạm trú online", "tam-tru", False)]
    for i, (text, service, fallback) in enumerate(questions):
        t = start + i * 10
        events.append(UserUttered(text, {"name": "out_of_scope" if fallback else "ask_procedure",
                                         "confidence": 0.97}, timestamp=t))
        events.append(ActionExecuted("action_answer_question", timestamp=t + 0.1))
        sources = [] if fallback else [{"doc_id": f"procedure/{service}", "title": service,
                                        "service": service, "url": "", "score": 0.8}]
        events.append(BotUttered("Câu trả lời … Nguồn: …", timestamp=t + 0.2))
        events.append(BotUttered(None, {"custom": {"trolyao": {"sources": sources, "fallback": fallback}}},
                                 timestamp=t + 0.2))
        if service:
            events.append(SlotSet("service", service, timestamp=t + 0.3))
        events.append(ActionExecuted("action_listen", timestamp=t + 0.4))
    events.append(SlotSet("feedback", "negative", timestamp=start + 45))
    return events


async def fill(store, count: int) -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    start = time.time() - 86400
    for n in range(count):
        tracker = DialogueStateTracker.from_events(f"bench-{n}", conversation(f"bench-{n}", start + n))
        await store.save(tracker)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=2000)
    args = parser.parse_args()

    from rasa.core.tracker_store import TrackerStore

    from trolyao.core import runtime
    from trolyao.core.assistant import tracker_store_endpoint
    from trolyao.staff.report import read_exchanges_via_trackers, read_sql_events

    runtime.quiet_environment()
    db = Path(tempfile.mkdtemp(prefix="trolyao-report-bench-")) / "conversations.db"
    store = TrackerStore.create(tracker_store_endpoint(f"sqlite:///{db}"))

    async def run():
        t0 = time.perf_counter()
        await fill(store, args.conversations)
        t1 = time.perf_counter()
        fast = read_sql_events(store)
        t2 = time.perf_counter()
        slow = await read_exchanges_via_trackers(store)
        t3 = time.perf_counter()
        return fast, slow, t1 - t0, t2 - t1, t3 - t2

    fast, slow, fill_s, fast_s, slow_s = asyncio.run(run())
    assert len(fast) == len(slow) == 4 * args.conversations, (len(fast), len(slow))
    print(f"{args.conversations} conversations, {len(fast)} questions ({db.stat().st_size / 1e6:.1f} MB); "
          f"written in {fill_s:.1f}s")
    print(f"  SQL fast path           {fast_s:6.2f}s  ({len(fast) / fast_s:,.0f} questions/s)")
    print(f"  keys() + retrieve_full  {slow_s:6.2f}s  ({len(slow) / slow_s:,.0f} questions/s)")


if __name__ == "__main__":
    main()
