"""The NLU training data and its held-out test split: coverage, variety, no leakage."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from knowledge.textnorm import fold, has_diacritics

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REQUIRED_INTENTS = {"greet", "goodbye", "thanks", "affirm", "deny", "ask_procedure", "ask_policy",
                    "ask_help_channel", "out_of_scope", "chitchat", "bot_challenge",
                    "request_human", "give_feedback"}


def examples(paths) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        for block in yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("nlu", []):
            if "intent" in block:
                found[block["intent"]] += [line[2:].strip() for line in
                                           block["examples"].splitlines()
                                           if line.strip().startswith("- ")]
    return found


TRAIN = examples(sorted((PROJECT_ROOT / "bot" / "data" / "nlu").glob("*.yml")))
TEST = examples([PROJECT_ROOT / "bot" / "tests" / "nlu_test.yml"])


def test_every_required_intent_is_trained_and_in_the_domain():
    domain = yaml.safe_load((PROJECT_ROOT / "bot" / "domain" / "core.yml").read_text())
    assert REQUIRED_INTENTS <= set(TRAIN)
    assert set(TRAIN) <= set(domain["intents"])


@pytest.mark.parametrize("intent", sorted(REQUIRED_INTENTS | {"inform"}))
def test_each_intent_has_15_varied_examples_a_third_without_diacritics(intent):
    lines = TRAIN[intent]
    assert len(lines) >= 15
    assert len({fold(x) for x in lines}) == len(lines), "duplicates once folded"
    plain = [x for x in lines if not has_diacritics(x)]
    assert len(plain) * 3 >= len(lines), f"{len(plain)}/{len(lines)} typed without diacritics"


def test_test_split_is_held_out_and_covers_every_intent():
    trained = {fold(x) for lines in TRAIN.values() for x in lines}
    leaked = [x for lines in TEST.values() for x in lines if fold(x) in trained]
    assert leaked == []
    assert set(TEST) == set(TRAIN)
    for intent, lines in TEST.items():
        assert sum(not has_diacritics(x) for x in lines) * 3 >= len(lines), intent
