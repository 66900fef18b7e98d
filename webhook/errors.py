"""Every error answers JSON `{"error": {"code", "message"}}`, never an HTML page or a trace."""
from __future__ import annotations

from flask import Flask, current_app
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from webhook.security import json_error


def body_too_large(exc: RequestEntityTooLarge):
    limit = current_app.config["MAX_CONTENT_LENGTH"] // 1024
    return json_error(413, "body_too_large", f"request body is larger than {limit} KiB")


def http_error(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    return json_error(exc.code or 500, code, exc.description)


def unexpected_error(exc: Exception):
    current_app.logger.exception("unhandled error")
    return json_error(500, "internal_error", "Hệ thống đang bận, anh/chị vui lòng thử lại sau.")


def init_app(app: Flask) -> None:
    app.register_error_handler(RequestEntityTooLarge, body_too_large)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
