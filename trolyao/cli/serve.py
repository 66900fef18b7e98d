"""`trolyao serve` and `trolyao train`."""
from __future__ import annotations

from trolyao.cli.common import error
from trolyao.core import runtime
from trolyao.serving.gunicorn import serve
from trolyao.serving.preflight import PreflightError, preflight
from trolyao.serving.training import train_if_needed


def cmd_serve(args) -> int:
    try:
        preflight(runtime.settings())
    except PreflightError as exc:
        error(str(exc))
        return 2
    return serve(host=args.host, port=args.port, workers=args.workers, threads=args.threads)


def cmd_train(args) -> int:
    path, trained = train_if_needed(runtime.settings(), force=args.force)
    print(f"{'trained' if trained else 'up to date'}: {path}")
    return 0


def add_parsers(sub, settings) -> None:
    p = sub.add_parser("serve", help="serve the widget and the API (gunicorn)")
    p.add_argument("--host", default=settings.host)
    p.add_argument("--port", type=int, default=settings.port)
    p.add_argument("--workers", type=int, default=1, help="worker processes (each loads the models)")
    p.add_argument("--threads", type=int, default=8, help="threads per worker")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("train", help="train the Rasa model if the training data changed")
    p.add_argument("--force", action="store_true", help="train even if nothing changed")
    p.set_defaults(func=cmd_train)
