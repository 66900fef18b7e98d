"""Helpers for the accessibility browser tests: axe-core (vendored, never fetched) and focus.

axe-core is added to every page of a browser context as an init script (the DevTools protocol
injects it, so the pages' Content-Security-Policy does not block it) and run with the WCAG 2.0
and 2.1 level A and AA rules only. Contexts that run axe are opened with `bypass_csp=True`:
axe adds inline styles while it measures colours, which the pages' strict CSP would block and
log as errors (the pages' own CSP compliance is checked by the other browser tests).
"""
from __future__ import annotations

from pathlib import Path

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def add_axe(context) -> None:
    """Make `window.axe` available in every page this browser context opens."""
    if not AXE_JS.exists():
        raise AssertionError(f"{AXE_JS} is missing: axe-core is vendored in the repository")
    context.add_init_script(path=str(AXE_JS))


def axe_violations(page) -> list[dict]:
    return page.evaluate("""async tags => {
        const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                 resultTypes: ['violations']});
        const where = t => Array.isArray(t) ? t.join(' >>> ') : String(t);
        return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.map(where).join(' | ') + ' :: ' + (n.failureSummary || '')
                                                                          .replace(/\\s+/g, ' ').slice(0, 200)),
        }));
    }""", WCAG_TAGS)


def assert_no_axe_violations(page, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core found WCAG A/AA violations ({where}):\n" + "\n".join(
        f"- {v['id']} [{v['impact']}] {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in violations)


# The element that really has focus, looking inside (open) shadow roots such as the widget's.
ACTIVE_ELEMENT_JS = """() => {
    let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    if (!a) return null;
    const r = a.getBoundingClientRect();
    let shown = r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
                && r.bottom <= innerHeight && r.right <= innerWidth;
    for (let p = a.parentElement; p && shown; p = p.parentElement) {  // inside every scroll box
        if (!/(auto|scroll|hidden)/.test(getComputedStyle(p).overflowY)) continue;
        const box = p.getBoundingClientRect();
        shown = r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
    }
    return {tag: a.tagName.toLowerCase(), id: a.id || '', cls: String(a.className || ''),
            name: (a.getAttribute('aria-label') || a.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 80),
            href: a.getAttribute('href') || '', inWidget: a.getRootNode() !== document,
            visible: shown};
}"""


def focused(page) -> dict | None:
    return page.evaluate(ACTIVE_ELEMENT_JS)
