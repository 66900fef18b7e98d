"""`trolyao index build | add | remove | status`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from knowledge.maintenance import build_index, import_documents, remove_document
from knowledge.status import index_status
from trolyao.cli.common import error
from trolyao.core import runtime


def _progress_bar(label: str):
    progress = Progress("[progress.description]{task.description}", BarColumn(),
                        MofNCompleteColumn(), TimeRemainingColumn(), transient=True,
                        disable=not sys.stderr.isatty(), console=None)
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            progress.start()
            task = progress.add_task(label, total=total)
        progress.update(task, completed=done)
        if done >= total:
            progress.stop()

    return update


def _print_build(report, as_json: bool) -> None:
    data = report.to_dict()
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return
    state = "unchanged (no new version)" if report.skipped else f"version {report.version}"
    print(f"index {state}: {report.documents} documents, {report.passages} passages; "
          f"added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}, "
          f"re-embedded {report.embedded_passages} passages in {report.seconds:.1f}s")
    for err in report.errors:
        print(f"  not indexed: {err.path}: {err.reason}", file=sys.stderr)


def cmd_index_build(args) -> int:
    report = build_index(runtime.settings(), full=args.full, progress=_progress_bar("Embedding"))
    _print_build(report, args.json)
    return 1 if report.errors and args.strict else 0


def cmd_index_add(args) -> int:
    settings = runtime.settings()
    if args.service and args.service not in runtime.catalog():
        error(f"'{args.service}' is not a catalog id")
        return 2
    written, errors = import_documents(settings, [Path(p) for p in args.paths], args.service)
    for path in written:
        print(f"added: {path}")
    for err in errors:
        error(f"{err.path}: {err.reason}")
    if written:
        _print_build(build_index(settings, progress=_progress_bar("Embedding")), False)
    return 1 if errors else 0


def cmd_index_remove(args) -> int:
    settings = runtime.settings()
    try:
        moved = remove_document(settings, args.doc_id)
    except FileNotFoundError as exc:
        error(str(exc))
        return 1
    print(f"removed: {args.doc_id} (file kept aside at {moved})")
    _print_build(build_index(settings), False)
    return 0


def cmd_index_status(args) -> int:
    status = index_status(runtime.settings())
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=1))
        return 0 if status["ok"] else 1
    if not status["ok"]:
        print(f"no usable index: {status['error']}")
        return 1
    print(f"version {status['version']} ({status['created']}), model {status['model']}")
    print(f"{status['documents']} documents, {status['passages']} passages")
    for sid, counts in status["per_service"].items():
        print(f"  {sid:28} {counts['documents']:3} docs {counts['passages']:4} passages")
    missing = status["services_without_documents"]
    print(f"catalog ids without a document: {', '.join(missing) if missing else 'none'}")
    review = status.get("review") or {}
    if review.get("error"):
        print(f"review age: {review['error']}")
    else:
        stale = review.get("stale", [])
        print(f"documents to re-check (reviewed more than {review.get('max_age_days')} days ago"
              f" or never): {len(stale) if stale else 'none'}")
        for doc in stale:
            age = f"{doc['age_days']} days" if doc.get("age_days") is not None else "never reviewed"
            print(f"  {doc['doc_id']:40} {doc.get('reviewed') or '-':12} {age}")
    return 0


def add_parsers(sub, settings) -> None:
    index = sub.add_parser("index", help="build and inspect the knowledge index")
    isub = index.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    p = isub.add_parser("build", help="index the documents folder (only changed documents)")
    p.add_argument("--full", action="store_true", help="re-embed everything")
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 if any file could not be read")
    p.set_defaults(func=cmd_index_build)
    p = isub.add_parser("add", help="import files (md, txt, html, pdf, docx) and re-index")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--service", help="catalog id for the files (default: guessed from the text)")
    p.set_defaults(func=cmd_index_add)
    p = isub.add_parser("remove", help="remove a document by id and re-index")
    p.add_argument("doc_id")
    p.set_defaults(func=cmd_index_remove)
    p = isub.add_parser("status", help="documents, passages, catalog coverage")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_index_status)
