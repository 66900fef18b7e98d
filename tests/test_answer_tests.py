"""`trolyao test-answers`: staff's expected answers, checked against the real assistant."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from trolyao.cli.answers import print_results
from trolyao.staff.answer_tests import (AnswerTestFileError, Case, Turn, failure_lines, load_cases,
                                        parse_cases, run_case, run_cases)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STARTER = PROJECT_ROOT / "tests" / "answers" / "starter.yml"
TROLYAO = PROJECT_ROOT / ".venv" / "bin" / "trolyao"


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    command = [str(TROLYAO)] if TROLYAO.exists() else [sys.executable, "-m", "trolyao.cli"]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"}, cwd=PROJECT_ROOT)


def test_starter_file_covers_every_catalog_service():
    from trolyao.core import runtime

    catalog = runtime.catalog()
    cases = load_cases(STARTER, catalog)
    assert len(cases) >= 40
    expected = {s for case in cases for turn in case.turns for s in turn.expect_service}
    assert set(catalog.ids) - expected == set(), "every catalog id needs a case"
    assert any(len(case.turns) > 1 for case in cases), "the starter shows a multi-turn case"
    assert any(turn.expect_fallback for case in cases for turn in case.turns)


@pytest.mark.slow
def test_starter_answers_pass(assistant):
    from trolyao.core import runtime

    results = run_cases(assistant, load_cases(STARTER, runtime.catalog()))
    failures = [line for r in results if not r.passed for line in failure_lines(r)]
    assert not failures, "\n" + "\n".join(failures)


@pytest.mark.slow
def test_wrong_expectation_fails_with_a_readable_diff(assistant):
    case = parse_cases([{"name": "cố tình sai", "ask": "đăng ký tạm trú online thế nào",
                         "expect_service": "ho-chieu", "expect_text_contains": ["hộ chiếu"]}])[0]
    result = run_case(assistant, case)
    assert not result.passed
    lines = failure_lines(result)
    text = "\n".join(lines)
    assert lines[0] == "✗ case 1: cố tình sai"
    assert "- expected: ho-chieu" in text
    assert re.search(r"\+ got:\s+tam-tru \(nguồn: tam-tru \d\.\d\d", text), text
    assert "- expected: có «hộ chiếu»" in text
    assert re.search(r"\+ got:      «[^»]*tạm trú[^»]*»", text), "the diff quotes the answer it got"


@pytest.mark.slow
def test_cli_prints_a_table_and_exits_non_zero_on_failure(tmp_path, rasa_model, knowledge_index):
    cases = tmp_path / "quay-mot-cua.yml"
    cases.write_text(
        '- ask: "Làm lý lịch tư pháp trên VNeID thế nào?"\n'
        "  expect_service: ly-lich-tu-phap\n"
        '  expect_text_contains: ["VNeID"]\n'
        "- name: kỳ vọng sai\n"
        '  ask: "đăng ký tạm trú online thế nào"\n'
        "  expect_service: ho-chieu\n", encoding="utf-8")
    result = run_cli("test-answers", str(cases))
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    out = result.stdout
    assert "\x1b[" not in out, "piped output must be plain text"
    assert "Kết quả kiểm thử câu trả lời" in out
    assert re.search(r"│ 1 │ Làm lý lịch tư pháp.*│ ly-lich-tu-phap\s*│ PASS │", out), out
    assert re.search(r"│ 2 │ kỳ vọng sai.*│ tam-tru\s*│ FAIL │", out), out
    assert "- expected: ho-chieu" in out and "1/2 cases passed, 1 failed" in out


def test_cli_refuses_a_broken_file_before_loading_anything(tmp_path):
    broken = tmp_path / "loi.yml"
    broken.write_text('- ask: "làm hộ chiếu"\n  expect_servce: ho-chieu\n', encoding="utf-8")
    result = run_cli("test-answers", str(broken), timeout=120)
    assert result.returncode == 2
    assert "case 1: unknown key 'expect_servce' (did you mean 'expect_service'?)" in result.stderr


@pytest.mark.parametrize("data, message", [
    ([], "non-empty YAML list"),
    ([{"ask": ""}], "case 1: 'ask' must be a non-empty question"),
    ([{"ask": "hộ chiếu", "expect_service": "ho-chiu"}], "'ho-chiu' is not a catalog id (did you mean 'ho-chieu'?)"),
    ([{"ask": "a", "expect_fallback": "yes"}], "'expect_fallback' must be true or false"),
    ([{"name": "x", "turns": []}], "case 1 (x): 'turns' must be a non-empty list"),
    ([{"turns": [{"ask": "a"}], "expect_service": "ho-chieu"}], "put 'expect_service' inside a turn"),
    ([{"turns": [{"ask": "a"}, {"expect_intent": "greet"}]}], "case 1, turn 2: 'ask' must be a non-empty"),
])
def test_file_errors_say_where_and_why(data, message):
    from trolyao.core import runtime

    with pytest.raises(AnswerTestFileError) as error:
        parse_cases(data, runtime.catalog())
    assert message in str(error.value)


def test_multi_turn_and_single_expectations_parse():
    cases = parse_cases([
        {"ask": "Lệ phí LLTP?", "expect_service": ["ly-lich-tu-phap", "phi-khong-dong"],
         "expect_text_contains": "đồng"},
        {"name": "hỏi tiếp", "turns": [{"ask": "tạm trú"}, {"ask": "mất bao lâu", "expect_slots": {"service": "tam-tru"}}]},
    ])
    assert cases[0].turns[0].expect_service == ["ly-lich-tu-phap", "phi-khong-dong"]
    assert cases[0].turns[0].expect_text_contains == ["đồng"]
    assert cases[0].name == "Lệ phí LLTP?"
    assert [t.ask for t in cases[1].turns] == ["tạm trú", "mất bao lâu"]
    assert "dịch vụ ly-lich-tu-phap | phi-khong-dong; có «đồng»" == cases[0].turns[0].expectations()


@pytest.mark.slow
def test_results_table_lists_every_turn(assistant):
    from rich.console import Console

    case = Case(number=7, name="chào rồi hỏi", turns=[Turn(ask="xin chào", expect_intent="greet"),
                                                     Turn(ask="giá vàng hôm nay", expect_fallback=True)])
    console = Console(record=True, width=160, no_color=True)
    print_results([run_case(assistant, case)], console)
    text = console.export_text()
    assert "chào rồi hỏi" in text and "↳ giá vàng hôm nay" in text
    assert text.count("PASS") == 2 and "1/1 cases passed, 0 failed" in text
