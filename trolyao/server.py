"""Production serving with gunicorn: each worker builds the app (and loads the models) itself.

No preloading: TensorFlow and the assistant's event-loop thread do not survive a fork, so every
worker loads its own Rasa agent after forking (~20 s, memory ~1.1 GB each). Conversations live in
the tracker store (TROLYAO_TRACKER_STORE), so any worker can continue any conversation.
"""
from __future__ import annotations

import os

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


def close_assistant(server, worker) -> None:
    """gunicorn `worker_exit` hook: stop the Rasa loop and release the conversation store."""
    app = getattr(worker, "wsgi", None)
    assistant = getattr(app, "extensions", {}).get("assistant") if app is not None else None
    if assistant is not None:
        assistant.close()


def serve(host: str, port: int, workers: int = 1, threads: int = 8) -> int:
    from trolyao.tuning import share_cores

    share_cores(workers)
    TrolyaoServer({
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # Loading TensorFlow + the Rasa model takes ~20-30 s on 2 cores.
        "timeout": 180,
        "graceful_timeout": 30,
        "preload_app": False,
        "worker_exit": close_assistant,
        # Heartbeat files on tmpfs: a slow disk must not make the arbiter kill busy workers.
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
        "accesslog": None,
        "loglevel": "warning",
    }).run()
    return 0
