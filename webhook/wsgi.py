"""WSGI entry point for external servers: `gunicorn 'webhook.wsgi:app'`."""
from webhook.app import create_app

app = create_app()
