"""Live hand-off: the staff queue in /admin and the delivery of staff messages to the widget.

Citizens (the widget, same origin rules as /api/chat):
- GET  /api/handoff/updates?sender=…&after=<id>&wait=1   the conversation's hand-off state and the
       staff messages after `after`; with wait=1 the request waits (long polling, up to
       TROLYAO_HANDOFF_WAIT_SECONDS) until there is one, so a staff reply arrives at once.

Staff (named accounts, TROLYAO_STAFF_ACCOUNTS_FILE; the admin token works too, as "admin"):
- GET  /admin/handoff                 the queue page (sign-in form when not signed in)
- POST /admin/handoff/login, /logout  staff sign-in with login + password
- GET  /admin/handoff/api/queue       waiting, mine, taken by others, closed
- GET  /admin/handoff/api/conversations/<id>   the ticket and the transcript with the bot's sources
- POST /admin/handoff/api/conversations/<id>/take | reply | return | close   (JSON; header
       X-CSRF-Token from the page unless a bearer token is sent)

Every staff action is written to the audit log (trolyao/core/audit.py).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from flask import (Blueprint, current_app, jsonify, redirect, render_template, request, session,
                   url_for)

from trolyao.core.audit import AuditLog
from trolyao.core.handoff import (CLOSED, MAX_REPLY_CHARS, OPEN_STATES, RETURNED, STAFF_LABEL, TAKEN,
                                  TAKEN_NOTICE,
                                  WAITING, AlreadyTaken, NotYours, OfficeHours, append_events,
                                  read_events, resume_events, shared_queue, staff_message_event)
from trolyao.core.protocol import META_KEY
from trolyao.staff.accounts import AccountsError, StaffAccounts
from webhook.blueprints.chat import SENDER_RE
from webhook.security import (admin_sessions, admin_token, allowed_origin_only, check_bearer,
                              client_key, configure_admin_sessions, csrf_token, failed_tokens,
                              json_error, rate_limited, session_ok, too_many_attempts)

bp = Blueprint("handoff", __name__)

CANNED_REPLIES = (
    "Chào anh/chị, tôi là cán bộ hỗ trợ. Anh/chị cần giúp về thủ tục nào ạ?",
    "Anh/chị vui lòng chờ trong giây lát, tôi đang kiểm tra thông tin.",
    "Anh/chị có thể nộp hồ sơ trực tuyến trên Cổng Dịch vụ công quốc gia hoặc ứng dụng VNeID.",
    "Xin anh/chị đừng gửi số CCCD, số điện thoại hay thông tin cá nhân qua cửa sổ này.",
    "Tôi chuyển anh/chị lại cho trợ lý ảo để hỏi tiếp các thủ tục khác nhé. Cảm ơn anh/chị.",
)


@bp.record_once
def _configure_sessions(state) -> None:
    configure_admin_sessions(state.app)


# ---------------------------------------------------------------- shared objects
def _settings():
    return current_app.config["TROLYAO"]


def _queue():
    return shared_queue(_settings())


def _accounts() -> StaffAccounts:
    settings = _settings()
    found = current_app.extensions.get("staff_accounts")
    if found is None or found.path != settings.staff_accounts_file:
        found = current_app.extensions["staff_accounts"] = StaffAccounts(settings.staff_accounts_file)
    return found


def _audit() -> AuditLog:
    found = current_app.extensions.get("audit_log")
    if found is None:
        found = current_app.extensions.setdefault("audit_log", AuditLog.from_settings(_settings()))
    return found


def _assistant():
    assistant = current_app.extensions.get("assistant")
    return assistant if assistant is not None and getattr(assistant, "agent", None) is not None else None


# ---------------------------------------------------------------- who is acting
@dataclass(frozen=True)
class Actor:
    id: str        # "admin" or "staff:<login>": the queue and the audit log
    name: str      # shown to other staff
    admin: bool
    bearer: bool = False


def _staff_proof(login: str, sid: str, password_hash: str) -> str:
    """The cookie proves the sign-in; it stops working when the password changes."""
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, f"trolyao-staff:{login}:{sid}:{password_hash}".encode(),
                    hashlib.sha256).hexdigest()


def current_actor() -> Actor | None | str:
    """The signed-in staff member or admin; "limited" after too many wrong bearer tokens."""
    token = admin_token()
    if token:
        bearer = check_bearer(token)
        if bearer == "limited":
            return "limited"
        if bearer == "ok":
            return Actor("admin", "Quản trị viên", True, bearer=True)
        if bearer == "absent" and session_ok(token):
            return Actor("admin", "Quản trị viên", True)
    login, sid, proof = session.get("staff"), session.get("staff_sid"), session.get("staff_proof")
    if not (isinstance(login, str) and isinstance(sid, str) and isinstance(proof, str)):
        return None
    try:
        account = _accounts().get(login)
    except AccountsError:
        current_app.logger.exception("staff accounts unreadable")
        return None
    if account is None or not admin_sessions().valid(sid) or not hmac.compare_digest(
            proof, _staff_proof(login, sid, account.password_hash)):
        return None
    return Actor(account.actor, account.name, False)


def _csrf_ok(actor: Actor) -> bool:
    if actor.bearer:  # not a browser session: nothing to forge
        return True
    given = request.headers.get("X-CSRF-Token", "") or request.form.get("csrf", "")
    expected = session.get("csrf", "")
    return bool(given) and bool(expected) and hmac.compare_digest(given, expected)


def _api_actor():
    actor = current_actor()
    if actor == "limited":
        return None, too_many_attempts()
    if actor is None:
        return None, json_error(401, "unauthorized", "sign in at /admin/handoff first",
                                WWW_Authenticate='Bearer realm="trolyao-admin"')
    if request.method == "POST" and not _csrf_ok(actor):
        return None, json_error(403, "csrf", "the page expired; reload /admin/handoff")
    return actor, None


# ---------------------------------------------------------------- the citizen's widget
@bp.get("/api/handoff/updates")
@rate_limited
@allowed_origin_only
def updates():
    sender = request.args.get("sender", "")
    if not SENDER_RE.fullmatch(sender):
        return json_error(400, "invalid_sender", "parameter 'sender' must be 1-128 letters, digits or ._:@-")
    try:
        after = max(0, int(request.args.get("after", "0") or 0))
    except ValueError:
        return json_error(400, "invalid_after", "parameter 'after' must be a whole number")
    assistant = current_app.extensions.get("assistant")
    if assistant is None:
        return json_error(503, "not_ready", "Trợ lý đang khởi động, anh/chị vui lòng thử lại sau giây lát.",
                          Retry_After="5")
    conversation = assistant.conversation_id(sender)
    wait = _settings().handoff_wait_seconds if request.args.get("wait") in ("1", "true") else 0.0
    queue = _queue()
    ticket, messages = queue.updates(conversation, after, wait)
    body = {"state": ticket.state if ticket else "none", "cursor": after, "messages": []}
    if ticket is not None and ticket.state == WAITING:
        body["position"] = queue.position(conversation)
        body["office_hours"] = ticket.in_office_hours
    for message in messages:
        body["messages"].append({"id": message["id"], "author": message["author"],
                                 "label": STAFF_LABEL, "text": message["text"]})
        body["cursor"] = max(body["cursor"], message["id"])
    return jsonify(body)


# ---------------------------------------------------------------- staff sign-in and page
def _login_page(status: int, error: str | None = None):
    response = current_app.make_response((render_template(
        "admin_handoff_login.html", error=error), status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/handoff")
def page():
    actor = current_actor()
    if actor == "limited":
        return too_many_attempts()
    if actor is None:
        return _login_page(401)
    response = current_app.make_response(render_template(
        "admin_handoff.html", actor=actor, csrf=csrf_token(), canned=CANNED_REPLIES,
        hours=OfficeHours.from_settings(_settings())))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/admin/handoff/login")
def login():
    limiter = failed_tokens()  # wrong passwords are counted like wrong admin tokens
    login_name = request.form.get("login", "").strip().lower()
    password = request.form.get("password", "")
    try:
        account = _accounts().verify(login_name, password) if login_name and password else None
    except AccountsError as exc:
        current_app.logger.error("staff accounts: %s", exc)
        return _login_page(503, "Danh sách tài khoản cán bộ đang lỗi; vui lòng báo quản trị viên.")
    if account is None:
        wait = limiter.retry_after(client_key())
        if wait:
            response = _login_page(429, "Sai mật khẩu quá nhiều lần. Vui lòng thử lại sau vài phút.")
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        limiter.record(client_key())
        return _login_page(401, "Tên đăng nhập hoặc mật khẩu không đúng.")
    sessions = admin_sessions()
    sessions.end(session.get("staff_sid"))
    session.clear()
    sid = sessions.create()
    session.update(staff=account.login, staff_sid=sid,
                   staff_proof=_staff_proof(account.login, sid, account.password_hash))
    csrf_token()
    _audit().record(account.actor, "handoff.sign_in", "", {"ip": client_key()})
    return redirect(url_for("handoff.page"), code=303)


@bp.post("/admin/handoff/logout")
def logout():
    actor = current_actor()
    if isinstance(actor, Actor) and not _csrf_ok(actor):
        return json_error(403, "csrf", "the page expired; reload /admin/handoff")
    admin_sessions().end(session.get("staff_sid"))
    if isinstance(actor, Actor) and not actor.admin:
        _audit().record(actor.id, "handoff.sign_out", "", {})
    for key in ("staff", "staff_sid", "staff_proof"):
        session.pop(key, None)
    return redirect(url_for("handoff.page"), code=303)


# ---------------------------------------------------------------- staff JSON API
def _ticket_json(ticket, actor: Actor, queue) -> dict:
    body = ticket.to_dict()
    body["mine"] = ticket.taken_by == actor.id
    if ticket.state == WAITING:
        body["position"] = queue.position(ticket.conversation)
    return body


@bp.get("/admin/handoff/api/queue")
def api_queue():
    actor, refused = _api_actor()
    if refused:
        return refused
    queue = _queue()
    open_tickets = queue.tickets(OPEN_STATES)
    return jsonify({
        "me": {"id": actor.id, "name": actor.name},
        "waiting": [_ticket_json(t, actor, queue) for t in open_tickets if t.state == WAITING],
        "mine": [_ticket_json(t, actor, queue) for t in open_tickets if t.state == TAKEN and t.taken_by == actor.id],
        "others": [_ticket_json(t, actor, queue) for t in open_tickets if t.state == TAKEN and t.taken_by != actor.id],
        "closed": [_ticket_json(t, actor, queue) for t in queue.tickets((RETURNED, CLOSED), limit=30)],
        "office_hours_now": OfficeHours.from_settings(_settings()).is_open(),
    })


def transcript(events: list[dict]) -> list[dict]:
    """What staff read: the citizen's messages, the bot's (with its sources), staff replies,
    and where the conversation was paused and resumed."""
    lines: list[dict] = []
    for event in events:
        kind, at = event.get("event"), event.get("timestamp")
        if kind == "user":
            text = event.get("text") or ""
            if text.startswith("/"):  # a button: show what it asked, not the payload
                text = f"[nút] {text.split('{')[0].lstrip('/')}"
            lines.append({"who": "citizen", "text": text, "at": at})
        elif kind == "bot":
            metadata = event.get("metadata") or {}
            custom = (event.get("data") or {}).get("custom")
            meta = custom.get(META_KEY) if isinstance(custom, dict) else None
            if meta is not None:
                sources = [{"title": s.get("title"), "url": s.get("url"), "section": s.get("section")}
                           for s in meta.get("sources", []) if isinstance(s, dict)]
                target = next((line for line in reversed(lines) if line["who"] == "bot"), None)
                if sources and target is not None and not target.get("sources"):
                    target["sources"] = sources
                continue
            if metadata.get("staff") and metadata.get("handoff") == "taken":
                who = metadata.get("staff_name") or metadata["staff"]
                lines.append({"who": "event", "text": f"{who} đã nhận cuộc trò chuyện",
                              "at": at})
            elif event.get("text"):
                lines.append({"who": "staff" if metadata.get("staff") else "bot",
                              "staff": metadata.get("staff_name") or metadata.get("staff"),
                              "text": event["text"], "at": at})
        elif kind == "pause":
            lines.append({"who": "event", "text": "Chuyển cho cán bộ (trợ lý ảo tạm dừng)", "at": at})
        elif kind == "resume":
            lines.append({"who": "event", "text": "Trả lại cho trợ lý ảo", "at": at})
    return lines


@bp.get("/admin/handoff/api/conversations/<conversation>")
def api_conversation(conversation: str):
    actor, refused = _api_actor()
    if refused:
        return refused
    queue = _queue()
    ticket = queue.get(conversation)
    if ticket is None:
        return json_error(404, "not_found", "this conversation was never handed off")
    assistant = _assistant()
    if assistant is None:
        return json_error(503, "not_ready", "the assistant is still loading", Retry_After="5")
    events = assistant.run(read_events(assistant.agent, conversation))
    return jsonify({"ticket": _ticket_json(ticket, actor, queue), "transcript": transcript(events)})


def _change(conversation: str, do, read_body=None):
    """Who asks first (401/403), then what they sent (`read_body` -> (value, refusal); 400),
    then the change `do(actor, queue, assistant[, value])`."""
    actor, refused = _api_actor()
    if refused:
        return refused
    extra = ()
    if read_body is not None:
        value, refused = read_body()
        if refused:
            return refused
        extra = (value,)
    assistant = _assistant()
    if assistant is None:
        return json_error(503, "not_ready", "the assistant is still loading", Retry_After="5")
    queue = _queue()
    if queue.get(conversation) is None:
        return json_error(404, "not_found", "this conversation was never handed off")
    try:
        result = do(actor, queue, assistant, *extra)
    except AlreadyTaken as exc:
        who = exc.ticket.taken_name if exc.ticket and exc.ticket.state == TAKEN else None
        return json_error(409, "already_taken", f"Cán bộ {who} đã nhận cuộc trò chuyện này." if who
                          else "Cuộc trò chuyện này không còn trong hàng chờ.")
    except NotYours as exc:
        return json_error(409, "not_yours", str(exc))
    if isinstance(result, tuple):  # an error response
        return result[0]
    ticket = queue.get(conversation)
    return jsonify({"ticket": _ticket_json(ticket, actor, queue), **(result or {})})


@bp.post("/admin/handoff/api/conversations/<conversation>/take")
def api_take(conversation: str):
    def do(actor, queue, assistant):
        ticket = queue.take(conversation, actor.id, actor.name)
        assistant.run(append_events(assistant.agent, conversation,
                                    [staff_message_event(TAKEN_NOTICE, actor.id, "taken", actor.name)]))
        waited = round(ticket.taken_at - ticket.queued_at, 1)
        _audit().record(actor.id, "handoff.take", conversation, {"waited_seconds": waited})
    return _change(conversation, do)


def _reply_text():
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None, json_error(400, "empty_message", "field 'text' is empty")
    if len(text) > MAX_REPLY_CHARS:
        return None, json_error(400, "message_too_long", f"field 'text' is longer than {MAX_REPLY_CHARS} characters")
    if "\x00" in text:
        return None, json_error(400, "invalid_message", "field 'text' contains a NUL character")
    return text.strip(), None


@bp.post("/admin/handoff/api/conversations/<conversation>/reply")
def api_reply(conversation: str):
    def do(actor, queue, assistant, text):
        message = queue.reply(conversation, actor.id, text)
        assistant.run(append_events(assistant.agent, conversation,
                                    [staff_message_event(message["text"], actor.id, "reply", actor.name)]))
        # A citizen on Zalo/Messenger/Telegram has no widget polling: push the reply there.
        channels = current_app.extensions.get("channels")
        if channels is not None:
            channels.send_text(conversation, message["text"])
        _audit().record(actor.id, "handoff.reply", conversation, {"chars": len(text)})
        return {"message": {"id": message["id"], "text": message["text"]}}
    return _change(conversation, do, read_body=_reply_text)


def _end(conversation: str, state: str, action: str):
    def do(actor, queue, assistant):
        before = queue.get(conversation)
        queue.end(conversation, actor.id, state, may_end_others=actor.admin)
        if before is not None and before.open:
            assistant.run(append_events(assistant.agent, conversation, resume_events()))
        _audit().record(actor.id, action, conversation, {"from": before.state if before else None})
    return _change(conversation, do)


@bp.post("/admin/handoff/api/conversations/<conversation>/return")
def api_return(conversation: str):
    return _end(conversation, RETURNED, "handoff.return")


@bp.post("/admin/handoff/api/conversations/<conversation>/close")
def api_close(conversation: str):
    return _end(conversation, CLOSED, "handoff.close")


@bp.get("/admin/handoff/api/audit")
def api_audit():
    actor, refused = _api_actor()
    if refused:
        return refused
    if not actor.admin:
        return json_error(403, "admins_only", "the audit log is for admins")
    entries = [e for e in _audit().recent(200) if e["action"].startswith("handoff.")]
    return current_app.response_class(json.dumps({"entries": entries}, ensure_ascii=False),
                                      mimetype="application/json")
