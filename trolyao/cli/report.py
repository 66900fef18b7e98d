"""`trolyao report`: the maintainers' to-do list as a table or CSV."""
from __future__ import annotations

import sys

from rich.table import Table
from rich.text import Text

from trolyao.cli.common import console, error
from trolyao.core import runtime
from trolyao.staff.report import (HANOI_TZ, UNKNOWN_SERVICE, Report, build_report, kinds_text,
                                  read_exchanges_from_settings, service_label, store_location,
                                  write_csv)
from trolyao.staff.review_store import ReviewStore


def print_report(report: Report, out, catalog=None, limit: int | None = None) -> None:
    """The to-do list as a rich table, one section per service."""
    summary = report.summary
    out.print(f"Cần bổ sung tài liệu: {sum(len(g.items) for g in report.groups)} câu hỏi "
              f"({sum(g.count for g in report.groups)} lần) thuộc {len(report.groups)} nhóm dịch vụ; "
              f"{report.flags_open} đánh dấu đang mở.")
    satisfaction = (f"{summary.satisfaction:.0%}" if summary.satisfaction is not None else "chưa có phản hồi")
    out.print(f"{len(summary.days)} ngày qua: {summary.questions} câu hỏi, "
              f"trả lời {summary.answered}, từ chối {summary.declined}; "
              f"hài lòng {satisfaction} (mục tiêu {summary.target:.0%}).")
    out.print(f"Hỗ trợ trực tiếp: {summary.handoff_text}.")
    if report.skipped:
        out.print(f"{report.skipped} bản ghi trong kho không đọc được (sai định dạng) nên "
                  "không được tính.")
    if not report.groups:
        out.print("Không có câu hỏi nào cần xử lý.")
        return
    table = Table(show_lines=False, expand=False)
    for column, opts in (("Dịch vụ", {}), ("Lần", {"justify": "right"}), ("Câu hỏi", {"overflow": "fold"}),
                         ("Lý do", {}), ("Ghi chú", {"overflow": "fold"}), ("Gần nhất", {})):
        table.add_column(column, **opts)
    shown = 0
    for group in report.groups:
        name = group.service or UNKNOWN_SERVICE
        if catalog is not None and group.service:
            name = f"{group.service}\n{service_label(catalog, group.service)}"
        for index, item in enumerate(group.items):
            if limit is not None and shown >= limit:
                break
            cells = (name if index == 0 else "", str(item.count), item.question, kinds_text(item),
                     " | ".join(item.notes),
                     item.last_seen.astimezone(HANOI_TZ).strftime("%d/%m %H:%M") if item.last_seen else "")
            table.add_row(*(Text(c) for c in cells))  # Text: "[số điện thoại]" is not markup
            shown += 1
        table.add_section()
    out.print(table)


def cmd_report(args) -> int:
    settings = runtime.settings()
    try:
        exchanges = read_exchanges_from_settings(settings, include_synthetic=args.include_tests)
    except Exception as exc:  # unreachable server, wrong credentials, corrupt file
        error(f"cannot read the conversation store {store_location(settings.tracker_store)}: "
              f"{type(exc).__name__}: {exc}")
        return 2
    report = build_report(exchanges, ReviewStore.for_settings(settings), days=args.days)
    if args.csv:
        if args.csv == "-":
            write_csv(report.groups, sys.stdout, runtime.catalog())
        else:
            with open(args.csv, "w", encoding="utf-8-sig", newline="") as out:  # BOM: Excel reads UTF-8
                write_csv(report.groups, out, runtime.catalog())
            print(f"wrote {sum(len(g.items) for g in report.groups)} rows to {args.csv}", file=sys.stderr)
        return 0
    print_report(report, console(), runtime.catalog(), limit=args.limit)
    return 0


def add_parsers(sub, settings) -> None:
    p = sub.add_parser("report", help="questions answered badly: fallbacks, negative feedback, flags",
                       description="The maintainers' to-do list from the conversation store and the "
                                   "staff flags, grouped by likely service, most frequent first.")
    p.add_argument("--days", type=int, help="only the last N days (default: everything)")
    p.add_argument("--csv", metavar="FILE", help="write the list as CSV to FILE ('-' = stdout)")
    p.add_argument("--limit", type=int, help="show at most N questions")
    p.add_argument("--include-tests", action="store_true",
                   help="also count conversations of `trolyao test-answers` and `trolyao ask`")
    p.set_defaults(func=cmd_report)
