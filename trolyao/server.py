"""Production serving with gunicorn: each worker builds the app (and loads the models) itself."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


class TrolyaoServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from webhook.app import create_app

        return create_app()


def serve(host: str, port: int, workers: int = 1, threads: int = 8) -> int:
    TrolyaoServer({
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # Loading TensorFlow + the Rasa model takes ~20-30 s on 2 cores.
        "timeout": 180,
        "graceful_timeout": 30,
        "accesslog": None,
        "loglevel": "warning",
    }).run()
    return 0
