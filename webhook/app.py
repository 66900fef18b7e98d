"""Flask application factory: config from the environment, one blueprint per concern."""
from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from trolyao import runtime
from webhook.security import RateLimiter, apply_security_headers


MAX_BODY_BYTES = 64 * 1024


def create_app(assistant=None, settings=None, start: bool = True) -> Flask:
    """Build the app. `assistant` may be injected (tests, the shell); else one is started here."""
    runtime.quiet_environment()
    settings = settings or runtime.settings()
    runtime.configure_logging(settings.log_level)

    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(
        TROLYAO=settings,
        # Bodies larger than this are refused before they are read (413, JSON error).
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    if settings.trusted_proxies > 0:
        # Behind nginx & co. the socket peer is the proxy; the citizen's IP is in X-Forwarded-For.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    if assistant is None and start:
        from trolyao.assistant import Assistant

        assistant = Assistant(settings).start()
    app.extensions["assistant"] = assistant
    app.extensions["rate_limiter"] = RateLimiter.from_spec(settings.rate_limit)

    from webhook.blueprints.admin import bp as admin_bp
    from webhook.blueprints.chat import bp as chat_bp
    from webhook.blueprints.health import bp as health_bp
    from webhook.blueprints.widget import bp as widget_bp

    app.register_blueprint(chat_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(widget_bp)
    app.after_request(apply_security_headers)

    @app.errorhandler(RequestEntityTooLarge)
    def body_too_large(exc: RequestEntityTooLarge):
        response = jsonify(error={"code": "body_too_large",
                                  "message": f"request body is larger than {MAX_BODY_BYTES // 1024} KiB"})
        response.status_code = 413
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        response = jsonify(error={"code": code, "message": exc.description})
        response.status_code = exc.code or 500
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        app.logger.exception("unhandled error")
        response = jsonify(error={"code": "internal_error",
                                  "message": "Hệ thống đang bận, anh/chị vui lòng thử lại sau."})
        response.status_code = 500
        return response

    return app
