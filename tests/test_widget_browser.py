"""The citizen widget in real headless Chromium (Debian `chromium`), against the real server.

A citizen opens the demo portal, asks, sees the answer with its source link, clicks a quick
reply and a feedback button, reloads and finds the conversation again. Screenshots are kept
in test-artifacts/ (gitignored) for a person to look at.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser_support import ask, watched_page, widget

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
QUESTION = "Đăng ký tạm trú online thế nào?"
SUGGESTION = "Làm lý lịch tư pháp trên VNeID thế nào?"  # one of the widget's greeting quick replies


@pytest.fixture()
def open_page(chromium):
    """A fresh browser profile (own localStorage) per call; page errors and CSP reports fail the test."""
    contexts, problems = [], []

    def open_(url: str, **context_options):
        context = chromium.new_context(locale="vi-VN", **context_options)
        contexts.append(context)
        page = watched_page(context, problems, ignore=("ERR_CONNECTION_REFUSED", "Failed to fetch"))
        page.goto(url)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not problems, problems


def bot_messages(page):
    return widget(page).locator(".tly-bot:not(.tly-typing)")


def watch_typing_indicator(page) -> None:
    """Record whether the typing indicator ever appears (it may be gone before we could look)."""
    page.evaluate("""() => {
        const log = document.querySelector('#trolyao-widget').shadowRoot.querySelector('.tly-log');
        window.__typingSeen = false;
        new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => {
            if (n.classList && n.classList.contains('tly-typing')) window.__typingSeen = true;
        }))).observe(log, {childList: true});
    }""")


def test_citizen_asks_gets_cited_answer_uses_quick_reply_and_feedback_and_finds_history(
        open_page, live_server, assistant):
    from playwright.sync_api import expect

    page = open_page(live_server + "/", viewport={"width": 1280, "height": 900})
    toggle = page.get_by_role("button", name="Hỏi trợ lý ảo")
    toggle.click()
    dialog = page.get_by_role("dialog", name="Trợ lý ảo dịch vụ công")
    expect(dialog).to_be_visible()
    expect(page.get_by_label("Câu hỏi của anh/chị")).to_be_focused()
    expect(dialog).to_contain_text("Xin chào")

    watch_typing_indicator(page)
    reply = ask(page, QUESTION)
    assert reply["sources"], reply
    source = reply["sources"][0]
    # Registering, not the removal or renewal of a registration (same service, other documents).
    assert source["doc_id"] == "procedure/tam-tru", reply["sources"]
    answer = bot_messages(page).filter(has=page.locator(".tly-sources")).last
    expect(answer).to_contain_text("tạm trú")
    citation = answer.locator(".tly-sources a").first
    expect(citation).to_have_attribute("href", source["url"])
    expect(citation).to_have_attribute("target", "_blank")
    expect(citation).to_have_attribute("rel", re.compile("noopener"))
    expect(citation).to_contain_text(source["title"])
    expect(widget(page).locator(".tly-typing")).to_have_count(0)
    assert page.evaluate("window.__typingSeen"), "a typing indicator must show while waiting"
    ARTIFACTS.mkdir(exist_ok=True)
    citation.scroll_into_view_if_needed()  # the screenshot must show the citation
    page.screenshot(path=str(ARTIFACTS / "widget-desktop-answer.png"))

    # Quick reply: the greeting's suggestion buttons send their question.
    with page.expect_response(re.compile(r"/api/chat$")) as response_info:
        page.get_by_role("button", name=SUGGESTION).click()
    quick = response_info.value.json()
    expect(widget(page).locator(".tly-user").last).to_have_text(re.compile(re.escape(SUGGESTION)))
    assert quick["sources"] and quick["sources"][0]["service"] == "ly-lich-tu-phap", quick
    expect(widget(page).locator(f'.tly-sources a[href="{quick["sources"][0]["url"]}"]').last).to_be_visible()

    # Feedback: the answer offers 👍/👎; a click is recorded once and thanked.
    votes = widget(page).locator(".tly-feedback").last
    expect(votes).to_be_visible()
    positive = votes.locator(".tly-vote").first
    with page.expect_response(re.compile(r"/api/chat$")) as response_info:
        positive.click()
    thanks = response_info.value.json()
    assert "Cảm ơn" in " ".join(m["text"] for m in thanks["messages"]), thanks
    expect(positive).to_have_attribute("aria-pressed", "true")
    expect(votes.locator(".tly-vote")).to_have_count(2)
    for button in votes.locator(".tly-vote").all():
        expect(button).to_be_disabled()
    expect(bot_messages(page).last).to_contain_text("Cảm ơn")

    sender = page.evaluate("localStorage.getItem('trolyao.sender')")
    user_texts = [e["text"] for e in assistant.tracker_events(sender) if e["event"] == "user"]
    assert QUESTION in user_texts and SUGGESTION in user_texts, user_texts

    # Reload: same conversation id, the transcript is back (panel stays open), votes stay cast.
    page.reload()
    expect(page.get_by_role("dialog", name="Trợ lý ảo dịch vụ công")).to_be_visible()
    assert page.evaluate("localStorage.getItem('trolyao.sender')") == sender
    expect(widget(page).locator(".tly-user").first).to_contain_text(QUESTION)
    expect(widget(page).locator(f'.tly-sources a[href="{source["url"]}"]').first).to_be_visible()
    expect(widget(page).locator(".tly-feedback").last.locator('[aria-pressed="true"]')).to_be_disabled()
    expect(bot_messages(page).last).to_contain_text("Cảm ơn")

    # The conversation continues on the server after the reload.
    follow_up = ask(page, "lệ phí bao nhiêu?")
    assert follow_up["sources"] and follow_up["sources"][0]["service"] == "ly-lich-tu-phap", follow_up


def test_answer_layout_direct_answer_then_details_source_and_aspect_buttons(open_page, live_server):
    """A fee question: the amount first, the right document cited with its section, and
    buttons for the other aspects of the same procedure; one of them answers in place."""
    from playwright.sync_api import expect

    page = open_page(live_server + "/", viewport={"width": 1280, "height": 900})
    page.get_by_role("button", name="Hỏi trợ lý ảo").click()
    reply = ask(page, "lệ phí đăng ký tạm trú online là bao nhiêu?")
    assert reply["sources"][0]["doc_id"] == "procedure/tam-tru", reply["sources"]
    answer = bot_messages(page).filter(has=page.locator(".tly-sources")).last
    direct = answer.locator(".tly-direct")
    expect(direct).to_have_count(1)
    expect(direct).to_contain_text(re.compile(r"\d[\d.]* đồng"))
    expect(direct).to_have_css("font-weight", "600")
    citation = answer.locator(".tly-sources li").first
    expect(citation.locator("a")).to_have_attribute("href", reply["sources"][0]["url"])
    expect(citation.locator("a")).to_contain_text(reply["sources"][0]["title"])
    expect(citation.locator(".tly-section")).to_contain_text("mục")
    aspects = answer.get_by_role("group", name="Hỏi thêm về thủ tục này")
    for title in ("Thời gian", "Giấy tờ", "Các bước"):
        expect(aspects.get_by_role("button", name=title)).to_be_visible()
    expect(aspects.get_by_role("button", name="Lệ phí")).to_have_count(0)  # asked already
    ARTIFACTS.mkdir(exist_ok=True)
    answer.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "widget-answer-layout.png"))

    with page.expect_response(re.compile(r"/api/chat$")) as response_info:
        aspects.get_by_role("button", name="Thời gian").click()
    time = response_info.value.json()
    assert time["sources"][0]["doc_id"] == "procedure/tam-tru", time["sources"]
    later = bot_messages(page).filter(has=page.locator(".tly-sources")).last
    expect(later.locator(".tly-direct")).to_contain_text(re.compile(r"\d+ ngày"))


def test_phone_layout_is_full_screen_and_answers(open_page, live_server):
    from playwright.sync_api import expect

    page = open_page(live_server + "/", viewport={"width": 390, "height": 844}, is_mobile=True,
                     has_touch=True, device_scale_factor=2)
    page.get_by_role("button", name="Hỏi trợ lý ảo").tap()
    dialog = page.get_by_role("dialog", name="Trợ lý ảo dịch vụ công")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box["x"] == 0 and box["y"] == 0 and box["width"] == 390 and box["height"] == 844, box
    reply = ask(page, QUESTION)
    phone_citation = widget(page).locator(f'.tly-sources a[href="{reply["sources"][0]["url"]}"]')
    expect(phone_citation).to_be_visible()
    phone_citation.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-phone-answer.png"))
    page.get_by_role("button", name="Đóng cửa sổ trợ lý").tap()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Hỏi trợ lý ảo")).to_be_visible()


def test_keyboard_only_use_and_screen_reader_semantics(open_page, live_server):
    from playwright.sync_api import expect

    page = open_page(live_server + "/", viewport={"width": 1280, "height": 900})
    toggle = page.get_by_role("button", name="Hỏi trợ lý ảo")
    for _ in range(10):  # Tab through the page until the widget's button has focus
        page.keyboard.press("Tab")
        if toggle.evaluate("b => b.getRootNode().activeElement === b"):
            break
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    field = page.get_by_label("Câu hỏi của anh/chị")
    expect(field).to_be_focused()
    log = widget(page).get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log).to_have_accessible_name("Nội dung trò chuyện")
    with page.expect_response(re.compile(r"/api/chat$")):
        page.keyboard.type("xin chào")
        page.keyboard.press("Enter")
    expect(bot_messages(page)).to_have_count(2)
    # Links say they open a new tab; every button has a name.
    names = widget(page).locator("button").evaluate_all(
        "bs => bs.map(b => (b.getAttribute('aria-label') || b.textContent).trim())")
    assert all(names), names
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(toggle).to_be_focused()

    ratios = widget(page).evaluate("""host => {
        const root = host.shadowRoot;
        root.querySelector('.tly-panel').hidden = false;
        const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(v => {
            v = v / 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const background = el => { for (; el; el = el.parentElement || el.getRootNode().host) {
            const c = getComputedStyle(el).backgroundColor;
            if (!/rgba\\(.*, 0\\)$/.test(c) && c !== 'transparent') return c; } return 'rgb(255,255,255)'; };
        const out = {};
        for (const sel of ['.tly-toggle', '.tly-header h2', '.tly-user p', '.tly-bot p', '.tly-quick',
                           '.tly-send', '.tly-note', '.tly-form input']) {
            const el = root.querySelector(sel); if (!el) { out[sel] = 0; continue; }
            const a = lum(getComputedStyle(el).color), b = lum(background(el));
            out[sel] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }
        return out;
    }""")
    assert all(ratio >= 4.5 for ratio in ratios.values()), ratios


def test_server_unreachable_shows_a_clear_message_and_retry_works(open_page, live_server):
    from playwright.sync_api import expect

    page = open_page(live_server + "/", viewport={"width": 1280, "height": 900})
    page.get_by_role("button", name="Hỏi trợ lý ảo").click()
    # The network drops the first request (a real failed fetch in the browser).
    page.route(re.compile(r"/api/chat$"), lambda route: route.abort("connectionrefused"))
    page.get_by_label("Câu hỏi của anh/chị").fill(QUESTION)
    page.get_by_label("Câu hỏi của anh/chị").press("Enter")
    error = widget(page).locator(".tly-error")
    expect(error).to_contain_text("Không kết nối được máy chủ")
    retry = error.get_by_role("button", name="Thử lại")
    expect(retry).to_be_focused()
    page.unroute(re.compile(r"/api/chat$"))
    with page.expect_response(re.compile(r"/api/chat$")) as response_info:
        retry.click()
    assert response_info.value.status == 200
    expect(error).to_have_count(0)
    expect(widget(page).locator(".tly-sources a").first).to_be_visible()
    expect(widget(page).locator(".tly-user")).to_have_count(1)  # the question is not repeated


def test_nothing_from_messages_or_answers_is_interpreted_as_html(open_page, live_server):
    from playwright.sync_api import expect

    page = open_page(live_server + "/", viewport={"width": 1280, "height": 900})
    page.get_by_role("button", name="Hỏi trợ lý ảo").click()
    typed = '<img src=x onerror="window.__xss=1"><b>thủ tục</b>'
    ask(page, typed)
    expect(widget(page).locator(".tly-user").last).to_contain_text(typed)

    # A hostile answer (as if a document carried markup): rendered as text, unsafe links dropped.
    hostile = {"sender": "x", "intent": {"name": "ask_procedure", "confidence": 1.0}, "fallback": False,
               "messages": [{"text": "**Bước 1** <script>window.__xss=2</script>\n- [bấm](javascript:window.__xss=3)"
                                     "\n- <img src=x onerror=\"window.__xss=4\">\n\nNguồn: [Tài liệu](https://example.gov.vn/a)"}],
               "sources": [{"doc_id": "d", "title": "Tài liệu", "service": "s",
                            "url": "https://example.gov.vn/a", "score": 1.0}]}
    page.route(re.compile(r"/api/chat$"), lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(hostile)))
    ask(page, "câu hỏi bất kỳ")
    answer = bot_messages(page).last
    expect(answer.locator("strong")).to_have_text("Bước 1")
    expect(answer).to_contain_text("<script>window.__xss=2</script>")
    expect(answer.locator("xpath=./ul/li")).to_have_count(2)  # the two list items, not the sources
    expect(answer.locator(".tly-sources a")).to_have_attribute("href", "https://example.gov.vn/a")
    assert widget(page).locator("img, script").count() == 0
    assert widget(page).locator('a[href^="javascript"]').count() == 0
    assert page.evaluate("window.__xss") is None
