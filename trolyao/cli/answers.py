"""`trolyao test-answers FILE.yml …`: run the staff's answer tests, print a pass/fail table."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text

from trolyao.cli.common import console, error, start_assistant
from trolyao.core import runtime
from trolyao.staff.answer_tests import (AnswerTestFileError, CaseResult, failure_lines,
                                        load_cases, run_cases)


def print_results(results: list[CaseResult], out) -> None:
    table = Table(title="Kết quả kiểm thử câu trả lời", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("case", overflow="fold", max_width=48)
    table.add_column("expected", overflow="fold")
    table.add_column("got", overflow="fold")
    table.add_column("", no_wrap=True)
    for result in results:
        for index, tr in enumerate(result.turns):
            got = tr.got_service + (" · từ chối" if tr.reply.fallback else "")
            table.add_row(str(result.case.number) if index == 0 else "",
                          Text(result.case.name if index == 0 else f"↳ {tr.turn.ask}"),
                          Text(tr.turn.expectations()), Text(got),
                          Text("PASS", style="green") if not tr.mismatches else Text("FAIL", style="bold red"))
        if result.error:
            table.add_row(str(result.case.number), Text(result.case.name), "", Text(result.error),
                          Text("ERROR", style="bold red"))
    out.print(table)
    failed = [r for r in results if not r.passed]
    for result in failed:
        out.print("\n".join(failure_lines(result)), markup=False, highlight=False)
    passed = len(results) - len(failed)
    style = "bold green" if not failed else "bold red"
    out.print(f"{passed}/{len(results)} cases passed, {len(failed)} failed", style=style)


def cmd_test_answers(args) -> int:
    """Exit 0 when every case passes, 1 when some fail, 2 when a file cannot be read."""
    out = console()
    try:
        files = [(path, load_cases(path, runtime.catalog())) for path in args.files]
    except AnswerTestFileError as exc:
        error(str(exc))
        return 2
    assistant = start_assistant()
    failed = 0
    try:
        for path, cases in files:
            if len(files) > 1:
                out.print(f"\n{path}", style="bold", markup=False)
            results = run_cases(assistant, cases)
            print_results(results, out)
            failed += sum(1 for r in results if not r.passed)
    finally:
        assistant.close()
    return 1 if failed else 0


def add_parsers(sub, settings) -> None:
    p = sub.add_parser("test-answers", help="check answers against expectations written in YAML",
                       description="Run the cases of each FILE.yml (see tests/answers/starter.yml), "
                                   "print a pass/fail table, exit 1 if any case fails.")
    p.add_argument("files", nargs="+", metavar="FILE.yml")
    p.set_defaults(func=cmd_test_answers)
