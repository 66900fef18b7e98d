"""Rasa's own checks, run with the project's `rasa` in a subprocess from the repository root:
`rasa data validate`, intent F1 on the held-out NLU split, and the test stories."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).with_name("rasa"))
NLU_TEST = PROJECT_ROOT / "bot" / "tests" / "nlu_test.yml"
TEST_STORIES = PROJECT_ROOT / "bot" / "tests" / "test_stories.yml"
MIN_INTENT_F1 = 0.92


def run_rasa(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([RASA, *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_rasa_data_validate_passes_without_warnings():
    result = run_rasa("data", "validate", "--domain", "bot/domain", "--data", "bot/data",
                      "--config", "config.yml", "--fail-on-warnings")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    # Rasa 3.6 does not fail on unused responses even with --fail-on-warnings. Responses the
    # custom actions send (decline, hand-off, feedback, …) are used by code, not by stories;
    # any other unused response is a mistake.
    unused = set(re.findall(r"The utterance '(\w+)' is not used in any story or rule", output))
    sent_by_actions = {name for path in (PROJECT_ROOT / "actions").glob("*.py") for name in
                       re.findall(r"[\"'](utter_\w+)[\"']", path.read_text(encoding="utf-8"))}
    form_questions = {f"utter_ask_{slot}" for slot in ("lltp_type", "lltp_requester")}
    assert unused <= sent_by_actions | form_questions, sorted(unused - sent_by_actions - form_questions)
    assert "No story structure conflicts found" in output


def test_intent_f1_on_the_held_out_split(rasa_model, tmp_path):
    result = run_rasa("test", "nlu", "--nlu", str(NLU_TEST), "--model", str(rasa_model),
                      "--out", str(tmp_path))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    errors = json.loads((tmp_path / "intent_errors.json").read_text())
    wrong = [f"{e['text']!r}: {e['intent']} -> {e['intent_prediction']['name']}" for e in errors]
    assert report["weighted avg"]["f1-score"] >= MIN_INTENT_F1, wrong


def test_every_test_story_passes_end_to_end(rasa_model, tmp_path):
    stories = yaml.safe_load(TEST_STORIES.read_text(encoding="utf-8"))["stories"]
    result = run_rasa("test", "core", "--e2e", "--stories", str(TEST_STORIES),
                      "--model", str(rasa_model), "--out", str(tmp_path))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    failed = yaml.safe_load((tmp_path / "failed_test_stories.yml").read_text()) or {}
    failed_names = [s["story"] for s in failed.get("stories", [])]
    assert failed_names == [], (tmp_path / "failed_test_stories.yml").read_text()[:4000]
    report = json.loads((tmp_path / "story_report.json").read_text())
    assert report["conversation_accuracy"]["correct"] == len(stories)


@pytest.mark.parametrize("path", ["follow-ups", "form", "interruption", "fallback", "hand",
                                  "feedback", "without diacritics"])
def test_test_stories_cover_every_dialogue_path(path):
    names = [s["story"] for s in
             yaml.safe_load(TEST_STORIES.read_text(encoding="utf-8"))["stories"]]
    steps = TEST_STORIES.read_text(encoding="utf-8")
    covered = {
        "follow-ups": any("follow-up" in n for n in names),
        "form": "action: lltp_form" in steps,
        "interruption": any("interruption" in n for n in names),
        "fallback": "intent: nlu_fallback" in steps,
        "hand": "action: action_hand_off" in steps and "handoff_due: true" in steps,
        "feedback": "action: action_handle_feedback" in steps,
        "without diacritics": any("without diacritics" in n for n in names),
    }
    assert covered[path], f"no test story for {path}"
