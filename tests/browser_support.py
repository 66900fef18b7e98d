"""Browser-test plumbing shared by the widget, admin and accessibility tests."""
from __future__ import annotations

import re


def watched_page(context, problems: list[str], timeout_ms: int = 30_000,
                 ignore: tuple[str, ...] = ()):
    """A new page of `context` whose script errors and console errors (except messages
    containing one of `ignore`) are added to `problems`, which the fixture asserts empty."""
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" and not any(part in msg.text for part in ignore) else None)
    return page


def widget(page):
    """The widget's host element on a portal page."""
    return page.locator("#trolyao-widget")


def ask(page, text: str) -> dict:
    """Type a question, press Enter, return the API's JSON reply the widget received."""
    with page.expect_response(re.compile(r"/api/chat$")) as response_info:
        page.get_by_label("Câu hỏi của anh/chị").fill(text)
        page.get_by_label("Câu hỏi của anh/chị").press("Enter")
    return response_info.value.json()
