"""What the command groups share: the settings, a started assistant, a console, errors."""
from __future__ import annotations

import os
import sys

from rich.console import Console

from trolyao.core import runtime
from trolyao.core.assistant import Assistant


def start_assistant(settings=None) -> Assistant:
    """An assistant for one command (no index watch: a command ends before it would matter)."""
    return Assistant(settings or runtime.settings()).start(watch_index=False)


def error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def console() -> Console:
    """Colours in a terminal; plain and wide enough for a readable table when piped."""
    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(highlight=False, width=int(os.environ.get("COLUMNS") or 160), no_color=True)
