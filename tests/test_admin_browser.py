"""The admin dashboard in real headless Chromium against the real server and stores.

A maintainer opens /admin (401 and a login form), signs in with the token, sees the charts
drawn from conversations made in this test (a fallback, a negative feedback, a staff flag),
and closes the flagged question. The screenshot is kept in test-artifacts/ for a person.
"""
from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from browser_support import watched_page

from trolyao.staff.report import build_report, read_exchanges_from_assistant
from trolyao.staff.review_store import ReviewStore
from trolyao.cli.shell import PlainView
from trolyao.staff.shell import ShellSession

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def make_conversations(assistant, settings) -> dict:
    """What citizens and staff did today: one decline, one unhelpful answer, one staff flag."""
    tag = uuid.uuid4().hex[:5]
    declined = f"đăng ký nuôi chó cảnh ở phường thế nào {tag}"
    assert assistant.chat(f"citizen-{tag}-1", declined).fallback

    # Answered questions stay natural (a random tag would change what the NLU understands);
    # the same wording from other tests is grouped into the same row anyway.
    unhelpful = "Đăng ký tạm trú online thế nào?"
    sender = f"citizen-{tag}-2"
    assert not assistant.chat(sender, unhelpful).fallback
    assistant.chat(sender, '/give_feedback{"feedback":"negative"}')

    happy = f"citizen-{tag}-3"
    assistant.chat(happy, "Làm lý lịch tư pháp trên VNeID thế nào?")
    assistant.chat(happy, '/give_feedback{"feedback":"positive"}')

    flagged = "làm hộ chiếu cho trẻ em cần giấy tờ gì"
    shell = ShellSession(assistant, PlainView(io.StringIO()), ReviewStore.for_settings(settings))
    shell.handle(flagged)
    note = f"thiếu giấy tờ của cha mẹ ({tag})"
    shell.handle(f"/flag {note}")
    return {"declined": declined, "unhelpful": unhelpful, "flagged": flagged, "note": note}


def test_admin_dashboard_in_chromium(chromium, live_server, app, assistant, settings):
    asked = make_conversations(assistant, settings)
    cache = app.extensions.get("admin_report_cache")
    if cache is not None:
        cache.clear()

    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    # The login page itself is served with 401 (Chromium logs that); anything else is a problem.
    page = watched_page(context, problems, timeout_ms=60_000, ignore=("status of 401",))
    try:
        response = page.goto(f"{live_server}/admin")
        assert response.status == 401
        assert page.get_by_label("Mã truy cập").is_visible()

        page.get_by_label("Mã truy cập").fill("sai-ma")
        page.get_by_role("button", name="Đăng nhập").click()
        assert page.get_by_role("alert").inner_text() == "Mã truy cập không đúng."

        page.get_by_label("Mã truy cập").fill(settings.admin_token)
        with page.expect_navigation():
            page.get_by_role("button", name="Đăng nhập").click()
        assert page.url.endswith("/admin")
        page.wait_for_function(
            "() => [...document.images].length === 4 && "
            "[...document.images].every(i => i.complete && i.naturalWidth > 300)")
        widths = page.eval_on_selector_all("section.charts img", "imgs => imgs.map(i => i.naturalWidth)")
        assert len(widths) == 4 and min(widths) > 300, widths

        # The figures on the page are the ones the report module computes from the same stores.
        summary = build_report(read_exchanges_from_assistant(assistant),
                               ReviewStore.for_settings(settings)).summary
        assert page.locator("#kpi-questions").inner_text() == str(summary.questions)
        assert summary.negative >= 1 and summary.positive >= 1
        assert page.locator("#kpi-satisfaction").inner_text() == f"{summary.satisfaction:.0%}"
        alt = page.locator("#chart-satisfaction").get_attribute("alt")
        assert alt.startswith(f"Hài lòng {summary.positive} trên {summary.positive + summary.negative}")

        todo = page.locator("#todo table")
        for question in (asked["declined"], asked["unhelpful"], asked["flagged"]):
            assert todo.get_by_text(question, exact=True).count() == 1, question
        row = todo.locator("tr", has_text=asked["flagged"])
        assert "cán bộ đánh dấu" in row.inner_text() and asked["note"] in row.inner_text()
        assert "không trả lời được" in todo.locator("tr", has_text=asked["declined"]).inner_text()
        assert "không hài lòng" in todo.locator("tr", has_text=asked["unhelpful"]).inner_text()
        assert page.locator("#index-serving").inner_text() == assistant.knowledge.version

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "admin-dashboard.png"), full_page=True)

        with page.expect_navigation():
            row.get_by_role("button", name="Đã xử lý").click()
        assert "Đã đánh dấu xong" in page.get_by_role("status").first.inner_text()
        assert page.locator("#todo table").get_by_text(asked["flagged"], exact=True).count() == 0
        flags = [f for f in ReviewStore.for_settings(settings).flags() if f.note == asked["note"]]
        assert [f.status for f in flags] == ["done"]
    finally:
        context.close()
    assert not problems, problems
