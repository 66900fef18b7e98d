"""Live hand-off building blocks without Rasa: office hours, the queue shared by workers (two
queue objects on one database stand for two gunicorn workers), wake-ups (polling and Redis
pub/sub with a real redis-server), staff accounts."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pg_support
import pytest

from trolyao.core.handoff import (CLOSED, RETURNED, TAKEN, WAITING, AlreadyTaken, ConfigError,
                                  HandoffQueue, NotYours, OfficeHours, RedisWaiter)
from trolyao.staff.accounts import AccountsError, StaffAccounts, hash_password, parse_accounts
from trolyao.staff.report import exchanges_from_events, summarize

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


# ---------------------------------------------------------------- office hours
def test_office_hours_follow_weekdays_lunch_break_and_holidays():
    hours = OfficeHours.parse("mon-fri 07:30-11:30 13:30-17:00; sat 08:00-11:30", "2026-09-02, 2026-12-31")
    assert hours.is_open(at("2026-12-01T08:00"))          # Tuesday morning
    assert not hours.is_open(at("2026-12-01T12:15"))      # lunch break
    assert hours.is_open(at("2026-12-01T16:59"))
    assert not hours.is_open(at("2026-12-01T17:00"))      # closing time is outside
    assert hours.is_open(at("2026-12-05T09:00"))          # Saturday morning
    assert not hours.is_open(at("2026-12-05T14:00"))      # Saturday afternoon
    assert not hours.is_open(at("2026-12-06T09:00"))      # Sunday
    assert not hours.is_open(at("2026-12-31T09:00"))      # a holiday (Thursday)
    # The time zone is Vietnam's: 01:30 UTC is 08:30 in Hà Nội.
    assert hours.is_open(datetime.fromisoformat("2026-12-01T01:30+00:00"))
    # After Wednesday 30/12 closes, the next opening skips the holiday: Friday 1/1 7:30.
    assert hours.next_opening(at("2026-12-30T17:30")) == at("2027-01-01T07:30")
    assert hours.describe_next(at("2026-12-30T17:30")) == "7:30 Thứ Sáu, 01/01/2027"


def test_office_hours_round_the_clock_and_bad_settings_are_named():
    always = OfficeHours.parse("mon-sun 00:00-24:00")
    assert always.is_open(at("2026-12-06T23:59"))
    for spec, holidays, word in (("monday 08:00-17:00", "", "unknown day"),
                                 ("mon-fri 8h-17h", "", "07:30-11:30"),
                                 ("mon 17:00-08:00", "", "ends before"),
                                 ("mon 08:00-17:00", "2/9/2026", "TROLYAO_HOLIDAYS")):
        with pytest.raises(ConfigError, match=word):
            OfficeHours.parse(spec, holidays)
    with pytest.raises(ConfigError, match="time zone"):
        OfficeHours.parse("mon 08:00-17:00", zone="Mars/Olympus")


# ---------------------------------------------------------------- the queue
@pytest.fixture()
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'conversations.db'}"


def test_queue_order_positions_and_one_taker_among_workers(db_url):
    clock = iter(range(1000, 2000)).__next__
    worker_a, worker_b = HandoffQueue(db_url, clock=clock), HandoffQueue(db_url, clock=clock)
    first, new = worker_a.enqueue("u-first", "asked", True)
    assert new and first.state == WAITING
    worker_b.enqueue("u-second", "failed_twice", False)
    assert worker_a.enqueue("u-first", "asked", True)[1] is False  # keeps its place
    assert (worker_b.position("u-first"), worker_b.position("u-second")) == (1, 2)

    # Ten staff members in two workers press "take" at the same moment: exactly one wins.
    winners, losers = [], []
    start = threading.Barrier(10)

    def press(i):
        queue = worker_a if i % 2 else worker_b
        start.wait()
        try:
            winners.append(queue.take("u-first", f"staff:s{i}", f"Cán bộ {i}").taken_by)
        except AlreadyTaken as exc:
            losers.append(exc.ticket.taken_name)
    threads = [threading.Thread(target=press, args=(i,)) for i in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(winners) == 1 and len(losers) == 9
    owner = winners[0]
    assert set(losers) == {worker_a.get("u-first").taken_name}  # others see who took it
    assert worker_b.position("u-second") == 1  # the taken one left the waiting line

    with pytest.raises(NotYours):
        worker_a.reply("u-first", "staff:somebody-else", "xin chào")
    with pytest.raises(NotYours):
        worker_b.end("u-first", "staff:somebody-else", RETURNED)
    sent = worker_b.reply("u-first", owner, "Anh gọi 0912345678 cho tôi nhé")
    assert "0912345678" not in sent["text"]  # staff replies are redacted like everything else
    ticket = worker_a.end("u-first", owner, RETURNED)
    assert ticket.state == RETURNED and ticket.first_reply_at and ticket.taken_at
    texts = [m["text"] for m in worker_a.messages_after("u-first")]
    assert texts[0].startswith("Cán bộ hỗ trợ đã tiếp nhận") and "lại cho trợ lý ảo" in texts[-1]

    # A later hand-off of the same conversation starts afresh; old messages are not re-sent.
    again, new = worker_b.enqueue("u-first", "asked", True)
    assert new and again.state == WAITING and again.taken_by is None
    assert worker_a.updates("u-first", 0, wait=0)[1] == []
    assert worker_a.end("u-second", "staff:x", CLOSED).state == CLOSED  # a waiting one: anybody


def test_queue_survives_a_restart(db_url):
    before = HandoffQueue(db_url)
    before.enqueue("u-paused", "asked", True)
    before.take("u-paused", "staff:lan", "Lan")
    before.close()
    after = HandoffQueue(db_url)  # a new process on the same database
    ticket = after.get("u-paused")
    assert ticket.state == TAKEN and ticket.taken_by == "staff:lan"
    assert after.reply("u-paused", "staff:lan", "Tôi vẫn ở đây")["id"] > 0


def test_a_waiting_request_wakes_when_another_worker_replies(db_url):
    citizen_side, staff_side = HandoffQueue(db_url), HandoffQueue(db_url)
    staff_side.enqueue("u-wait", "asked", True)
    staff_side.take("u-wait", "staff:lan", "Lan")
    after = max(m["id"] for m in staff_side.messages_after("u-wait"))
    results = []
    waiter = threading.Thread(target=lambda: results.append(
        citizen_side.updates("u-wait", after, wait=10)))
    started = time.monotonic()
    waiter.start()
    time.sleep(0.5)
    staff_side.reply("u-wait", "staff:lan", "Chào anh/chị")
    waiter.join(10)
    elapsed = time.monotonic() - started
    assert [m["text"] for m in results[0][1]] == ["Chào anh/chị"]
    assert elapsed < 0.5 + 1.0, elapsed  # polled every 0.25 s, far under the 2 s promised


def test_redis_pub_sub_wakes_the_other_worker_at_once(db_url, redis_server):
    import redis

    citizen_side = HandoffQueue(db_url, RedisWaiter(redis.Redis.from_url(redis_server), poll_seconds=30))
    staff_side = HandoffQueue(db_url, RedisWaiter(redis.Redis.from_url(redis_server), poll_seconds=30))
    staff_side.enqueue("u-redis", "asked", True)
    staff_side.take("u-redis", "staff:lan", "Lan")
    after = max(m["id"] for m in staff_side.messages_after("u-redis"))
    results = []
    waiter = threading.Thread(target=lambda: results.append(citizen_side.updates("u-redis", after, wait=20)))
    waiter.start()
    time.sleep(0.5)  # the waiting request has subscribed
    sent = time.monotonic()
    staff_side.reply("u-redis", "staff:lan", "Qua Redis")
    waiter.join(20)
    latency = time.monotonic() - sent
    # Without the publish the waiter would sleep its 30 s poll interval: the message woke it.
    assert [m["text"] for m in results[0][1]] == ["Qua Redis"] and latency < 1.0, latency


@pytest.fixture()
def redis_server(tmp_path):
    with pg_support.redis_server(tmp_path) as url:
        yield url


def test_one_taker_and_restart_on_postgresql(postgres):
    """The same race on PostgreSQL (the queue beside the conversations of a multi-machine setup)."""
    url = pg_support.new_database(postgres, "handoff")
    workers = [HandoffQueue(url) for _ in range(2)]  # both create the tables at start-up
    workers[0].enqueue("u-pg", "asked", True)
    outcomes = []
    start = threading.Barrier(6)

    def press(i):
        start.wait()
        try:
            workers[i % 2].take("u-pg", f"staff:s{i}", f"Cán bộ {i}")
            outcomes.append("won")
        except AlreadyTaken:
            outcomes.append("refused")
    threads = [threading.Thread(target=press, args=(i,)) for i in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["refused"] * 5 + ["won"]
    [w.close() for w in workers]
    assert HandoffQueue(url).get("u-pg").state == TAKEN  # a restarted worker sees it


# ---------------------------------------------------------------- staff accounts
def test_staff_accounts_verify_hashed_passwords_and_refuse_bad_files(tmp_path):
    path = tmp_path / "staff.json"
    path.write_text(json.dumps({"accounts": [
        {"login": "lan", "name": "Nguyễn Thị Lan", "password_hash": hash_password("mat-khau-cua-lan")}]}),
        encoding="utf-8")
    accounts = StaffAccounts(path)
    assert accounts.verify("lan", "mat-khau-cua-lan").actor == "staff:lan"
    assert accounts.verify("lan", "sai-mat-khau") is None
    assert accounts.verify("ai-do", "mat-khau-cua-lan") is None
    assert "mat-khau-cua-lan" not in path.read_text()
    with pytest.raises(AccountsError, match="10 characters"):
        hash_password("ngan")
    for text, word in (("{", "not valid JSON"), ('{"accounts": {}}', "expected"),
                       ('{"accounts": [{"login": "Lan!", "name": "x", "password_hash": "a$b"}]}', "login"),
                       ('{"accounts": [{"login": "lan", "name": "x", "password_hash": "plain"}]}',
                        "never the password")):
        with pytest.raises(AccountsError, match=word):
            parse_accounts(text)


# ---------------------------------------------------------------- reports
def test_report_counts_handoffs_waiting_and_first_reply_from_the_events():
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=VN).timestamp()

    def user(text, at, intent="ask_procedure"):
        return {"event": "user", "text": text, "timestamp": at,
                "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "entities": []}}

    def staff(text, at, marker):
        return {"event": "bot", "text": text, "timestamp": at,
                "metadata": {"staff": "staff:lan", "handoff": marker}}
    events = [user("cho tôi gặp cán bộ", t0, "request_human"),
              {"event": "bot", "text": "Tôi đã chuyển…", "timestamp": t0 + 1},
              {"event": "pause", "timestamp": t0 + 1},
              user("con tôi 15 tuổi", t0 + 10),                      # for staff, not a question
              staff("đã tiếp nhận", t0 + 61, "taken"),
              staff("Chào anh/chị", t0 + 91, "reply"),
              {"event": "resume", "timestamp": t0 + 200},
              user("lệ phí bao nhiêu?", t0 + 210)]
    exchanges = exchanges_from_events("u-x", events)
    assert [x.question for x in exchanges if x.is_question] == ["cho tôi gặp cán bộ", "lệ phí bao nhiêu?"]
    assert exchanges[1].answer == ""  # staff replies are not the bot's answers
    [handoff] = exchanges.handoffs
    assert (handoff.waiting_seconds, handoff.first_reply_seconds) == (60, 90)
    summary = summarize(exchanges, days=7, today=datetime(2026, 12, 1).date())
    assert (summary.handoffs, summary.handoff_wait_median, summary.handoff_first_reply_median) == (1, 60, 90)
    assert summary.handoff_text == ("1 lần chuyển cho cán bộ; chờ cán bộ nhận (trung vị) 1 phút 0 giây; "
                                    "đến câu trả lời đầu tiên của cán bộ (trung vị) 1 phút 30 giây")
