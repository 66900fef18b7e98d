"""Flask application factory: config from the environment, one blueprint per concern."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from trolyao.core import runtime
from trolyao.core.assistant import Assistant
from webhook import channels, errors
from webhook import metrics, observability
from webhook.blueprints import privacy
from webhook.blueprints.admin import bp as admin_bp
from webhook.blueprints.chat import bp as chat_bp
from webhook.blueprints.handoff import bp as handoff_bp
from webhook.blueprints.health import bp as health_bp
from webhook.blueprints.openapi import bp as openapi_bp
from webhook.blueprints.widget import bp as widget_bp
from webhook.security import RateLimiter, apply_security_headers

MAX_BODY_BYTES = 64 * 1024


def create_app(assistant=None, settings=None, start: bool = True, channel_config=None) -> Flask:
    """Build the app. `assistant` may be injected (tests, the shell); else one is started here.
    `channel_config`: the chat apps (webhook/channels/config.py), else from the environment."""
    runtime.quiet_environment()
    settings = settings or runtime.settings()
    runtime.configure_logging(settings.log_level, log_format=settings.log_format)

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

    started_here = assistant is None and start
    if started_here:
        assistant = Assistant(settings).start()
    app.extensions["assistant"] = assistant
    app.extensions["rate_limiter"] = RateLimiter.from_spec(settings.rate_limit)

    app.register_blueprint(chat_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(widget_bp)
    # Export/delete for staff and citizens; the daily retention purge where the app serves.
    privacy.init_app(app, schedule=started_here)
    channels.init_app(app, assistant, settings, channel_config)  # Zalo, Messenger, Telegram
    app.register_blueprint(handoff_bp)
    app.register_blueprint(openapi_bp)
    # Before the security headers: after_request functions run last-registered first.
    observability.init_app(app)
    metrics.init_app(app)
    app.after_request(apply_security_headers)

    errors.init_app(app)
    return app
