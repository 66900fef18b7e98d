"""The API contract (webhook/openapi.yaml, served at /api/openapi.json): real responses of the
real app, to good and bad requests, match the documented status, media type, headers and
JSON schema; every route of an app with live hand-off and all three chat apps on is described
(static files and browser pages excepted, by name) and every described operation exists."""
from __future__ import annotations

import dataclasses
import re
import uuid

import pytest
from channel_support import (ADMIN_HEADERS, MESSENGER_VERIFY, TELEGRAM_SECRET,  # noqa: F401
                             channel_app, fake, zalo_event, zalo_headers)
from jsonschema import Draft202012Validator, RefResolver

pytestmark = pytest.mark.slow

# The only routes the document leaves out: files and pages for browsers, not an API.
NOT_API = {
    "/": "the demo portal page with the widget (HTML)",
    "/favicon.ico": "an icon file",
    "/static/{filename}": "static files (widget scripts, styles, images)",
    "/widget.js": "the widget's script for portals",
    "/widget.css": "the widget's style sheet for portals",
}
LLTP_QUESTION = "Làm lý lịch tư pháp trên VNeID thế nào?"


@pytest.fixture(scope="module")
def document(app):
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


@pytest.fixture(scope="module")
def contract(document):
    return Contract(document)


class Contract:
    def __init__(self, document: dict):
        self.document = document
        self.resolver = RefResolver.from_schema(document)

    def deref(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            node = self.resolver.resolve(node["$ref"])[1]
        return node

    def schema_errors(self, instance, schema: dict) -> list[str]:
        validator = Draft202012Validator(schema, resolver=self.resolver)
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(instance)]

    def check_request(self, path: str, method: str, body) -> None:
        spec = self.deref(self.document["paths"][path][method]["requestBody"])
        schema = spec["content"]["application/json"]["schema"]
        assert not self.schema_errors(body, schema), self.schema_errors(body, schema)

    def check(self, path: str, method: str, response) -> None:
        operation = self.document["paths"][path][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {path} answered undocumented {status}"
        spec = self.deref(operation["responses"][status])
        for name, header in spec.get("headers", {}).items():
            assert name in response.headers, f"{method} {path} {status}: no {name} header"
            pattern = self.deref(header)["schema"].get("pattern")
            if pattern:
                assert re.fullmatch(pattern.strip("^$"), response.headers[name]), response.headers[name]
        content = spec.get("content")
        if not content:
            if 300 <= response.status_code < 400:  # Flask's redirect carries a tiny HTML page
                assert response.headers.get("Location"), f"{method} {path} {status}: no Location"
            else:
                assert not response.get_data(), f"{method} {path} {status}: body not documented"
            return
        assert response.mimetype in content, f"{method} {path} {status}: {response.mimetype}"
        if response.mimetype == "application/json":
            errors = self.schema_errors(response.get_json(), content["application/json"]["schema"])
            assert not errors, f"{method} {path} {status}: {errors}"


def new_sender() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def make_client(assistant, settings):
    from webhook.app import create_app

    def make(assistant_=assistant, **changes):
        app = create_app(assistant=assistant_, settings=dataclasses.replace(settings, **changes),
                         start=False)
        return app.test_client()
    return make


def bearer(settings) -> dict:
    return {"Authorization": f"Bearer {settings.admin_token}"}


# ---------------------------------------------------------------- the document itself
def test_document_is_openapi_3_1_with_valid_schemas_and_resolvable_refs(document, contract):
    assert document["openapi"].startswith("3.1")
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)
    for ref in refs(document):
        assert contract.resolver.resolve(ref)[1] is not None, ref
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)), "operationIds must be unique"


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_every_route_is_described_and_every_described_operation_exists(channel_app, document):
    """The app of tests/channel_support.py: Zalo, Messenger and Telegram configured (their
    routes exist only then), hand-off and privacy endpoints always registered."""
    routes = {}
    for rule in channel_app.url_map.iter_rules():
        methods = set(rule.methods) - {"HEAD"}
        if getattr(rule, "provide_automatic_options", True):
            methods.discard("OPTIONS")  # Flask's automatic answer, not a route of ours
        routes.setdefault(openapi_path(rule.rule), set()).update(m.lower() for m in methods)
    for needed in ("/api/chat", "/api/handoff/updates", "/admin/handoff/api/queue",
                   "/admin/privacy/export", "/api/conversation/delete", "/webhooks/zalo/webhook",
                   "/webhooks/facebook/webhook", "/webhooks/telegram/webhook", "/admin/channels/retry"):
        assert needed in routes, f"the test app has no {needed}: is every feature on?"
    assert set(NOT_API) <= set(routes), set(NOT_API) - set(routes)
    undescribed = {f"{method.upper()} {path}" for path, methods in routes.items() if path not in NOT_API
                   for method in methods if method not in document["paths"].get(path, {})}
    assert not undescribed, f"routes missing from webhook/openapi.yaml: {sorted(undescribed)}"
    for path, item in document["paths"].items():
        assert path in routes, f"{path} is described but no route serves it"
        assert set(item) <= routes[path], (path, set(item) - routes[path])
        assert path not in NOT_API, path


# ---------------------------------------------------------------- real responses
def test_chat_answers_and_refusals_match_the_contract(client, contract, make_client):
    good = {"sender": new_sender(), "message": LLTP_QUESTION}
    contract.check_request("/api/chat", "post", good)
    contract.check("/api/chat", "POST", client.post("/api/chat", json=good))
    contract.check("/webhooks/rest/webhook", "POST",
                   client.post("/webhooks/rest/webhook", json={"sender": new_sender(),
                                                               "message": "xin chào"}))
    for body in (b"", b"{not json", b'{"sender": "a"}', b'{"sender": "a b", "message": "x"}',
                 ('{"sender": "a", "message": "' + "a" * 1001 + '"}').encode()):
        for path in ("/api/chat", "/webhooks/rest/webhook"):
            response = client.post(path, data=body, content_type="application/json")
            assert response.status_code == 400
            contract.check(path, "POST", response)
    too_big = client.post("/api/chat", data=b"x" * (1024 * 1024), content_type="application/json")
    assert too_big.status_code == 413
    contract.check("/api/chat", "POST", too_big)
    other_site = client.post("/api/chat", json=good, headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    contract.check("/api/chat", "POST", other_site)
    preflight = client.options("/api/chat")
    assert preflight.status_code == 204
    contract.check("/api/chat", "OPTIONS", preflight)

    limited = make_client(rate_limit="1/60")
    addr = {"REMOTE_ADDR": "10.18.3.1"}
    statuses = []
    for _ in range(2):
        response = limited.post("/api/chat", json={"sender": new_sender(), "message": "xin chào"},
                                environ_base=addr)
        statuses.append(response.status_code)
        contract.check("/api/chat", "POST", response)
    assert statuses == [200, 429]

    loading = make_client(assistant_=None)
    response = loading.post("/api/chat", json=good)
    assert response.status_code == 503
    contract.check("/api/chat", "POST", response)


def test_probes_match_the_contract(client, contract, make_client, settings):
    for path in ("/healthz", "/readyz"):
        ready = client.get(path)
        assert ready.status_code == 200
        contract.check(path, "GET", ready)
        loading = make_client(assistant_=None).get(path)
        assert loading.status_code == 503
        contract.check(path, "GET", loading)
    metrics = client.get("/metrics", headers=bearer(settings))
    assert metrics.status_code == 200 and b"trolyao_http_requests_total" in metrics.data
    contract.check("/metrics", "GET", metrics)
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.18.3.2"})
    assert refused.status_code == 401
    contract.check("/metrics", "GET", refused)
    disabled = make_client(admin_token="", metrics_token="").get("/metrics")
    assert disabled.status_code == 404
    contract.check("/metrics", "GET", disabled)
    contract.check("/api/openapi.json", "GET", client.get("/api/openapi.json"))


def test_admin_endpoints_match_the_contract(client, contract, settings):
    stranger = {"REMOTE_ADDR": "10.18.3.3"}
    for path, method in (("/admin/status", "GET"), ("/admin/reindex", "POST"),
                         ("/admin/report", "GET"), ("/admin/report.csv", "GET"), ("/admin", "GET")):
        response = client.open(path, method=method, environ_base=stranger)
        assert response.status_code == 401, path
        contract.check(path, method, response)
    for path in ("/admin/status", "/admin/report", "/admin/report.csv", "/admin"):
        response = client.get(path, headers=bearer(settings))
        assert response.status_code == 200, path
        contract.check(path, "GET", response)
    chart = client.get("/admin/charts/no-such-chart.svg", headers=bearer(settings))
    assert chart.status_code == 404
    contract.check("/admin/charts/{name}.svg", "GET", chart)


# ---------------------------------------------------------------- live hand-off
def test_handoff_widget_and_staff_endpoints_match_the_contract(channel_app, contract, live_handoff,
                                                               settings):
    citizen = channel_app.test_client()
    for query in ({"sender": "a b"}, {"sender": "", "after": "0"}, {"sender": "web-1", "after": "x"}):
        bad = citizen.get("/api/handoff/updates", query_string=query)
        assert bad.status_code == 400 and bad.get_json()["error"]["code"] in ("invalid_sender",
                                                                             "invalid_after")
        contract.check("/api/handoff/updates", "GET", bad)
    sender = f"web-{uuid.uuid4().hex[:24]}"
    never = citizen.get("/api/handoff/updates", query_string={"sender": sender})
    assert never.status_code == 200 and never.get_json()["state"] == "none"
    contract.check("/api/handoff/updates", "GET", never)
    asked = citizen.post("/api/chat", json={"sender": sender, "message": "cho tôi gặp cán bộ"})
    assert asked.status_code == 200 and asked.get_json().get("handoff") is True, asked.get_json()
    contract.check("/api/chat", "POST", asked)
    waiting = citizen.get("/api/handoff/updates", query_string={"sender": sender, "after": "0"})
    assert waiting.get_json()["state"] == "waiting" and waiting.get_json()["position"] >= 1
    contract.check("/api/handoff/updates", "GET", waiting)
    conversation = channel_app.extensions["assistant"].conversation_id(sender)
    base = f"/admin/handoff/api/conversations/{conversation}"
    item = "/admin/handoff/api/conversations/{conversation}"

    stranger = channel_app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "10.18.3.4"  # its wrong password is counted apart
    for path, method, status in (("/admin/handoff", "GET", 401),
                                 ("/admin/handoff/api/queue", "GET", 401),
                                 (f"{base}/take", "POST", 401)):
        response = stranger.open(path, method=method)
        assert response.status_code == status, path
        contract.check(path.replace(base, item), method, response)
    wrong = stranger.post("/admin/handoff/login", data={"login": "lan", "password": "doan-bua"})
    assert wrong.status_code == 401 and wrong.mimetype == "text/html"
    contract.check("/admin/handoff/login", "POST", wrong)

    lan = channel_app.test_client()
    signed = lan.post("/admin/handoff/login", data={"login": "lan", "password": live_handoff["lan"][1]})
    assert signed.status_code == 303
    contract.check("/admin/handoff/login", "POST", signed)
    page = lan.get("/admin/handoff")
    assert page.status_code == 200
    contract.check("/admin/handoff", "GET", page)
    csrf = {"X-CSRF-Token": re.search(r'name="csrf-token" content="([^"]+)"',
                                      page.get_data(as_text=True)).group(1)}
    queue = lan.get("/admin/handoff/api/queue")
    assert conversation in [t["conversation"] for t in queue.get_json()["waiting"]]
    contract.check("/admin/handoff/api/queue", "GET", queue)
    transcript = lan.get(base)
    assert transcript.get_json()["transcript"][0]["who"] == "citizen"
    contract.check(item, "GET", transcript)
    unknown = lan.get("/admin/handoff/api/conversations/u-never-handed-off")
    assert unknown.status_code == 404
    contract.check(item, "GET", unknown)

    forged = lan.post(f"{base}/take")
    assert forged.status_code == 403 and forged.get_json()["error"]["code"] == "csrf"
    contract.check(f"{item}/take", "POST", forged)
    taken = lan.post(f"{base}/take", headers=csrf)
    assert taken.status_code == 200 and taken.get_json()["ticket"]["mine"] is True
    contract.check(f"{item}/take", "POST", taken)
    again = lan.post(f"{base}/take", headers=ADMIN_HEADERS)  # the admin, by bearer token
    assert again.status_code == 409 and "Nguyễn Thị Lan" in again.get_json()["error"]["message"]
    contract.check(f"{item}/take", "POST", again)
    empty = lan.post(f"{base}/reply", json={"text": "  "}, headers=csrf)
    assert empty.status_code == 400
    contract.check(f"{item}/reply", "POST", empty)
    reply_body = {"text": "Chào anh/chị, tôi là cán bộ hỗ trợ."}
    contract.check_request(f"{item}/reply", "post", reply_body)
    replied = lan.post(f"{base}/reply", json=reply_body, headers=csrf)
    assert replied.status_code == 200 and replied.get_json()["message"]["text"] == reply_body["text"]
    contract.check(f"{item}/reply", "POST", replied)
    news = citizen.get("/api/handoff/updates", query_string={"sender": sender, "after": "0"})
    assert news.get_json()["state"] == "taken"
    assert news.get_json()["messages"][-1]["text"] == reply_body["text"]
    contract.check("/api/handoff/updates", "GET", news)
    returned = lan.post(f"{base}/return", headers=csrf)
    assert returned.status_code == 200 and returned.get_json()["ticket"]["state"] == "returned"
    contract.check(f"{item}/return", "POST", returned)
    gone = lan.post("/admin/handoff/api/conversations/u-never-handed-off/close", headers=csrf)
    assert gone.status_code == 404
    contract.check(f"{item}/close", "POST", gone)

    staff_only = lan.get("/admin/handoff/api/audit")
    assert staff_only.status_code == 403
    contract.check("/admin/handoff/api/audit", "GET", staff_only)
    audit = lan.get("/admin/handoff/api/audit", headers=ADMIN_HEADERS)
    assert [e["action"] for e in audit.get_json()["entries"] if e["subject"] == conversation][:3] == [
        "handoff.return", "handoff.reply", "handoff.take"]
    contract.check("/admin/handoff/api/audit", "GET", audit)
    expired = lan.post("/admin/handoff/logout")
    assert expired.status_code == 403
    contract.check("/admin/handoff/logout", "POST", expired)
    out = lan.post("/admin/handoff/logout", data={"csrf": csrf["X-CSRF-Token"]})
    assert out.status_code == 303 and lan.get("/admin/handoff/api/queue").status_code == 401
    contract.check("/admin/handoff/logout", "POST", out)


# ---------------------------------------------------------------- personal data
def test_privacy_endpoints_match_the_contract(channel_app, contract, settings):
    web = channel_app.test_client()
    stranger = {"REMOTE_ADDR": "10.18.3.5"}
    for path, method in (("/admin/privacy/export?sender=x", "GET"), ("/admin/privacy/delete", "POST"),
                         ("/admin/audit", "GET")):
        refused = web.open(path, method=method, environ_base=stranger)
        assert refused.status_code == 401 and refused.mimetype == "text/html", path
        contract.check(path.split("?")[0], method, refused)
    for bad in ("", "a b", "x" * 129, "<script>"):
        response = web.get("/admin/privacy/export", query_string={"sender": bad}, headers=ADMIN_HEADERS)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_sender"
        contract.check("/admin/privacy/export", "GET", response)

    sender = f"web-{uuid.uuid4().hex[:24]}"
    assert web.post("/api/chat", json={"sender": sender, "message": "xin chào"}).status_code == 200
    export = web.get("/admin/privacy/export", query_string={"sender": sender}, headers=ADMIN_HEADERS)
    assert export.status_code == 200 and export.get_json()["messages"][0]["text"] == "xin chào"
    contract.check("/admin/privacy/export", "GET", export)
    bad_delete = web.post("/admin/privacy/delete", json={"sender": 5}, headers=ADMIN_HEADERS)
    assert bad_delete.status_code == 400
    contract.check("/admin/privacy/delete", "POST", bad_delete)

    admin = channel_app.test_client()
    assert admin.post("/admin/login", data={"token": settings.admin_token}).status_code == 303
    forged = admin.post("/admin/privacy/delete", data={"sender": sender})
    assert forged.status_code == 403 and forged.get_json()["error"]["code"] == "csrf"
    contract.check("/admin/privacy/delete", "POST", forged)
    contract.check_request("/admin/privacy/delete", "post", {"sender": sender})
    deleted = web.post("/admin/privacy/delete", json={"sender": sender}, headers=ADMIN_HEADERS)
    assert deleted.status_code == 200 and deleted.get_json()["deleted"]["events"] > 0
    contract.check("/admin/privacy/delete", "POST", deleted)
    audit = web.get("/admin/audit", query_string={"action": "privacy.delete", "limit": "5"},
                    headers=ADMIN_HEADERS)
    assert audit.get_json()["entries"][0]["subject"] == deleted.get_json()["conversation_id"]
    contract.check("/admin/audit", "GET", audit)
    bad_limit = web.get("/admin/audit?limit=many", headers=ADMIN_HEADERS)
    assert bad_limit.status_code == 400
    contract.check("/admin/audit", "GET", bad_limit)

    # The citizen's own delete: only the widget's random ids, only from allowed pages.
    for body in ({"sender": "0912345678"}, {"sender": None}, []):
        refused = web.post("/api/conversation/delete", json=body)
        assert refused.status_code == 400 and "cuộc trò chuyện" in refused.get_json()["error"]["message"]
        contract.check("/api/conversation/delete", "POST", refused)
    mine = {"sender": f"web-{uuid.uuid4().hex[:24]}"}
    assert web.post("/api/chat", json={**mine, "message": "xin chào"}).status_code == 200
    contract.check_request("/api/conversation/delete", "post", mine)
    other_site = web.post("/api/conversation/delete", json=mine, headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    contract.check("/api/conversation/delete", "POST", other_site)
    done = web.post("/api/conversation/delete", json=mine)
    assert done.status_code == 200 and done.get_json()["events"] > 0
    contract.check("/api/conversation/delete", "POST", done)
    preflight = web.options("/api/conversation/delete")
    assert preflight.status_code == 204
    contract.check("/api/conversation/delete", "OPTIONS", preflight)


# ---------------------------------------------------------------- chat apps
def test_chat_app_webhooks_and_channel_admin_match_the_contract(channel_app, contract):
    web = channel_app.test_client()
    alive = web.get("/webhooks/zalo/webhook")
    assert alive.status_code == 200 and alive.get_json()["channel"] == "zalo"
    contract.check("/webhooks/zalo/webhook", "GET", alive)
    event = zalo_event("2512532113487226471", "xin chào", f"m-{uuid.uuid4().hex}")
    for headers, code in (({"Content-Type": "application/json"}, "missing_signature"),
                          (zalo_headers(event, secret="not-the-oa-secret"), "bad_signature")):
        refused = web.post("/webhooks/zalo/webhook", data=event, headers=headers)
        assert refused.status_code == 401 and refused.get_json()["error"]["code"] == code
        contract.check("/webhooks/zalo/webhook", "POST", refused)
    broken = web.post("/webhooks/zalo/webhook", data=b"{not json",
                      headers={"X-ZEvent-Signature": "mac=00", "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.get_json()["error"]["code"] == "invalid_event"
    contract.check("/webhooks/zalo/webhook", "POST", broken)

    verify = {"hub.mode": "subscribe", "hub.verify_token": MESSENGER_VERIFY, "hub.challenge": "271828"}
    verified = web.get("/webhooks/facebook/webhook", query_string=verify)
    assert verified.status_code == 200 and verified.get_data(as_text=True) == "271828"
    contract.check("/webhooks/facebook/webhook", "GET", verified)
    wrong = web.get("/webhooks/facebook/webhook", query_string={**verify, "hub.verify_token": "x"})
    assert wrong.status_code == 403
    contract.check("/webhooks/facebook/webhook", "GET", wrong)
    unsigned = web.post("/webhooks/facebook/webhook", json={"object": "page", "entry": []},
                        headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert unsigned.status_code == 401 and unsigned.get_json()["error"]["code"] == "bad_signature"
    contract.check("/webhooks/facebook/webhook", "POST", unsigned)

    secret = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    for headers, body, status in (({"X-Telegram-Bot-Api-Secret-Token": "nope"}, {"update_id": 1}, 401),
                                  (secret, ["not", "an", "update"], 400),
                                  (secret, {"update_id": 90417}, 200)):  # nothing to answer
        response = web.post("/webhooks/telegram/webhook", json=body, headers=headers)
        assert response.status_code == status, response.get_data(as_text=True)
        contract.check("/webhooks/telegram/webhook", "POST", response)
    assert response.get_json() == {"status": "ignored"}

    for path, method in (("/admin/channels", "GET"), ("/admin/channels/retry", "POST")):
        refused = web.open(path, method=method, environ_base={"REMOTE_ADDR": "10.18.3.6"})
        assert refused.status_code == 401
        contract.check(path, method, refused)
        answered = web.open(path, method=method, headers=ADMIN_HEADERS)
        assert answered.status_code == 200, path
        contract.check(path, method, answered)
    assert web.get("/admin/channels", headers=ADMIN_HEADERS).get_json()["channels"] == [
        "zalo", "messenger", "telegram"]
