"""Health: 200 with model and index versions once both are loaded, 503 before."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    assistant = current_app.extensions.get("assistant")
    if assistant is None or not assistant.ready:
        response = jsonify(status="starting", model=None, index=None)
        response.status_code = 503
        return response
    return jsonify(status="ok", model=assistant.model_version, index=assistant.knowledge.version)
