"""Admin: the maintainers' dashboard at /admin, and JSON endpoints for scripts.

Same token as the JSON API (TROLYAO_ADMIN_TOKEN). Scripts send `Authorization: Bearer …`;
people sign in once with a form and the browser keeps a signed session cookie (the Flask
secret comes from TROLYAO_SECRET_KEY, or is generated per process: then sessions end when
the server restarts, and several workers need the variable set). The cookie holds a random
session id the server keeps in `var/admin-sessions.db` (logging out deletes it), is HttpOnly,
SameSite=Strict, and Secure over HTTPS. Form posts from a session carry a CSRF token. Wrong
tokens (form or bearer) are counted per IP and overall, by all workers together (same
database); too many get 429, the right token is always accepted.

- GET  /admin                  dashboard (charts, to-do list, index status) or 401 + login form
- GET  /admin/charts/<name>.svg  the charts (matplotlib SVG, rendered here: no CDN, no JS)
- GET  /admin/report.csv, /admin/report   the to-do list as CSV / the summary as JSON
- POST /admin/questions/done   close a to-do item (its flags become done)
- POST /admin/reindex-now      the page's "re-index now" button
- GET  /admin/status, POST /admin/reindex   JSON, bearer token (unchanged for scripts)
"""
from __future__ import annotations

import io
import threading
import time

from flask import (Blueprint, Response, current_app, flash, jsonify, redirect, render_template,
                   request, url_for)

from knowledge.maintenance import build_index
from knowledge.status import index_status
from trolyao.core import runtime
from trolyao.staff.report import (KIND_LABELS, build_report, read_exchanges_from_assistant,
                                  read_exchanges_from_settings, service_label, store_location,
                                  write_csv)
from trolyao.staff.review_store import ReviewStore
from webhook.blueprints import admin_charts
from webhook.security import (admin_required, admin_token, configure_admin_sessions, csrf_token,
                              form_post, json_error, login_page, page_login_required,
                              refuse_wrong_token, sign_in, sign_out, token_matches)

bp = Blueprint("admin", __name__, url_prefix="/admin")
_reindex_lock = threading.Lock()
REPORT_TTL_SECONDS = 15.0  # the page loads five images at once: read the store once for all
SUMMARY_DAYS = 30
TODO_ON_PAGE = 20


@bp.record_once
def _configure_sessions(state) -> None:
    configure_admin_sessions(state.app)


@bp.post("/login")
def login():
    token = admin_token()
    if not token:
        return current_app.make_response((render_template("admin_disabled.html"), 404))
    given = request.form.get("token", "").strip()
    if not token_matches(given, token):  # the right token is never refused (checked first)
        wait = refuse_wrong_token()
        if wait:
            response = login_page(429, "Sai mã quá nhiều lần. Vui lòng thử lại sau vài phút.")
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        return login_page(401, "Mã truy cập không đúng.")
    sign_in(token)
    return redirect(url_for("admin.dashboard"), code=303)


@bp.post("/logout")
@form_post
def logout():
    sign_out()  # the cookie, even copied, opens nothing any more
    return redirect(url_for("admin.dashboard"), code=303)


# ---------------------------------------------------------------- data
class _ReportCache:
    def __init__(self):
        self._lock = threading.Lock()
        self._value = None
        self._at = 0.0

    def get(self, build):
        with self._lock:
            if self._value is None or time.monotonic() - self._at > REPORT_TTL_SECONDS:
                self._value, self._at = build(), time.monotonic()
            return self._value

    def clear(self) -> None:
        with self._lock:
            self._value = None


def _cache() -> _ReportCache:
    return current_app.extensions.setdefault("admin_report_cache", _ReportCache())


def _review_store():
    return ReviewStore.for_settings(current_app.config["TROLYAO"])


def _build_report():
    settings = current_app.config["TROLYAO"]
    assistant = current_app.extensions.get("assistant")
    error = None
    try:
        if assistant is not None and getattr(assistant, "agent", None) is not None:
            exchanges = read_exchanges_from_assistant(assistant)
        else:  # the assistant is still loading: read the store directly
            exchanges = read_exchanges_from_settings(settings)
    except Exception as exc:  # the page still shows flags and the index, and says why
        current_app.logger.exception("cannot read the conversation store")
        exchanges = []
        error = f"{store_location(settings.tracker_store)}: {type(exc).__name__}: {exc}"
    try:
        report = build_report(exchanges, _review_store(), summary_days=SUMMARY_DAYS)
    except Exception as exc:  # never a 500: the page says what failed
        current_app.logger.exception("cannot build the report")
        report = build_report([], _EmptyReview(), summary_days=SUMMARY_DAYS)
        error = error or f"{type(exc).__name__}: {exc}"
    report.store_error = error
    return report


class _EmptyReview:
    """Stands in for an unreadable review store."""

    @staticmethod
    def flags():
        return []

    @staticmethod
    def resolutions():
        return {}


def _report():
    return _cache().get(_build_report)


def _catalog():
    return runtime.catalog()


def _index_state() -> dict:
    status = index_status(current_app.config["TROLYAO"])
    assistant = current_app.extensions.get("assistant")
    knowledge = getattr(assistant, "knowledge", None)
    status["serving"] = knowledge.version if knowledge is not None else None
    return status


# ---------------------------------------------------------------- pages
@bp.get("", strict_slashes=False)
@page_login_required
def dashboard():
    report = _report()
    catalog = _catalog()

    def service_name(sid):
        return service_label(catalog, sid)

    response = current_app.make_response(render_template(
        "admin.html", report=report, summary=report.summary, items=report.items[:TODO_ON_PAGE],
        total_items=len(report.items), index=_index_state(), kind_labels=KIND_LABELS,
        service_name=service_name,
        chart_tables=admin_charts.chart_tables(report.summary, service_name),
        csrf=csrf_token(), chart_version=int(time.time() // REPORT_TTL_SECONDS)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/charts/<name>.svg")
@page_login_required
def chart(name: str):
    if name not in admin_charts.CHART_NAMES:
        return json_error(404, "not_found", f"no chart named {name!r}")
    catalog = _catalog()
    svg = admin_charts.render(name, _report().summary, lambda sid: service_label(catalog, sid))
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/report.csv")
@page_login_required
def report_csv():
    out = io.StringIO()
    out.write("\ufeff")  # BOM: spreadsheet programs then read the Vietnamese text as UTF-8
    write_csv(_report().groups, out, _catalog())
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="trolyao-can-bo-sung.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/report")
@page_login_required
def report_json():
    report = _report()
    summary = report.summary
    return jsonify({
        "summary": {
            "days": len(summary.days), "questions": summary.questions, "answered": summary.answered,
            "declined": summary.declined, "positive_feedback": summary.positive,
            "negative_feedback": summary.negative, "satisfaction": summary.satisfaction,
            "satisfaction_target": summary.target, "conversations": summary.conversations,
            "questions_per_day": {d.isoformat(): n for d, n in zip(summary.days, summary.questions_per_day)},
            "top_services": [{"service": s, "questions": n} for s, n in summary.top_services],
        },
        "flags_open": report.flags_open,
        "skipped_records": report.skipped,
        "store_error": report.store_error,
        "todo": [{"service": i.service, "question": i.question, "count": i.count,
                  "kinds": dict(i.kinds), "notes": i.notes, "flag_ids": i.flag_ids,
                  "last_seen": i.last_seen.isoformat() if i.last_seen else None}
                 for i in report.items],
    })


@bp.post("/questions/done")
@form_post
def question_done():
    question = request.form.get("question", "").strip()
    if not question:
        return json_error(400, "missing_question", "which question? (form field 'question')")
    closed = _review_store().resolve_question(question)
    _cache().clear()
    flash(f"Đã đánh dấu xong: «{question[:80]}»" + (f" ({closed} đánh dấu của cán bộ)" if closed else ""))
    return redirect(url_for("admin.dashboard") + "#todo", code=303)


# ---------------------------------------------------------------- index
def _run_reindex(full: bool = False) -> dict | None:
    """Build a new index version beside the served one, then swap it in; None if one is running."""
    if not _reindex_lock.acquire(blocking=False):
        return None
    try:
        report = build_index(current_app.config["TROLYAO"], full=full)
        assistant = current_app.extensions.get("assistant")
        if assistant is not None and assistant.knowledge is not None:
            assistant.knowledge.reload_if_changed()
        body = report.to_dict()
        body["serving"] = assistant.knowledge.version if assistant and assistant.knowledge else None
        return body
    finally:
        _reindex_lock.release()


@bp.get("/status")
@admin_required
def status():
    return jsonify(_index_state())


@bp.post("/reindex")
@admin_required
def reindex():
    # ?full=1 re-embeds everything (e.g. after changing the embedding model).
    full = request.args.get("full", "").lower() in ("1", "true", "yes")
    body = _run_reindex(full)
    if body is None:
        return json_error(409, "reindex_running", "a re-index is already running")
    return jsonify(body)


@bp.post("/reindex-now")
@form_post
def reindex_now():
    body = _run_reindex()
    if body is None:
        flash("Đang có một lần cập nhật chỉ mục khác chạy; vui lòng đợi rồi tải lại trang.")
    else:
        changes = (f"thêm {len(body.get('added', []))}, sửa {len(body.get('changed', []))}, "
                   f"xoá {len(body.get('removed', []))} tài liệu")
        flash(f"Đã cập nhật chỉ mục: đang dùng phiên bản {body.get('serving')} ({changes}).")
    return redirect(url_for("admin.dashboard") + "#index", code=303)
