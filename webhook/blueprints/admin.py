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

import hashlib
import hmac
import io
import os
import secrets
import threading
import time
from functools import wraps

from flask import (Blueprint, Response, current_app, flash, jsonify, redirect, render_template,
                   request, session, url_for)
from flask.sessions import SecureCookieSessionInterface

from webhook.security import (admin_required, check_bearer, client_key, failed_tokens, json_error,
                              sqlite_transaction, token_matches, too_many_attempts)

bp = Blueprint("admin", __name__, url_prefix="/admin")
_reindex_lock = threading.Lock()
REPORT_TTL_SECONDS = 15.0  # the page loads five images at once: read the store once for all
SUMMARY_DAYS = 30
TODO_ON_PAGE = 20
SESSION_HOURS = 12  # a sign-in lasts this long at most


@bp.record_once
def _configure_sessions(state) -> None:
    app = state.app
    if not app.secret_key:
        app.secret_key = os.environ.get("TROLYAO_SECRET_KEY") or secrets.token_hex(32)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.session_interface = _SessionCookies()


class _SessionCookies(SecureCookieSessionInterface):
    """The session cookie is `Secure` whenever the request came over HTTPS (directly, or via
    a trusted reverse proxy's X-Forwarded-Proto, see TROLYAO_TRUSTED_PROXIES); plain HTTP on
    localhost still works for development."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


class AdminSessions:
    """Sign-ins known to the server (`$TROLYAO_HOME/var/admin-sessions.db`, shared by the
    workers): the cookie carries a random session id, logging out deletes it, so a cookie
    copied before the logout opens nothing. Sessions end after SESSION_HOURS."""

    def __init__(self, path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS admin_sessions "
                       "(id TEXT PRIMARY KEY, expires REAL NOT NULL)")

    def _connect(self):
        return sqlite_transaction(self.path)

    def create(self) -> str:
        sid = secrets.token_urlsafe(24)
        now = time.time()
        with self._connect() as db:
            db.execute("DELETE FROM admin_sessions WHERE expires < ?", (now,))
            db.execute("INSERT INTO admin_sessions VALUES (?, ?)", (sid, now + SESSION_HOURS * 3600))
        return sid

    def valid(self, sid) -> bool:
        if not isinstance(sid, str) or not sid:
            return False
        with self._connect() as db:
            row = db.execute("SELECT expires FROM admin_sessions WHERE id = ?", (sid,)).fetchone()
        return row is not None and row[0] > time.time()

    def end(self, sid) -> None:
        if isinstance(sid, str):
            with self._connect() as db:
                db.execute("DELETE FROM admin_sessions WHERE id = ?", (sid,))


def _sessions() -> AdminSessions:
    sessions = current_app.extensions.get("admin_sessions")
    if sessions is None:
        home = current_app.config["TROLYAO"].home
        from pathlib import Path

        sessions = current_app.extensions.setdefault(
            "admin_sessions", AdminSessions(Path(home) / "var" / "admin-sessions.db"))
    return sessions


# ---------------------------------------------------------------- authentication
def _admin_token() -> str:
    return current_app.config["TROLYAO"].admin_token


def _session_proof(token: str, sid: str) -> str:
    """What the cookie holds besides the session id: proves the token was given, is not the
    token, and stops working when the token changes."""
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"trolyao-admin:" + token.encode() + b":" + sid.encode(),
                    hashlib.sha256).hexdigest()


def _bearer_ok(token: str) -> bool:
    from webhook.security import bearer_token_matches

    return bearer_token_matches(token)


def _session_ok(token: str) -> bool:
    proof, sid = session.get("admin"), session.get("sid")
    return isinstance(proof, str) and isinstance(sid, str) \
        and hmac.compare_digest(proof, _session_proof(token, sid)) and _sessions().valid(sid)


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _csrf_ok() -> bool:
    if _bearer_ok(_admin_token()):  # not a browser session: nothing to forge
        return True
    given = request.form.get("csrf", "")
    expected = session.get("csrf", "")
    return bool(given) and bool(expected) and hmac.compare_digest(given, expected)


def _login_page(status: int, error: str | None = None):
    response = current_app.make_response((render_template("admin_login.html", error=error), status))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="trolyao-admin"'
    response.headers["Cache-Control"] = "no-store"
    return response


def page_login_required(view):
    """Bearer header or signed-in session; else 401 with the login form (404 when disabled)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        token = _admin_token()
        if not token:
            return current_app.make_response((render_template("admin_disabled.html"), 404))
        bearer = check_bearer(token)
        if bearer == "limited":
            return too_many_attempts()
        if not (bearer == "ok" or (bearer == "absent" and _session_ok(token))):
            return _login_page(401)
        return view(*args, **kwargs)
    return wrapper


def form_post(view):
    """A state-changing form post: signed in and carrying the page's CSRF token."""
    @wraps(view)
    @page_login_required
    def wrapper(*args, **kwargs):
        if not _csrf_ok():
            return json_error(403, "csrf", "the form expired; reload /admin and try again")
        return view(*args, **kwargs)
    return wrapper


@bp.post("/login")
def login():
    token = _admin_token()
    if not token:
        return current_app.make_response((render_template("admin_disabled.html"), 404))
    given = request.form.get("token", "").strip()
    if not token_matches(given, token):  # the right token is never refused (checked first)
        limiter = failed_tokens()
        wait = limiter.retry_after(client_key())
        if wait:
            response = _login_page(429, "Sai mã quá nhiều lần. Vui lòng thử lại sau vài phút.")
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        limiter.record(client_key())
        return _login_page(401, "Mã truy cập không đúng.")
    _sessions().end(session.get("sid"))
    session.clear()
    sid = _sessions().create()
    session["sid"] = sid
    session["admin"] = _session_proof(token, sid)
    _csrf_token()
    return redirect(url_for("admin.dashboard"), code=303)


@bp.post("/logout")
@form_post
def logout():
    _sessions().end(session.get("sid"))  # the cookie, even copied, opens nothing any more
    session.clear()
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
    from trolyao.review_store import ReviewStore

    return ReviewStore.for_settings(current_app.config["TROLYAO"])


def _build_report():
    from trolyao.report import (build_report, read_exchanges_from_assistant,
                                read_exchanges_from_settings, store_location)

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
    from trolyao import runtime

    return runtime.catalog()


def _index_state() -> dict:
    from knowledge.status import index_status

    status = index_status(current_app.config["TROLYAO"])
    assistant = current_app.extensions.get("assistant")
    knowledge = getattr(assistant, "knowledge", None)
    status["serving"] = knowledge.version if knowledge is not None else None
    return status


# ---------------------------------------------------------------- pages
@bp.get("", strict_slashes=False)
@page_login_required
def dashboard():
    from trolyao.report import KIND_LABELS, service_label

    report = _report()
    catalog = _catalog()
    response = current_app.make_response(render_template(
        "admin.html", report=report, summary=report.summary, items=report.items[:TODO_ON_PAGE],
        total_items=len(report.items), index=_index_state(), kind_labels=KIND_LABELS,
        service_name=lambda sid: service_label(catalog, sid),
        csrf=_csrf_token(), chart_version=int(time.time() // REPORT_TTL_SECONDS)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/charts/<name>.svg")
@page_login_required
def chart(name: str):
    from webhook.blueprints import admin_charts

    if name not in admin_charts.CHART_NAMES:
        return json_error(404, "not_found", f"no chart named {name!r}")
    from trolyao.report import service_label

    catalog = _catalog()
    svg = admin_charts.render(name, _report().summary, lambda sid: service_label(catalog, sid))
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/report.csv")
@page_login_required
def report_csv():
    from trolyao.report import write_csv

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
    from knowledge.maintenance import build_index

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
