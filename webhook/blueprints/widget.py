"""The citizen widget: `/` is a demo portal page embedding `/widget.js` with one script tag."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory

bp = Blueprint("widget", __name__)


@bp.get("/")
def demo_portal():
    return render_template("portal.html")


@bp.get("/widget.js")
def widget_js():
    response = send_from_directory(current_app.static_folder, "widget.js", max_age=300)
    response.headers["Access-Control-Allow-Origin"] = "*"  # embeddable from any portal page
    return response


@bp.get("/widget.css")
def widget_css():
    response = send_from_directory(current_app.static_folder, "widget.css", max_age=300)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
