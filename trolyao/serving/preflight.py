"""Start-up checks with plain-language errors, before any worker loads TensorFlow.

A server that cannot answer must say why and exit non-zero, not print a traceback from
inside a gunicorn worker.
"""
from __future__ import annotations

import tarfile

from knowledge.index_store import IndexStore, IndexUnavailable
from trolyao.core.settings import Settings
from trolyao.core.stores import StoreUnreachable, check_reachable


class PreflightError(Exception):
    pass


def check_rasa_model(settings: Settings) -> None:
    path = settings.rasa_model_path
    if not path.exists():
        raise PreflightError(f"Rasa model not found at {path}; run `trolyao train` (or `make run`)")
    try:
        with tarfile.open(path, "r:gz") as archive:
            names = archive.getnames()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise PreflightError(f"Rasa model {path} is corrupt ({exc}); run `trolyao train --force`") from exc
    if not any(name.endswith("metadata.json") for name in names):
        raise PreflightError(f"Rasa model {path} is incomplete (no metadata); run `trolyao train --force`")


def check_index(settings: Settings) -> str:
    try:
        return IndexStore(settings.index_dir).load().version
    except IndexUnavailable as exc:
        raise PreflightError(f"knowledge index unusable: {exc}") from exc


def check_conversation_store(settings: Settings) -> None:
    try:
        check_reachable(settings.tracker_store)
    except StoreUnreachable as exc:
        raise PreflightError(str(exc)) from None


def preflight(settings: Settings) -> None:
    check_rasa_model(settings)
    check_index(settings)
    check_conversation_store(settings)
