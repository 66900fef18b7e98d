"""The citizen widget: `/` is a demo portal page embedding `/widget.js` with one script tag."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory

bp = Blueprint("widget", __name__)


@bp.get("/")
def demo_portal():
    return render_template("portal.html")


def _embeddable(filename: str):
    """Static, public, loaded by any portal page (ETag + short cache so updates roll out)."""
    response = send_from_directory(current_app.static_folder, filename, max_age=300)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/widget.js")
def widget_js():
    return _embeddable("widget.js")


@bp.get("/widget.css")
def widget_css():
    return _embeddable("widget.css")


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it on every page; answer without a 404 in their console."""
    return ("", 204, {"Cache-Control": "public, max-age=86400"})
