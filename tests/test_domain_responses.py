"""The replies actions send are domain responses, and the hotline is written in one place."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
HOTLINE = "18001096"


def _domain() -> dict:
    merged: dict = {"responses": {}, "slots": {}}
    for path in sorted((PROJECT / "bot" / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in merged:
            merged[key].update(data.get(key) or {})
    return merged


def test_every_response_an_action_sends_is_in_the_domain():
    """A response name the domain lacks makes the bot silent where it should speak."""
    responses = _domain()["responses"]
    sent = set()
    for path in (PROJECT / "actions").glob("*.py"):
        sent |= set(re.findall(r"""["'](utter_\w+)["']""", path.read_text(encoding="utf-8")))
    assert sent, "the actions send domain responses"
    assert sent <= set(responses), f"not in bot/domain/responses.yml: {sorted(sent - set(responses))}"


def test_the_lltp_form_asks_with_domain_responses_and_buttons():
    responses = _domain()["responses"]
    for slot in ("lltp_type", "lltp_requester"):
        variant = responses[f"utter_ask_{slot}"][0]
        assert "ạ?" in variant["text"], "a polite question"
        assert [b["payload"].startswith("/inform{{") for b in variant["buttons"]] == [True, True]
        assert variant["custom"]["trolyao"]["fallback"] is True, "a question is not an answer"


def test_the_hotline_is_written_once():
    domain = _domain()
    assert domain["slots"]["hotline"]["initial_value"] == HOTLINE
    places = [p.relative_to(PROJECT) for folder in ("actions", "trolyao", "webhook", "bot")
              for p in (PROJECT / folder).rglob("*") if p.suffix in (".py", ".yml")
              and HOTLINE in p.read_text(encoding="utf-8")]
    assert places == [Path("bot/domain/core.yml")], places
    uses = [name for name, variants in domain["responses"].items()
            if any("{hotline}" in v.get("text", "") for v in variants)]
    assert len(uses) >= 5, uses
