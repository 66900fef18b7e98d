"""Admin endpoints (bearer token): index status and re-index without downtime."""
from __future__ import annotations

import threading

from flask import Blueprint, current_app, jsonify, request

from webhook.security import admin_required, json_error

bp = Blueprint("admin", __name__, url_prefix="/admin")
_reindex_lock = threading.Lock()


@bp.get("/status")
@admin_required
def status():
    from knowledge.status import index_status

    settings = current_app.config["TROLYAO"]
    return jsonify(index_status(settings))


@bp.post("/reindex")
@admin_required
def reindex():
    """Build a new index version beside the served one, then swap it in."""
    from knowledge.maintenance import build_index

    if not _reindex_lock.acquire(blocking=False):
        return json_error(409, "reindex_running", "a re-index is already running")
    try:
        settings = current_app.config["TROLYAO"]
        # ?full=1 re-embeds everything (e.g. after changing the embedding model).
        full = request.args.get("full", "").lower() in ("1", "true", "yes")
        report = build_index(settings, full=full)
        assistant = current_app.extensions["assistant"]
        if assistant is not None and assistant.knowledge is not None:
            assistant.knowledge.reload_if_changed()
        body = report.to_dict()
        body["serving"] = assistant.knowledge.version if assistant and assistant.knowledge else None
        return jsonify(body)
    finally:
        _reindex_lock.release()
