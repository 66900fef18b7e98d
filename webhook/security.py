"""Rate limiting, admin auth, CORS and security headers."""
from __future__ import annotations

import hmac
import threading
import time
from collections import defaultdict, deque
from functools import wraps

from flask import current_app, jsonify, request


class RateLimiter:
    """Sliding-window limit per client key (IP). In-process: one window per worker."""

    def __init__(self, limit: int, window_seconds: float):
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str) -> "RateLimiter":
        """'60/60' = 60 requests per 60 seconds; '0' disables."""
        if spec.strip() in ("0", "", "off"):
            return cls(0, 1)
        count, _, seconds = spec.partition("/")
        return cls(int(count), float(seconds or 60))

    def check(self, key: str) -> float:
        """0 if allowed, else the seconds until the next request is allowed."""
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
            if len(self._hits) > 50_000:  # forget idle clients
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return 0.0


def client_key() -> str:
    return request.remote_addr or "unknown"


def json_error(status: int, code: str, message: str, **headers):
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def rate_limited(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        wait = current_app.extensions["rate_limiter"].check(client_key())
        if wait:
            return json_error(429, "too_many_requests",
                              "Anh/chị gửi quá nhanh, vui lòng thử lại sau ít giây.",
                              Retry_After=str(int(wait) + 1))
        return view(*args, **kwargs)
    return wrapper


def admin_required(view):
    """Bearer TROLYAO_ADMIN_TOKEN; admin endpoints do not exist when no token is configured."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        token = current_app.config["TROLYAO"].admin_token
        if not token:
            return json_error(404, "not_found", "admin endpoints are disabled (no TROLYAO_ADMIN_TOKEN)")
        header = request.headers.get("Authorization", "")
        given = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return json_error(401, "unauthorized", "missing or wrong bearer token",
                              WWW_Authenticate='Bearer realm="trolyao-admin"')
        return view(*args, **kwargs)
    return wrapper


def apply_security_headers(response):
    settings = current_app.config["TROLYAO"]
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    ancestors = " ".join(settings.frame_ancestors) or "'self'"
    if response.mimetype == "text/html":
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors {ancestors}")
    origin = request.headers.get("Origin")
    if origin and origin in settings.cors_origins and request.path.startswith(("/api/", "/webhooks/")):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    return response
