"""Old path of `trolyao.serving.gunicorn`, kept for gunicorn command lines (`-k trolyao.server.BufferingThreadWorker`).

The same module object (not a copy), so its state is shared. New code imports `trolyao.serving.gunicorn`.
"""
import sys

from trolyao.serving import gunicorn as _module

sys.modules[__name__] = _module
