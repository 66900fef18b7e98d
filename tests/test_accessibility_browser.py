"""Accessibility of the citizen widget, checked in real headless Chromium against the real server.

axe-core (vendored in tests/vendor/axe-core, injected by Playwright) must find no WCAG 2.0/2.1
A or AA violation with the widget closed and open with answers, on a desktop, on a phone and at
200% and 400% zoom. Keyboard tests assert where focus is after each step: a keyboard user must never
lose it (to <body>, behind the phone's full-screen panel or out of view).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from a11y_support import add_axe, assert_no_axe_violations, focused
from browser_support import watched_page, widget

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
QUESTION = "Đăng ký tạm trú online thế nào?"
SUGGESTION = "Làm lý lịch tư pháp trên VNeID thế nào?"  # one of the greeting's quick replies
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
# 200% browser zoom of a 1280x800 window: half as many CSS pixels, each drawn twice as large.
ZOOM_200 = {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}
ZOOM_400 = {"viewport": {"width": 320, "height": 200}, "device_scale_factor": 4}  # phone layout

# A portal page in English (as a ministry's English section would be) embedding the widget,
# long enough that its last paragraph reaches the bottom corner where the bubble sits.
ENGLISH_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Public services portal</title></head>
<body style="margin:0;font:16px/1.5 sans-serif">
<main style="padding:0 16px"><h1>Public services portal</h1>
""" + "".join(f"<p>Paragraph {i}: information about online public services, residence registration "
              f"and criminal record certificates for residents and visitors.</p>\n" for i in range(30)) + """
<p id="last">""" + "The last lines of this page must stay readable above the assistant's button, all the way to the right-hand edge. " * 8 + """</p></main>
<script src="/widget.js" defer></script>
</body></html>"""


@pytest.fixture()
def open_page(chromium):
    """A fresh browser profile with axe-core in every page; page errors fail the test."""
    contexts, problems = [], []

    def open_(url: str, **context_options):
        # axe-core's checks add inline styles while they measure; the pages' strict CSP would block
        # them (and log errors). The widget's own CSP compliance is checked by test_widget_browser.
        context = chromium.new_context(locale="vi-VN", bypass_csp=True, **context_options)
        add_axe(context)
        contexts.append(context)
        page = watched_page(context, problems)
        if url.endswith("/en"):
            page.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8",
                                                        body=ENGLISH_PAGE))
        page.goto(url)
        page.wait_for_function("() => { const h = document.querySelector('#trolyao-widget');"
                               " return h && !h.hidden; }")
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not problems, problems


def toggle_of(page):
    return page.get_by_role("button", name="Hỏi trợ lý ảo")


def panel_hidden(page) -> bool:
    return page.evaluate("() => document.querySelector('#trolyao-widget').shadowRoot"
                         ".querySelector('.tly-panel').hidden")


def wait_for_answer(page, count: int) -> None:
    """Wait until `count` bot messages with a source list are shown and no answer is pending."""
    from playwright.sync_api import expect

    expect(widget(page).locator(".tly-bot:not(.tly-typing)").filter(
        has=page.locator(".tly-sources"))).to_have_count(count)
    expect(widget(page).locator(".tly-typing")).to_have_count(0)


def send_with_keyboard(page, text: str) -> None:
    """Type into the focused message box, Tab to "Gửi" and press Enter on it."""
    page.keyboard.type(text)
    page.keyboard.press("Tab")
    now = focused(page)
    assert now["inWidget"] and now["name"] == "Gửi", now
    with page.expect_response(re.compile(r"/api/chat$")):
        page.keyboard.press("Enter")


def tab_until(page, predicate, key: str = "Tab", limit: int = 30) -> list[dict]:
    """Press `key` until the focused element satisfies `predicate`; return every stop on the way."""
    stops = []
    for _ in range(limit):
        page.keyboard.press(key)
        now = focused(page)
        stops.append(now)
        if now and predicate(now):
            return stops
    raise AssertionError(f"never reached the wanted control with {key}; focus went: {stops}")


def is_input(f) -> bool:
    return bool(f) and f["inWidget"] and f["id"] == "tly-input"


@pytest.mark.parametrize("where,options", [("desktop", DESKTOP), ("phone", PHONE), ("zoom200", ZOOM_200),
                                           ("zoom400", ZOOM_400)],
                         ids=["desktop-1280x800", "phone-390x844", "zoom-200", "zoom-400"])
def test_axe_finds_no_wcag_violation_in_the_widget_closed_and_open_with_answers(
        open_page, live_server, where, options):
    page = open_page(live_server + "/", **options)
    assert_no_axe_violations(page, f"{where}, widget closed")

    toggle_of(page).click()
    assert_no_axe_violations(page, f"{where}, widget open with the greeting")
    with page.expect_response(re.compile(r"/api/chat$")):
        page.get_by_label("Câu hỏi của anh/chị").fill(QUESTION)
        page.get_by_label("Câu hỏi của anh/chị").press("Enter")
    wait_for_answer(page, 1)
    assert_no_axe_violations(page, f"{where}, widget open with an answer, its sources and votes")
    # Reflow: neither the page nor the conversation scrolls sideways.
    overflow = page.evaluate("""() => { const se = document.scrollingElement, log = document
        .querySelector('#trolyao-widget').shadowRoot.querySelector('.tly-log');
        return {page: [se.scrollWidth, se.clientWidth], log: [log.scrollWidth, log.clientWidth]}; }""")
    assert all(scroll <= client for scroll, client in overflow.values()), overflow
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"a11y-widget-{where}.png"))


def test_keyboard_walk_open_send_reach_links_and_buttons_vote_and_close(open_page, live_server):
    from playwright.sync_api import expect

    page = open_page(live_server + "/", **DESKTOP)
    stops = tab_until(page, lambda f: f["inWidget"] and f["name"] == "Hỏi trợ lý ảo")
    assert all(s["visible"] for s in stops), stops
    page.keyboard.press("Enter")
    assert is_input(focused(page)), focused(page)
    expect(toggle_of(page)).to_have_attribute("aria-expanded", "true")

    # Enter on "Gửi": the button is disabled while the answer comes; focus goes back to the box.
    send_with_keyboard(page, QUESTION)
    wait_for_answer(page, 1)
    assert is_input(focused(page)), f"after sending with Enter on Gửi focus is on {focused(page)}"

    # Backwards from the box: the votes, then (past any follow-up buttons) the answer's source link.
    stops = tab_until(page, lambda f: f["inWidget"] and f["tag"] == "a" and "/" in f["href"], key="Shift+Tab")
    names = [s["name"] for s in stops]
    assert names[:2] == ["👎 Chưa", "👍 Có"], names
    assert all(s["inWidget"] and s["visible"] for s in stops), stops
    source = stops[-1]
    answer = widget(page).locator(".tly-bot").filter(has=page.locator(".tly-sources")).last
    assert source["href"] == answer.locator(".tly-sources a").first.get_attribute("href"), source

    # Forwards again to 👍 and vote with Space: focus must not fall to <body>.
    stops = tab_until(page, lambda f: f["inWidget"] and f["name"] == "👍 Có")
    assert all(s["inWidget"] and s["visible"] for s in stops), stops
    with page.expect_response(re.compile(r"/api/chat$")) as response_info:
        page.keyboard.press("Space")
    assert "Cảm ơn" in " ".join(m["text"] for m in response_info.value.json()["messages"])
    expect(widget(page).locator(".tly-bot").last).to_contain_text("Cảm ơn")
    expect(widget(page).locator(".tly-feedback").last.locator('[aria-pressed="true"]')).to_have_text("👍 Có")
    now = focused(page)
    assert now["inWidget"] and now["tag"] != "body" and now["visible"], f"after voting focus is on {now}"
    assert is_input(now), now

    # Esc closes the panel and focus returns to the bubble that opened it.
    page.keyboard.press("Escape")
    assert panel_hidden(page)
    now = focused(page)
    assert now["inWidget"] and now["name"] == "Hỏi trợ lý ảo", now
    expect(toggle_of(page)).to_have_attribute("aria-expanded", "false")


def test_escape_closes_the_panel_even_when_focus_is_not_inside_it(open_page, live_server):
    page = open_page(live_server + "/", **DESKTOP)
    toggle_of(page).click()
    assert not panel_hidden(page)
    # Focus lands on <body> (e.g. a control that had it disappeared): Esc must still close.
    page.evaluate("() => { let a = document.activeElement;"
                  " while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;"
                  " a.blur(); }")
    assert focused(page)["tag"] == "body"
    page.keyboard.press("Escape")
    assert panel_hidden(page), "Esc did not close the panel while focus was on the page"
    assert focused(page)["name"] == "Hỏi trợ lý ảo", focused(page)


def test_space_on_a_vote_keeps_focus_in_the_widget(open_page, live_server):
    page = open_page(live_server + "/", **DESKTOP)
    toggle_of(page).click()
    with page.expect_response(re.compile(r"/api/chat$")):
        page.get_by_label("Câu hỏi của anh/chị").fill(QUESTION)
        page.get_by_label("Câu hỏi của anh/chị").press("Enter")
    wait_for_answer(page, 1)
    vote = widget(page).locator(".tly-feedback").last.get_by_role("button", name="👎 Chưa")
    vote.focus()
    with page.expect_response(re.compile(r"/api/chat$")):
        page.keyboard.press("Space")
    widget(page).locator(".tly-feedback").last.locator('[aria-pressed="true"]').wait_for()
    page.wait_for_function("() => !document.querySelector('#trolyao-widget').shadowRoot"
                           ".querySelector('.tly-send').disabled")
    now = focused(page)
    assert is_input(now) and now["visible"], f"after Space on 👎 focus is on {now}"
    page.keyboard.press("Escape")
    assert panel_hidden(page)


def test_quick_reply_by_keyboard_leaves_focus_visible(open_page, live_server):
    page = open_page(live_server + "/", **DESKTOP)
    toggle_of(page).click()
    stops = tab_until(page, lambda f: f["inWidget"] and f["name"] == SUGGESTION, key="Shift+Tab")
    assert all(s["visible"] for s in stops), stops
    with page.expect_response(re.compile(r"/api/chat$")):
        page.keyboard.press("Enter")
    wait_for_answer(page, 1)
    now = focused(page)
    assert now["inWidget"] and now["visible"], f"after a quick reply focus is on {now} (out of view)"
    assert is_input(now), now


def test_phone_panel_is_a_modal_dialog_that_traps_focus_and_makes_the_page_inert(open_page, live_server):
    from playwright.sync_api import expect

    page = open_page(live_server + "/", **PHONE)
    assert page.evaluate("() => document.querySelectorAll('[inert]').length") == 0
    toggle_of(page).tap()
    dialog = page.get_by_role("dialog", name="Trợ lý ảo dịch vụ công")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    behind = page.evaluate("() => [...document.body.children].filter(e => e.id !== 'trolyao-widget'"
                           " && e.tagName !== 'SCRIPT').map(e => [e.tagName, e.inert])")
    assert behind and all(inert for _, inert in behind), behind
    assert not page.evaluate("() => document.querySelector('#trolyao-widget').inert")

    assert is_input(focused(page)), focused(page)
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "Gửi", focused(page)
    page.keyboard.press("Tab")  # past the last control: back to the first one, not the page behind
    now = focused(page)
    assert now["inWidget"] and now["name"] == "Bắt đầu cuộc trò chuyện mới" and now["visible"], now
    page.keyboard.press("Shift+Tab")  # and backwards from the first to the last
    assert focused(page)["name"] == "Gửi", focused(page)
    for _ in range(12):  # however far one tabs, focus stays in the dialog
        page.keyboard.press("Tab")
        assert focused(page)["inWidget"], focused(page)

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("() => document.querySelectorAll('[inert]').length") == 0
    assert focused(page)["name"] == "Hỏi trợ lý ảo", focused(page)


def test_desktop_panel_is_not_modal_and_becomes_modal_when_the_window_narrows(open_page, live_server):
    page = open_page(live_server + "/", **DESKTOP)
    toggle_of(page).click()
    dialog = widget(page).locator(".tly-panel")
    assert dialog.get_attribute("aria-modal") != "true"
    assert page.evaluate("() => document.querySelectorAll('[inert]').length") == 0
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("() => document.querySelector('main').inert")
    assert dialog.get_attribute("aria-modal") == "true"
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_function("() => !document.querySelector('main').inert")
    assert dialog.get_attribute("aria-modal") != "true"


def test_widget_declares_vietnamese_on_an_english_page_and_passes_axe(open_page, live_server):
    page = open_page(live_server + "/en", **DESKTOP)
    assert page.evaluate("document.documentElement.lang") == "en"
    lang = page.evaluate("""() => { const host = document.querySelector('#trolyao-widget');
        const inner = host.shadowRoot.querySelector('.tly-toggle').closest('[lang]');
        return {host: host.getAttribute('lang'), inner: inner && inner.getAttribute('lang')}; }""")
    assert lang == {"host": "vi", "inner": "vi"}, lang
    toggle_of(page).click()
    with page.expect_response(re.compile(r"/api/chat$")):
        page.get_by_label("Câu hỏi của anh/chị").fill(QUESTION)
        page.get_by_label("Câu hỏi của anh/chị").press("Enter")
    wait_for_answer(page, 1)
    assert page.evaluate("() => document.querySelector('#trolyao-widget').shadowRoot"
                         ".querySelector('.tly-sources').closest('[lang]').lang") == "vi"
    assert_no_axe_violations(page, "English portal page, widget open with an answer")


@pytest.mark.parametrize("where,options", [("desktop", DESKTOP), ("phone", PHONE)],
                         ids=["desktop-1280x800", "phone-390x844"])
def test_closed_bubble_does_not_cover_the_end_of_the_page(open_page, live_server, where, options):
    page = open_page(live_server + "/en", **options)
    page.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
    page.wait_for_function("() => innerHeight + scrollY >= document.scrollingElement.scrollHeight - 1")
    boxes = page.evaluate("""() => {
        const range = document.createRange(); range.selectNodeContents(document.querySelector('#last'));
        const lines = [...range.getClientRects()].map(r => [r.left, r.top, r.right, r.bottom]);
        const b = document.querySelector('#trolyao-widget').shadowRoot.querySelector('.tly-toggle')
                          .getBoundingClientRect();
        return {lines, bubble: [b.left, b.top, b.right, b.bottom]}; }""")
    bl, bt, br, bb = boxes["bubble"]
    covered = [line for line in boxes["lines"]
               if line[0] < br and line[2] > bl and line[1] < bb and line[3] > bt]
    assert not covered, f"{where}: the bubble {boxes['bubble']} covers the page's last lines {covered}"


def test_message_box_has_a_visible_boundary(open_page, live_server):
    page = open_page(live_server + "/", **DESKTOP)
    toggle_of(page).click()
    boundary = page.evaluate("""() => {
        const root = document.querySelector('#trolyao-widget').shadowRoot;
        const input = root.querySelector('.tly-form input'), s = getComputedStyle(input);
        const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(v => {
            v = v / 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
        const around = getComputedStyle(root.querySelector('.tly-form')).backgroundColor;
        const behind = /rgba\\(.*, 0\\)$/.test(around) ? getComputedStyle(root.querySelector('.tly-panel')).backgroundColor : around;
        return ['Top', 'Right', 'Bottom', 'Left'].map(side => ({
            side, width: parseFloat(s['border' + side + 'Width']),
            ratio: ratio(s['border' + side + 'Color'], behind)})); }""")
    for side in boundary:
        assert side["width"] >= 1 and side["ratio"] >= 3, boundary
