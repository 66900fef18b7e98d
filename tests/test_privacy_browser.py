"""The widget's "↺" in real headless Chromium against the real server: "Hủy" keeps the
conversation, "Bắt đầu mới" starts another and leaves the old one stored (until the retention
period), "Xóa cuộc trò chuyện" deletes the server copy of the current one."""
from __future__ import annotations

import re

import pytest
from browser_support import ask, watched_page, widget

from trolyao.core.audit import AuditLog

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIRST = "Đăng ký tạm trú online thế nào?"
SECOND = "Làm căn cước cho trẻ em dưới 6 tuổi thế nào?"  # not a greeting suggestion


@pytest.fixture()
def page(chromium, live_server):
    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page = watched_page(context, problems)
    page.goto(live_server + "/")
    yield page
    context.close()
    assert not problems, problems


def stored_sender(page) -> str:
    return page.evaluate("() => localStorage.getItem('trolyao.sender')")


def user_texts(events: list[dict]) -> list[str]:
    return [e.get("text") for e in events if e.get("event") == "user"]


def test_restart_offers_to_delete_the_conversation_on_the_server(page, assistant, settings):
    from playwright.sync_api import expect

    page.get_by_role("button", name="Hỏi trợ lý ảo").click()
    log = widget(page).locator(".tly-log")
    typed = widget(page).locator(".tly-user")  # the citizen's messages in the transcript
    assert ask(page, FIRST)["messages"]
    first = stored_sender(page)
    assert re.fullmatch(r"web-[0-9a-f]{24}", first)
    assert user_texts(assistant.tracker_events(first)) == [FIRST]

    restart = page.get_by_role("button", name="Bắt đầu cuộc trò chuyện mới")
    restart.click()
    choice = page.get_by_role("group", name="Bắt đầu cuộc trò chuyện mới")
    expect(choice).to_contain_text("lưu trên máy chủ có thời hạn")
    expect(choice.get_by_role("button", name="Xóa cuộc trò chuyện")).to_be_focused()

    choice.get_by_role("button", name="Hủy").click()  # nothing changes
    expect(choice).to_have_count(0)
    expect(log).to_contain_text(FIRST)
    assert stored_sender(page) == first

    restart.click()
    choice.get_by_role("button", name="Bắt đầu mới").click()  # new conversation, old one kept
    expect(typed).to_have_count(0)
    expect(log).to_contain_text("Xin chào")
    second = stored_sender(page)
    assert second != first
    assert user_texts(assistant.tracker_events(first)) == [FIRST]

    assert ask(page, SECOND)["messages"]
    assert user_texts(assistant.tracker_events(second)) == [SECOND]
    restart.click()
    with page.expect_response(re.compile(r"/api/conversation/delete$")) as deletion:
        choice.get_by_role("button", name="Xóa cuộc trò chuyện").click()
    assert deletion.value.status == 200 and deletion.value.json()["deleted"] is True
    expect(widget(page).get_by_role("status").filter(has_text="Đã xóa")).to_have_text(
        "Đã xóa cuộc trò chuyện trước trên máy chủ.")
    expect(typed).to_have_count(0)
    expect(log).to_contain_text("Xin chào")
    third = stored_sender(page)
    assert third not in (first, second)
    assert page.evaluate(f"() => localStorage.getItem('trolyao.transcript.{second}')") is None

    assert assistant.tracker_events(second) == [], "the server copy is gone"
    assert user_texts(assistant.tracker_events(first)) == [FIRST], "only the current conversation"
    entry = AuditLog.from_settings(settings).recent(1, action="privacy.delete")[0]
    assert (entry["actor"], entry["subject"]) == ("citizen", assistant.conversation_id(second))
    # The new conversation works as before.
    assert ask(page, FIRST)["messages"]
    assert user_texts(assistant.tracker_events(third)) == [FIRST]
