"""`trolyao report`: the maintainers' to-do list from real conversations and staff flags.

The conversations are made through the real assistant (session fixture) and stored in the
real SQLite tracker store; the report is read by the real CLI in another process, through
Rasa's TrackerStore API, as a maintainer would run it.
"""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from trolyao.staff.report import Exchange, build_report, summarize, todo_list
from trolyao.staff.review_store import ReviewStore, question_key
from trolyao.cli.shell import PlainView
from trolyao.staff.shell import ShellSession

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TROLYAO = PROJECT_ROOT / ".venv" / "bin" / "trolyao"


def run_cli(*args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    command = [str(TROLYAO)] if TROLYAO.exists() else [sys.executable, "-m", "trolyao.cli"]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200", **env}, cwd=PROJECT_ROOT)


def unique(text: str) -> str:
    """A question no other test asks, so its row in the shared store is ours."""
    return f"{text} (mã {uuid.uuid4().hex[:6]})"


@pytest.mark.slow
def test_report_lists_a_flagged_exchange_and_a_fallback(assistant, settings):
    # A citizen asks something outside the assistant's knowledge: a fallback.
    out_of_scope = unique("giá vé máy bay đi Đà Nẵng tháng sau bao nhiêu")
    declined = assistant.chat(f"citizen-{uuid.uuid4().hex[:8]}", out_of_scope)
    assert declined.fallback, declined.messages

    # A staff member tries a question in the shell and flags the answer, with a phone number
    # pasted into the note by mistake.
    staff_out = io.StringIO()
    shell = ShellSession(assistant, PlainView(staff_out), ReviewStore.for_settings(settings))
    flagged = "làm hộ chiếu cho con dưới 14 tuổi cần giấy tờ gì"  # natural wording: NLU sees it as is
    tag = uuid.uuid4().hex[:6]
    shell.handle(flagged)
    shell.handle(f"/flag thiếu hướng dẫn cho trẻ em ({tag}), công dân gọi 0912 345 678")
    assert "Đã ghi nhận đánh dấu" in staff_out.getvalue()

    result = run_cli("report", "--csv", "-")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    by_question = {r["question"]: r for r in rows}
    assert out_of_scope in by_question, f"fallback missing from {list(by_question)}"
    assert by_question[out_of_scope]["fallback"] == "1"
    assert flagged in by_question, f"flag missing from {list(by_question)}"
    flag_row = by_question[flagged]
    assert int(flag_row["flagged"]) >= 1
    assert flag_row["service"] == "ho-chieu"
    assert f"thiếu hướng dẫn cho trẻ em ({tag})" in flag_row["notes"]
    assert "0912" not in flag_row["notes"] and "[số điện thoại]" in flag_row["notes"]

    # The same list as a table for people, grouped by service.
    table = run_cli("report")
    assert table.returncode == 0, table.stderr[-2000:]
    assert "ho-chieu" in table.stdout and "cán bộ đánh dấu" in table.stdout
    assert "không trả lời được" in table.stdout
    assert "\x1b[" not in table.stdout, "piped output must be plain text"


def test_unreachable_store_is_a_clear_error_without_the_password():
    result = run_cli("report", TROLYAO_TRACKER_STORE="redis://:s3cret-pw@127.0.0.1:1/0")
    assert result.returncode == 2
    assert "error: cannot read the conversation store redis://127.0.0.1:1/0" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


@pytest.mark.slow
def test_negative_feedback_button_reaches_the_report(assistant, settings):
    sender = f"citizen-{uuid.uuid4().hex[:8]}"
    question = "đăng ký tạm trú cho người thuê trọ thế nào"
    answered = assistant.chat(sender, question)
    assert not answered.fallback and answered.sources
    thanks = assistant.chat(sender, '/give_feedback{"feedback":"negative"}')
    assert thanks.messages, "the feedback button must get a reply"

    from trolyao.staff.report import read_exchanges_from_assistant

    exchanges = read_exchanges_from_assistant(assistant)
    ours = [x for x in exchanges if x.sender == assistant.conversation_id(sender)]
    assert [x.question for x in ours] == [question] and ours[0].feedback == "negative"
    # The button click itself is not a question.
    assert not [x for x in exchanges if x.sender == assistant.conversation_id(sender)
                and x.question.startswith("/give_feedback")]

    report = build_report(exchanges, ReviewStore.for_settings(settings))
    item = next(i for i in report.items if i.question == question)
    assert item.kinds["negative"] >= 1 and item.service == "tam-tru"
    assert report.summary.negative >= 1


@pytest.mark.slow
def test_sql_fast_path_reads_what_the_tracker_api_reads(assistant):
    import asyncio

    from trolyao.staff.report import _sql_store, read_exchanges_via_trackers, read_sql_events

    assistant.chat(f"citizen-{uuid.uuid4().hex[:8]}", "Làm lý lịch tư pháp trên VNeID thế nào?")
    store = assistant.agent.tracker_store
    sql = _sql_store(store)
    assert sql is not None, "the test configuration uses SQLite"
    fast = read_sql_events(sql, include_synthetic=True)
    slow = asyncio.run_coroutine_threadsafe(read_exchanges_via_trackers(store, True),
                                            assistant.loop).result(300)

    def seen(x):
        return (x.sender, x.time, x.question, x.intent, x.fallback, x.feedback, x.likely_service, x.answer)
    assert fast and sorted(map(seen, fast)) == sorted(map(seen, slow))


def exchange(question: str, minutes_ago: float, **fields) -> Exchange:
    return Exchange(sender=fields.pop("sender", "s1"), question=question,
                    time=datetime.now(timezone.utc) - timedelta(minutes=minutes_ago), **fields)


def test_todo_groups_by_service_most_frequent_first():
    exchanges = [
        exchange("lam giay phep xay dung o dau", 50, fallback=True),
        exchange("Làm giấy phép xây dựng ở đâu?", 40, fallback=True),  # same question, with tone marks
        exchange("làm giấy phép xây dựng ở đâu", 30, fallback=True, sender="s2"),
        exchange("đổi bằng lái quốc tế", 20, fallback=True, named_services=["giay-phep-lai-xe"]),
        exchange("đổi bằng lái hạng A1 sang thẻ PET", 10, feedback="negative",
                 sources=[{"service": "giay-phep-lai-xe", "score": 0.7}]),
        exchange("đổi bằng lái online", 5, sources=[{"service": "giay-phep-lai-xe", "score": 0.9}]),
        exchange("xin chào", 5, intent="greet"),
    ]
    groups = todo_list(exchanges, [])
    assert [g.service for g in groups] == [None, "giay-phep-lai-xe"]
    assert groups[0].items[0].count == 3
    assert groups[0].items[0].question == "làm giấy phép xây dựng ở đâu"  # the latest wording
    licence = {i.question: dict(i.kinds) for i in groups[1].items}
    assert licence == {"đổi bằng lái quốc tế": {"fallback": 1},
                       "đổi bằng lái hạng A1 sang thẻ PET": {"negative": 1}}


def test_closing_a_question_hides_it_until_it_is_asked_again(tmp_path):
    store = ReviewStore(tmp_path / "review.db")
    flag = store.add_flag(sender="shell-1", question="Làm thẻ BHYT cho bé ở đâu?", answer="…",
                          service="bao-hiem-y-te", note="thiếu mục trẻ em")
    old = [exchange("lam the bhyt cho be o dau", 60, fallback=True)]
    assert todo_list(old, store.flags(), store.resolutions())[0].items[0].count == 2

    assert store.resolve_question("Làm thẻ BHYT cho bé ở đâu") == 1
    assert store.flags(status="open") == []
    assert [f.status for f in store.flags()] == ["done"] and store.flags()[0].id == flag.id
    assert todo_list(old, store.flags(), store.resolutions()) == []

    asked_again = old + [Exchange(sender="s9", question="làm thẻ BHYT cho bé ở đâu", fallback=True,
                                  time=datetime.now(timezone.utc) + timedelta(seconds=1))]
    groups = todo_list(asked_again, store.flags(), store.resolutions())
    assert [(i.question, i.count) for g in groups for i in g.items] == [("làm thẻ BHYT cho bé ở đâu", 1)]


def test_flag_notes_and_questions_are_redacted(tmp_path):
    store = ReviewStore(tmp_path / "review.db")
    flag = store.add_flag(sender="shell-2", question="CCCD 001203004005 bị khóa", answer="…",
                          note="người dân để lại số 0987654321")
    assert "001203004005" not in flag.question and "[số giấy tờ]" in flag.question
    assert flag.note == "người dân để lại số [số điện thoại]"
    assert question_key("Làm  CCCD ở đâu?") == question_key("lam cccd o dau")


def test_summary_counts_days_answers_and_satisfaction():
    exchanges = [
        exchange("a", 0, feedback="positive", sources=[{"service": "tam-tru", "score": 1}]),
        exchange("b", 0, feedback="positive", sources=[{"service": "tam-tru", "score": 1}]),
        exchange("c", 0, feedback="negative", sources=[{"service": "ho-chieu", "score": 1}]),
        exchange("d", 60 * 24 * 2, fallback=True),
        exchange("e", 60 * 24 * 40, fallback=True),  # older than the window
        exchange("xin chào", 0, intent="greet"),
    ]
    summary = summarize(exchanges, days=30)
    assert len(summary.days) == 30 and sum(summary.questions_per_day) == 4
    assert summary.questions_per_day[-1] == 3 and summary.questions_per_day[-3] == 1
    assert (summary.answered, summary.declined) == (3, 1)
    assert summary.satisfaction == pytest.approx(2 / 3) and summary.satisfaction < summary.target
    assert summary.top_services[0] == ("tam-tru", 2)
