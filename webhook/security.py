"""Rate limiting, admin auth (bearer tokens, the admin page's sign-in, sessions and CSRF),
CORS and security headers."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from urllib.parse import urlparse

from flask import current_app, jsonify, render_template, request, session
from flask.sessions import SecureCookieSessionInterface

# Paths a portal page may call from its own origin (CORS) and whose answers are private.
API_PATHS = ("/api/", "/webhooks/")


@contextmanager
def sqlite_transaction(path):
    """One transaction on a fresh SQLite connection, closed afterwards (state shared by all
    workers: wrong-token counts, admin sessions)."""
    db = sqlite3.connect(path, timeout=10)
    try:
        with db:
            yield db
    finally:
        db.close()



class RateLimiter:
    """Sliding-window limit per client key (IP). In-process: one window per worker."""

    def __init__(self, limit: int, window_seconds: float):
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self._last_sweep = time.monotonic()

    @classmethod
    def from_spec(cls, spec: str) -> "RateLimiter":
        """'60/60' = 60 requests per 60 seconds; '0' disables."""
        spec = spec.strip()
        if spec in ("0", "", "off"):
            return cls(0, 1)
        count, _, seconds = spec.partition("/")
        try:
            limit, window = int(count), float(seconds or 60)
        except ValueError:
            raise SystemExit(f"TROLYAO_RATE_LIMIT must look like 60/60 (requests/seconds), got {spec!r}")
        if limit < 0 or window <= 0:
            raise SystemExit(f"TROLYAO_RATE_LIMIT must be positive, got {spec!r}")
        return cls(limit, window)

    def check(self, key: str) -> float:
        """0 if allowed (and counted), else the seconds until the next request is allowed."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.01, hits[0] + self.window - now)
            hits.append(now)
            self._sweep(now)
            return 0.0

    def _sweep(self, now: float) -> None:
        """Forget clients idle for a whole window, at most once per window (memory stays bounded)."""
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]


def client_key() -> str:
    """The client's IP (behind TROLYAO_TRUSTED_PROXIES proxies, ProxyFix has already set it)."""
    return request.remote_addr or "unknown"


def json_error(status: int, code: str, message: str, **headers):
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def rate_limited(view):
    """429 + Retry-After (whole seconds) once a client IP exceeds TROLYAO_RATE_LIMIT.
    Counted before validation, so floods of bad requests are limited too."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        wait = current_app.extensions["rate_limiter"].check(client_key())
        if wait:
            seconds = int(wait) + 1
            return json_error(429, "too_many_requests",
                              f"Anh/chị gửi quá nhanh, vui lòng thử lại sau {seconds} giây.",
                              Retry_After=str(seconds))
        return view(*args, **kwargs)
    return wrapper


def origin_allowed() -> bool:
    """Browsers name the page's origin: our own pages and TROLYAO_CORS_ORIGINS may chat.
    No Origin header = not a web page (curl, a server, the Rasa REST channel's clients)."""
    origin = request.headers.get("Origin")
    if not origin:
        return True
    allowed = current_app.config["TROLYAO"].cors_origins
    return "*" in allowed or origin in allowed or urlparse(origin).netloc == request.host


def allowed_origin_only(view):
    """403 for pages of other sites: CORS alone would only hide the answer from them, the
    question would still be processed (a text/plain POST needs no preflight)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not origin_allowed():
            return json_error(403, "origin_not_allowed",
                              "this origin is not allowed to call the API (see TROLYAO_CORS_ORIGINS)")
        return view(*args, **kwargs)
    return wrapper


class FailedTokens:
    """Wrong admin tokens (sign-in form and bearer headers), counted per client IP and over all
    clients (distributed guessing), in `$TROLYAO_HOME/var/admin-sessions.db` so every worker
    process counts the same attempts. Over either limit, wrong tokens get 429; the right token
    is always accepted (it is checked first), so an attacker behind the same IP (a ward
    office's NAT) cannot lock staff out. Guessing is kept out by the token's length (README: at
    least 32 random characters); the limit keeps the noise and the work bounded."""

    def __init__(self, path, per_client: int = 10, overall: int = 100, window: float = 300.0):
        self.path = Path(path)
        self.per_client, self.overall, self.window = per_client, overall, window
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS failed_tokens (client TEXT NOT NULL, at REAL NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS failed_tokens_at ON failed_tokens(at)")

    def _connect(self):
        return sqlite_transaction(self.path)

    def retry_after(self, key: str) -> float:
        """0 if wrong attempts from `key` are still answered 401, else seconds to wait."""
        now = time.time()
        since = now - self.window
        with self._connect() as db:
            mine = db.execute("SELECT count(*), min(at) FROM failed_tokens WHERE client = ? AND at > ?",
                              (key, since)).fetchone()
            every = db.execute("SELECT count(*), min(at) FROM failed_tokens WHERE at > ?",
                               (since,)).fetchone()
        waits = [first + self.window - now for (count, first), limit in
                 ((mine, self.per_client), (every, self.overall)) if count >= limit]
        return max(0.01, max(waits)) if waits else 0.0

    def record(self, key: str) -> None:
        now = time.time()
        with self._connect() as db:
            db.execute("INSERT INTO failed_tokens VALUES (?, ?)", (key, now))
            db.execute("DELETE FROM failed_tokens WHERE at <= ?", (now - self.window,))


def _shared_admin_state(name: str, make):
    """One object per app over `$TROLYAO_HOME/var/admin-sessions.db` (the database every
    worker shares), made on first use."""
    found = current_app.extensions.get(name)
    if found is None:
        home = Path(current_app.config["TROLYAO"].home)
        found = current_app.extensions.setdefault(name, make(home / "var" / "admin-sessions.db"))
    return found


def failed_tokens() -> FailedTokens:
    return _shared_admin_state("admin_failed_tokens", FailedTokens)


def given_bearer() -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def token_matches(given: str, token: str) -> bool:
    return bool(given) and bool(token) and hmac.compare_digest(given.encode(), token.encode())


def bearer_token_matches(token: str) -> bool:
    return token_matches(given_bearer(), token)


def check_bearer(token: str) -> str:
    """"ok" (right token), "absent" (no Authorization header), "wrong" (counted) or
    "limited" (wrong, and this client or everybody has guessed too often: 429)."""
    given = given_bearer()
    if not given:
        return "absent"
    if token_matches(given, token):
        return "ok"
    limiter = failed_tokens()
    if limiter.retry_after(client_key()):
        return "limited"
    limiter.record(client_key())
    return "wrong"


def too_many_attempts():
    seconds = int(failed_tokens().retry_after(client_key())) + 1
    return json_error(429, "too_many_requests",
                      f"too many wrong admin tokens; try again in {seconds} s",
                      Retry_After=str(seconds))


def refuse_without_bearer(token: str, realm: str, disabled_message: str):
    """None when the request carries `token` as its bearer token, else the error to return:
    404 when no token is configured (the endpoint is off), 429 after too many wrong tries,
    401 otherwise."""
    if not token:
        return json_error(404, "not_found", disabled_message)
    result = check_bearer(token)
    if result == "limited":
        return too_many_attempts()
    if result != "ok":
        return json_error(401, "unauthorized", "missing or wrong bearer token",
                          WWW_Authenticate=f'Bearer realm="{realm}"')
    return None


def admin_required(view):
    """Bearer TROLYAO_ADMIN_TOKEN; admin endpoints do not exist when no token is configured.
    Wrong tokens are counted (FailedTokens): too many get 429 instead of 401."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        refused = refuse_without_bearer(admin_token(), "trolyao-admin",
                                        "admin endpoints are disabled (no TROLYAO_ADMIN_TOKEN)")
        return refused if refused is not None else view(*args, **kwargs)
    return wrapper


# ---------------------------------------------------------------- the admin page's sign-in
SESSION_HOURS = 12  # a sign-in lasts this long at most


def configure_admin_sessions(app) -> None:
    """Signed session cookies for the admin page: the Flask secret from TROLYAO_SECRET_KEY (or
    one per process: sessions then end when the server restarts), SameSite=Strict, HttpOnly."""
    if not app.secret_key:
        app.secret_key = os.environ.get("TROLYAO_SECRET_KEY") or secrets.token_hex(32)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.session_interface = SessionCookies()


class SessionCookies(SecureCookieSessionInterface):
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


def admin_sessions() -> AdminSessions:
    return _shared_admin_state("admin_sessions", AdminSessions)


def admin_token() -> str:
    return current_app.config["TROLYAO"].admin_token


def _session_proof(token: str, sid: str) -> str:
    """What the cookie holds besides the session id: proves the token was given, is not the
    token, and stops working when the token changes."""
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"trolyao-admin:" + token.encode() + b":" + sid.encode(),
                    hashlib.sha256).hexdigest()


def session_ok(token: str) -> bool:
    proof, sid = session.get("admin"), session.get("sid")
    return isinstance(proof, str) and isinstance(sid, str) \
        and hmac.compare_digest(proof, _session_proof(token, sid)) and admin_sessions().valid(sid)


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def csrf_ok() -> bool:
    if bearer_token_matches(admin_token()):  # not a browser session: nothing to forge
        return True
    # A form field from the admin pages, or a header from their scripts (JSON bodies).
    given = request.form.get("csrf", "") or request.headers.get("X-CSRF-Token", "")
    expected = session.get("csrf", "")
    return bool(given) and bool(expected) and hmac.compare_digest(given, expected)


def sign_in(token: str) -> None:
    """A new server-side session for this browser (any earlier one of it ends)."""
    sessions = admin_sessions()
    sessions.end(session.get("sid"))
    session.clear()
    sid = sessions.create()
    session["sid"] = sid
    session["admin"] = _session_proof(token, sid)
    csrf_token()


def sign_out() -> None:
    admin_sessions().end(session.get("sid"))
    session.clear()


def refuse_wrong_token() -> float:
    """A wrong token typed in the sign-in form: counted, unless this client or everybody has
    guessed too often already; returns the seconds to wait then (0: answer 401)."""
    limiter = failed_tokens()
    wait = limiter.retry_after(client_key())
    if not wait:
        limiter.record(client_key())
    return wait


def login_page(status: int, error: str | None = None):
    response = current_app.make_response((render_template("admin_login.html", error=error), status))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="trolyao-admin"'
    response.headers["Cache-Control"] = "no-store"
    return response


def page_login_required(view):
    """Bearer header or signed-in session; else 401 with the login form (404 when disabled)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        token = admin_token()
        if not token:
            return current_app.make_response((render_template("admin_disabled.html"), 404))
        bearer = check_bearer(token)
        if bearer == "limited":
            return too_many_attempts()
        if not (bearer == "ok" or (bearer == "absent" and session_ok(token))):
            return login_page(401)
        return view(*args, **kwargs)
    return wrapper


def form_post(view):
    """A state-changing form post: signed in and carrying the page's CSRF token."""
    @wraps(view)
    @page_login_required
    def wrapper(*args, **kwargs):
        if not csrf_ok():
            return json_error(403, "csrf", "the form expired; reload /admin and try again")
        return view(*args, **kwargs)
    return wrapper


def page_csp(frame_ancestors: list[str]) -> str:
    """Our HTML pages (the demo portal with the widget): only our own scripts, styles and API."""
    ancestors = " ".join(frame_ancestors) or "'self'"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            f"frame-ancestors {ancestors}")


def apply_cors(response):
    """Only the configured portal origins may call the API from their pages ('*' = any)."""
    if not request.path.startswith(API_PATHS):
        return
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    allowed = current_app.config["TROLYAO"].cors_origins
    if origin and (origin in allowed or "*" in allowed):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"


def apply_security_headers(response):
    settings = current_app.config["TROLYAO"]
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", page_csp(settings.frame_ancestors))
        legacy = {"'self'": "SAMEORIGIN", "'none'": "DENY"}.get(" ".join(settings.frame_ancestors))
        if legacy:  # browsers without CSP frame-ancestors
            response.headers.setdefault("X-Frame-Options", legacy)
    elif response.mimetype == "application/json":
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    if request.path.startswith(API_PATHS):
        response.headers.setdefault("Cache-Control", "no-store")  # conversations are private
    apply_cors(response)
    return response
