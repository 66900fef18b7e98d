"""Accessibility of the admin pages in real headless Chromium against the real server and stores.

axe-core (vendored in tests/vendor/axe-core) finds no WCAG 2.0/2.1 A or AA violation on the
sign-in page and the dashboard; the dashboard reflows at 320 px (only the to-do table scrolls,
in its own box), has a main landmark, named table headers, one distinct name per "Đã xử lý"
button, and every chart has its numbers as a table behind "Xem số liệu".
"""
from __future__ import annotations

from pathlib import Path

import pytest

from a11y_support import add_axe, assert_no_axe_violations
from browser_support import watched_page
# The conversations (a decline, a 👎, a staff flag) and the report API, as the dashboard test uses them.
from test_admin_browser import ReviewStore, build_report, make_conversations, read_exchanges_from_assistant

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@pytest.fixture()
def admin_page(chromium, live_server, app, assistant, settings):
    """Sign in (axe-core in every page) after making today's conversations; page errors fail."""
    contexts, problems = [], []

    def open_(viewport: dict, check_login_page: bool = False):
        make_conversations(assistant, settings)
        cache = app.extensions.get("admin_report_cache")
        if cache is not None:
            cache.clear()
        context = chromium.new_context(locale="vi-VN", viewport=viewport, bypass_csp=True)  # axe: see a11y_support
        add_axe(context)
        contexts.append(context)
        # The sign-in page is served with 401 (Chromium logs that); anything else is a problem.
        page = watched_page(context, problems, timeout_ms=60_000, ignore=("status of 401",))
        assert page.goto(f"{live_server}/admin").status == 401
        if check_login_page:
            assert_no_axe_violations(page, f"admin sign-in page at {viewport['width']} px")
        page.get_by_label("Mã truy cập").fill(settings.admin_token)
        with page.expect_navigation():
            page.get_by_role("button", name="Đăng nhập").click()
        assert page.url.endswith("/admin")
        page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not problems, problems


def test_admin_sign_in_and_dashboard_have_no_axe_violations(admin_page):
    page = admin_page({"width": 1280, "height": 900}, check_login_page=True)
    assert page.locator("#todo table tbody tr").count() >= 3
    assert_no_axe_violations(page, "admin dashboard")
    for toggle in page.locator("details > summary").all():
        toggle.click()
    assert page.locator("details[open]").count() == 4
    assert_no_axe_violations(page, "admin dashboard with the charts' number tables open")


def test_admin_sign_in_page_passes_axe_and_reflows_at_320px(chromium, live_server):
    context = chromium.new_context(locale="vi-VN", viewport={"width": 320, "height": 640}, bypass_csp=True)
    add_axe(context)
    try:
        page = context.new_page()
        assert page.goto(f"{live_server}/admin").status == 401
        assert_no_axe_violations(page, "admin sign-in page at 320 px")
        assert page.evaluate("document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth")
    finally:
        context.close()


def test_admin_at_320px_reflows_and_its_table_scrolls_in_its_own_box(admin_page):
    page = admin_page({"width": 320, "height": 640})
    widths = page.evaluate("() => ({scroll: document.scrollingElement.scrollWidth,"
                           " client: document.scrollingElement.clientWidth})")
    assert widths["scroll"] <= widths["client"], f"the page scrolls sideways at 320 px: {widths}"
    wide = page.evaluate("""() => [...document.body.querySelectorAll('*')].filter(e =>
        e.getBoundingClientRect().right > document.scrollingElement.clientWidth + 1
        && !(e.parentElement && e.parentElement.closest('.table-scroll')))
        .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 10)""")
    assert not wide, f"sticking out of the 320 px page: {wide}"
    box = page.evaluate("""() => { const t = document.querySelector('#todo table'), b = t.parentElement;
        const label = document.getElementById(b.getAttribute('aria-labelledby') || '');
        return {overflow: getComputedStyle(b).overflowX, box: b.getBoundingClientRect().width,
                table: t.getBoundingClientRect().width, tabindex: b.tabIndex,
                name: label && label.textContent}; }""")
    assert box["overflow"] in ("auto", "scroll") and box["table"] > box["box"], box
    assert box["tabindex"] == 0 and box["name"] == "Câu hỏi chưa được trả lời tốt", box
    assert_no_axe_violations(page, "admin dashboard at 320 px")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-320px.png"), full_page=True)


def test_admin_landmark_table_headers_and_distinct_button_names(admin_page):
    page = admin_page({"width": 1280, "height": 900})
    assert page.get_by_role("main").count() == 1
    assert page.get_by_role("main").locator("#todo, #index, section.charts").count() == 3
    empty = page.evaluate("() => [...document.querySelectorAll('th')].filter(th => !th.textContent.trim()).length")
    assert empty == 0, "a table header without text"
    rows = page.locator("#todo table tbody tr").all()
    assert len(rows) >= 3
    names = []
    for row in rows:
        question = row.locator("td.question").inner_text().strip()
        button = row.get_by_role("button", name="Đã xử lý")
        name = button.evaluate("b => b.getAttribute('aria-label') || b.textContent.trim()")
        assert name.startswith("Đã xử lý") and question in name, (name, question)  # the visible words first
        names.append(name)
    assert len(set(names)) == len(names), names


def test_admin_charts_have_their_numbers_as_text(admin_page, assistant, settings):
    page = admin_page({"width": 1280, "height": 900})
    summary = build_report(read_exchanges_from_assistant(assistant), ReviewStore.for_settings(settings)).summary

    def table(chart_id: str) -> list[list[str]]:
        figure = page.locator("figure", has=page.locator(f"#{chart_id}"))
        toggle = figure.locator("details > summary")
        assert toggle.count() == 1, f"{chart_id} has no 'Xem số liệu' toggle"
        assert toggle.inner_text().strip() == "Xem số liệu"
        assert not figure.locator("table").is_visible()
        toggle.click()
        assert figure.locator("table").is_visible()
        return [[cell.strip() for cell in row.locator("th, td").all_inner_texts()]
                for row in figure.locator("tbody tr").all()]

    per_day = table("chart-per-day")
    assert len(per_day) == len(summary.days)
    assert [int(n) for _, n in per_day] == summary.questions_per_day
    assert per_day[-1][0] == summary.days[-1].strftime("%d/%m/%Y")
    assert sum(int(n) for _, n in per_day) == summary.questions

    answered = table("chart-answered")
    assert answered[0][:2] == ["Trả lời được", str(summary.answered)]
    assert answered[1][:2] == ["Từ chối / chưa trả lời", str(summary.declined)]
    assert answered[0][2] == f"{summary.answered / summary.questions:.0%}"

    rated = table("chart-satisfaction")
    assert rated[0] == ["Hài lòng (👍)", str(summary.positive)]
    assert rated[1] == ["Không hài lòng (👎)", str(summary.negative)]
    assert rated[2] == ["Mức hài lòng", f"{summary.satisfaction:.0%}"]

    services = table("chart-services")
    assert summary.top_services and [int(n) for _, n in services] == [n for _, n in summary.top_services]
    assert all(name for name, _ in services), services
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-chart-tables.png"), full_page=True)
