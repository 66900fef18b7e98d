"""Personal data on the web: staff export and delete a conversation, a citizen deletes their own.

- GET  /admin/privacy/export?sender=…  everything stored about one conversation (JSON download)
- POST /admin/privacy/delete           form or JSON field `sender`: delete all of it
- GET  /admin/audit                    the newest audit entries (JSON; ?action=privacy.delete)
- POST /api/conversation/delete        the widget's "xóa cuộc trò chuyện": {"sender": "web-…"}

Staff endpoints take the admin token (bearer) or the signed-in session like /admin, and a
delete from a session carries the page's CSRF token. `sender` is what staff have: the id
as the channel gave it or the stored `u-…` id (trolyao/staff/privacy.py finds everything).

How a citizen proves the conversation is theirs: the widget's sender id is 96 random bits
made in the browser and kept only there (localStorage); the server stores its keyed hash.
Knowing it is what lets anybody continue the conversation, so knowing it is also enough to
delete it. Only ids of that shape (`web-` + 24 hex digits) are accepted here: an API
client's or a chat app's id may be guessable (a phone number, a Zalo id), and the stored
`u-…` ids appear in staff reports; those conversations are deleted by staff.

Each action is audit-logged (trolyao/core/audit.py). Deletions hold the conversation's lock,
so an answer being written at the same moment cannot bring part of it back.
"""
from __future__ import annotations

import json
import logging
import re

from flask import Blueprint, Response, current_app, jsonify, request

from trolyao.staff.privacy import Privacy, RetentionSchedule
from webhook.blueprints.chat import SENDER_RE
from webhook.security import (admin_token, allowed_origin_only, bearer_token_matches, form_post,
                              json_error, page_login_required, rate_limited)

bp = Blueprint("privacy", __name__)
log = logging.getLogger(__name__)

WIDGET_SENDER_RE = re.compile(r"web-[0-9a-f]{24}")
NOT_READY = "Trợ lý đang khởi động, anh/chị vui lòng thử lại sau giây lát."


def init_app(app, schedule: bool = False) -> None:
    """Register the endpoints; with `schedule`, purge data older than TROLYAO_RETENTION_DAYS
    once a day in this process (one worker does it: see RetentionSchedule)."""
    app.register_blueprint(bp)
    settings = app.config["TROLYAO"]
    if schedule and settings.retention_days > 0:
        def purge():
            with app.app_context():
                return _privacy().purge("retention")
        app.extensions["retention"] = RetentionSchedule(purge, settings.home / "var").start()


def _privacy() -> Privacy | None:
    """One Privacy per app over the running assistant's conversation store (None while loading)."""
    privacy = current_app.extensions.get("privacy")
    if privacy is None:
        assistant = current_app.extensions.get("assistant")
        store = getattr(assistant, "tracker_store", None) if assistant is not None else None
        if store is None:
            return None
        privacy = Privacy.for_store(current_app.config["TROLYAO"], store)
        current_app.extensions["privacy"] = privacy
    return privacy


def _delete_locked(privacy: Privacy, sender: str, actor: str) -> dict:
    """Delete under the conversation's lock, on the assistant's loop (where the lock store lives)."""
    assistant = current_app.extensions["assistant"]
    conversation = privacy.conversation_ids(sender)[0]

    async def locked():
        async with assistant.agent.lock_store.lock(conversation):
            return privacy.delete(sender, actor)
    return assistant.run(locked(), timeout=120)


def _staff_actor() -> str:
    return "admin:token" if bearer_token_matches(admin_token()) else "admin:session"


def _staff_sender(value) -> str | None:
    sender = value.strip() if isinstance(value, str) else ""
    return sender if SENDER_RE.fullmatch(sender) else None


# ---------------------------------------------------------------- staff
@bp.get("/admin/privacy/export")
@page_login_required
def admin_export():
    sender = _staff_sender(request.args.get("sender"))
    if sender is None:
        return json_error(400, "invalid_sender", "give ?sender= (1-128 letters, digits or ._:@-)")
    privacy = _privacy()
    if privacy is None:
        return json_error(503, "not_ready", NOT_READY, Retry_After="5")
    data = privacy.export(sender, _staff_actor())
    response = Response(json.dumps(data, ensure_ascii=False, indent=2, default=str),
                        mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="trolyao-{data["conversation_id"]}.json"')
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/admin/privacy/delete")
@form_post
def admin_delete():
    body = request.get_json(silent=True) if request.is_json else None
    given = body.get("sender") if isinstance(body, dict) else request.form.get("sender")
    sender = _staff_sender(given)
    if sender is None:
        return json_error(400, "invalid_sender", "field 'sender' must be 1-128 letters, digits or ._:@-")
    privacy = _privacy()
    if privacy is None:
        return json_error(503, "not_ready", NOT_READY, Retry_After="5")
    return jsonify(_delete_locked(privacy, sender, _staff_actor()))


@bp.get("/admin/audit")
@page_login_required
def admin_audit():
    privacy = _privacy()
    if privacy is None:
        return json_error(503, "not_ready", NOT_READY, Retry_After="5")
    try:
        limit = min(max(int(request.args.get("limit", 100)), 1), 1000)
    except ValueError:
        return json_error(400, "invalid_limit", "limit must be a whole number")
    return jsonify({"entries": privacy.audit.recent(limit, request.args.get("action") or None)})


# ---------------------------------------------------------------- the citizen
@bp.post("/api/conversation/delete", provide_automatic_options=False)
@rate_limited
@allowed_origin_only
def citizen_delete():
    body = request.get_json(silent=True)
    sender = body.get("sender") if isinstance(body, dict) else None
    if not isinstance(sender, str) or not WIDGET_SENDER_RE.fullmatch(sender):
        return json_error(400, "invalid_sender",
                          "chỉ xóa được cuộc trò chuyện của khung chat trên trang này; để xóa dữ liệu "
                          "khác, anh/chị vui lòng liên hệ cơ quan quản lý trợ lý ảo")
    privacy = _privacy()
    if privacy is None:
        return json_error(503, "not_ready", NOT_READY, Retry_After="5")
    result = _delete_locked(privacy, sender, "citizen")
    return jsonify({"deleted": True, "events": result["deleted"]["events"]})


@bp.route("/api/conversation/delete", methods=["OPTIONS"])
def citizen_delete_preflight():
    return ("", 204)


def shutdown(app) -> None:
    """Stop the daily purge (tests, clean exits)."""
    schedule = app.extensions.get("retention")
    if isinstance(schedule, RetentionSchedule):
        schedule.stop()
