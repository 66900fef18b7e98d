"""Live hand-off in real headless Chromium, two browser profiles against the real server: a
citizen gives an answer a 👎 and asks for a person with the button the widget then offers; a
staff member signs in to /admin/handoff, takes the conversation and replies; the reply shows in
the citizen's widget within 2 s and survives a reload; the citizen answers; staff return the
conversation to the assistant and the bot answers the next question. Screenshots of both sides
go to test-artifacts/."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from browser_support import ask, watched_page, widget

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
STAFF_REPLY = "Chào anh/chị, tôi là cán bộ phường. Anh/chị cần làm lý lịch tư pháp cho ai ạ?"


def watch_staff_messages(page) -> None:
    """Record the wall-clock time the first staff message appears in the widget."""
    page.evaluate("""() => {
        const log = document.querySelector('#trolyao-widget').shadowRoot.querySelector('.tly-log');
        window.__staffAt = null;
        new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => {
            if (n.classList && n.classList.contains('tly-staff') && !window.__staffAt) window.__staffAt = Date.now();
        }))).observe(log, {childList: true});
    }""")


def test_citizen_and_staff_in_two_browsers(chromium, live_server, assistant, live_handoff):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    citizen_context = chromium.new_context(locale="vi-VN", viewport={"width": 1100, "height": 850})
    staff_context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    try:
        citizen = watched_page(citizen_context, problems, timeout_ms=60_000)
        citizen.goto(live_server + "/")
        citizen.get_by_role("button", name="Hỏi trợ lý ảo").click()
        assert ask(citizen, "Đăng ký tạm trú online thế nào?")["sources"]
        # 👎 on the answer: the thanks offer a person, one click away.
        with citizen.expect_response(re.compile(r"/api/chat$")):
            widget(citizen).get_by_role("button", name="👎 Chưa").click()
        with citizen.expect_response(re.compile(r"/api/chat$")) as response_info:
            widget(citizen).get_by_role("button", name="Gặp cán bộ hỗ trợ").click()
        asked = response_info.value.json()
        assert asked["intent"]["name"] == "request_human" and asked["handoff"] is True
        status = widget(citizen).locator(".tly-status")
        expect(status).to_contain_text("Đang chờ cán bộ hỗ trợ (anh/chị ở vị trí số 1)")
        sender = citizen.evaluate("() => localStorage.getItem('trolyao.sender')")
        conversation = assistant.conversation_id(sender)
        citizen.screenshot(path=str(ARTIFACTS / "handoff-citizen-waiting.png"))

        # The staff member signs in with a named account.
        staff = watched_page(staff_context, problems, timeout_ms=60_000, ignore=("status of 401",))
        assert staff.goto(live_server + "/admin/handoff").status == 401
        staff.get_by_label("Tên đăng nhập").fill("lan")
        staff.get_by_label("Mật khẩu").fill(live_handoff["lan"][1])
        with staff.expect_navigation():
            staff.get_by_role("button", name="Đăng nhập").click()
        expect(staff.locator("#me")).to_have_text("Nguyễn Thị Lan")
        staff.locator(f'#list-waiting button[data-conversation="{conversation}"]').click()
        expect(staff.locator("#transcript")).to_contain_text("Tôi muốn gặp cán bộ hỗ trợ")
        staff.get_by_role("button", name="Nhận cuộc trò chuyện").click()
        expect(staff.locator(f'#list-mine button[data-conversation="{conversation}"]')).to_be_visible()
        expect(status).to_have_text("Cán bộ hỗ trợ đang trò chuyện với anh/chị.")
        expect(staff.get_by_role("button", name="Nhận cuộc trò chuyện")).to_be_hidden()
        expect(staff.locator("#transcript")).to_contain_text("Nguyễn Thị Lan đã nhận cuộc trò chuyện")

        watch_staff_messages(citizen)
        staff.get_by_label("Trả lời người dân").fill(STAFF_REPLY)
        sent_at = time.time() * 1000
        staff.get_by_role("button", name="Gửi").click()
        staff_message = widget(citizen).locator(".tly-staff")
        expect(staff_message).to_contain_text(STAFF_REPLY, timeout=2000)
        latency_ms = citizen.evaluate("() => window.__staffAt") - sent_at
        assert latency_ms < 2000, latency_ms
        print(f"staff reply shown in the widget {latency_ms:.0f} ms after 'Gửi'")
        expect(staff_message).to_contain_text("Cán bộ hỗ trợ:")
        citizen.screenshot(path=str(ARTIFACTS / "handoff-citizen-staff-reply.png"))

        # A reload keeps the staff message and keeps listening.
        citizen.reload()
        expect(widget(citizen).locator(".tly-staff")).to_contain_text(STAFF_REPLY)
        expect(widget(citizen).locator(".tly-status")).to_have_text("Cán bộ hỗ trợ đang trò chuyện với anh/chị.")
        answer = ask(citizen, "Cho con tôi 15 tuổi ạ")
        assert answer["messages"] == []  # the bot is paused: staff answer
        expect(staff.locator("#transcript .line-citizen").last).to_contain_text("Cho con tôi 15 tuổi ạ")
        staff.screenshot(path=str(ARTIFACTS / "handoff-staff.png"), full_page=True)

        staff.get_by_role("button", name="Trả lại cho trợ lý ảo").click()
        expect(widget(citizen).locator(".tly-bot").last).to_contain_text("lại cho trợ lý ảo")
        expect(widget(citizen).locator(".tly-status")).to_be_hidden()
        answered = ask(citizen, "Làm lý lịch tư pháp trên VNeID thế nào?")
        assert answered["sources"] and answered["sources"][0]["service"] == "ly-lich-tu-phap", answered
        expect(widget(citizen).locator(".tly-sources").last).to_be_visible()
        expect(staff.locator(f'#list-closed button[data-conversation="{conversation}"]')).to_be_visible()
        citizen.screenshot(path=str(ARTIFACTS / "handoff-citizen-back-to-bot.png"))
    finally:
        citizen_context.close()
        staff_context.close()
    assert not problems, problems
