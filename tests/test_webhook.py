"""The hardened web layer: bad input, rate limit, CORS, security headers, admin auth.

Complements test_api_contract.py (the basic bad-request table lives there). Apps with other
settings are built by the real factory around the one real Assistant.
"""
from __future__ import annotations

import io
import json
import re
import time
import uuid

import pytest

PORTAL = "https://dichvucong.hanoi.gov.vn"
QUESTION = "Đăng ký tạm trú online thế nào?"


def new_sender() -> str:
    return f"w-{uuid.uuid4().hex[:12]}"


def error_of(response) -> dict:
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    return response.get_json()["error"]


# ------------------------------------------------------------------ input validation
@pytest.mark.parametrize("path", ["/api/chat", "/webhooks/rest/webhook"])
@pytest.mark.parametrize("body, code", [
    ('{"sender": "a", "message": "\\ud800 xin chao"}', "invalid_message"),   # lone surrogate
    ('{"sender": "a", "message": "xin\\u0000chao"}', "invalid_message"),     # NUL
    ('{"sender": "a", "message": true}', "invalid_message"),
    ('{"sender": "a", "message": null}', "missing_message"),
    ('{"sender": "a", "message": {"text": "hi"}}', "invalid_message"),
    ('{"sender": "' + "s" * 129 + '", "message": "hi"}', "invalid_sender"),
    ('{"sender": "", "message": "hi"}', "invalid_sender"),
    ('{"sender": "a", "message": "\\n\\t "}', "empty_message"),
    ("null", "invalid_json"),
    ('"just a string"', "invalid_json"),
    ("[" * 20000 + "]" * 20000, "invalid_json"),  # nested too deep for the parser
])
def test_bad_bodies_get_400_with_a_code_on_both_endpoints(client, path, body, code):
    response = client.post(path, data=body.encode("utf-8"), content_type="application/json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code and error["message"]


@pytest.mark.parametrize("path", ["/api/chat", "/webhooks/rest/webhook"])
def test_message_over_the_documented_limit_is_refused_on_both_endpoints(client, settings, path):
    message = "á" * (settings.max_message_chars + 1)  # characters, not bytes
    response = client.post(path, json={"sender": "a", "message": message})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "message_too_long"
    assert f"{settings.max_message_chars} characters" in error["message"]


def test_message_at_the_limit_is_answered(client, settings):
    message = ("thủ tục tạm trú " * 100)[:settings.max_message_chars]
    response = client.post("/api/chat", json={"sender": new_sender(), "message": message})
    assert response.status_code == 200
    assert response.get_json()["messages"]


def test_utf8_bom_and_any_content_type_are_accepted(client):
    body = "\ufeff" + json.dumps({"sender": new_sender(), "message": QUESTION}, ensure_ascii=False)
    response = client.post("/api/chat", data=body.encode("utf-8"), content_type="text/plain")
    assert response.status_code == 200
    assert response.get_json()["sources"][0]["service"] == "tam-tru"


def test_latin1_body_is_refused_as_invalid_utf8(client):
    body = '{"sender": "a", "message": "thu tuc cư trú"}'.encode("utf-8").replace("ư".encode(), b"\xf9")
    response = client.post("/api/chat", data=body, content_type="application/json; charset=latin-1")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_utf8"


def test_body_over_64_kib_gets_413_naming_the_limit(client):
    response = client.post("/api/chat", data=b"{" + b" " * (65 * 1024) + b"}",
                           content_type="application/json")
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "body_too_large" and "64 KiB" in error["message"]


@pytest.mark.parametrize("size, status", [(80 * 1024, 413), (64 * 1024, 413), (1024, 400)])
def test_streamed_body_without_length_is_limited_too(client, size, status):
    """Chunked uploads have no Content-Length to check up front (gunicorn and werkzeug mark
    such streams `wsgi.input_terminated`): the limit applies while reading."""
    body = b'{"sender": "a", "message": "' + b"x" * size + b'"}'
    response = client.post("/api/chat", input_stream=io.BytesIO(body), content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == status
    assert error_of(response)["code"] == ("body_too_large" if status == 413 else "message_too_long")


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/chat", 405), ("PUT", "/webhooks/rest/webhook", 405), ("GET", "/api/nothing", 404)])
def test_wrong_method_or_path_gets_a_json_error(client, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert error_of(response)["message"]


# ------------------------------------------------------------------ rate limit
def test_rate_limit_per_ip_returns_429_with_retry_after(make_client):
    client = make_client(rate_limit="3/60")
    for _ in range(3):  # bad requests count too: a flood of garbage is limited like any other
        assert client.post("/api/chat", json={"sender": "a"}).status_code == 400
    limited = client.post("/api/chat", json={"sender": new_sender(), "message": QUESTION})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    error = error_of(limited)
    assert error["code"] == "too_many_requests"
    assert f"{limited.headers['Retry-After']} giây" in error["message"]

    other_ip = client.post("/api/chat", json={"sender": new_sender(), "message": QUESTION},
                           environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other_ip.status_code == 200, "another citizen must not be limited"
    assert client.get("/healthz").status_code == 200, "health checks are never limited"


def test_rate_limit_window_slides(make_client):
    client = make_client(rate_limit="2/1")
    assert [client.post("/api/chat", json={}).status_code for _ in range(3)] == [400, 400, 429]
    time.sleep(1.1)
    assert client.post("/api/chat", json={}).status_code == 400


def test_behind_a_trusted_proxy_each_citizen_has_their_own_limit(make_client):
    client = make_client(rate_limit="1/60", trusted_proxies=1)
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    first = client.post("/api/chat", json={}, environ_base=proxy, headers={"X-Forwarded-For": "203.0.113.7"})
    again = client.post("/api/chat", json={}, environ_base=proxy, headers={"X-Forwarded-For": "203.0.113.7"})
    other = client.post("/api/chat", json={}, environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.9"})
    assert (first.status_code, again.status_code, other.status_code) == (400, 429, 400)


def test_bad_rate_limit_setting_stops_start_up_with_its_name():
    from webhook.security import RateLimiter

    with pytest.raises(SystemExit, match="TROLYAO_RATE_LIMIT"):
        RateLimiter.from_spec("sixty per minute")


# ------------------------------------------------------------------ CORS
def test_preflight_from_a_configured_portal_is_allowed(make_client):
    client = make_client(cors_origins=[PORTAL], rate_limit="1/60")
    for _ in range(3):  # preflights are not counted by the rate limit
        response = client.options("/api/chat", headers={
            "Origin": PORTAL, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    assert "Origin" in response.headers["Vary"]


def test_configured_portal_can_chat_and_other_sites_cannot(make_client):
    client = make_client(cors_origins=[PORTAL])
    body = {"sender": new_sender(), "message": QUESTION}
    allowed = client.post("/api/chat", json=body, headers={"Origin": PORTAL})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == PORTAL
    assert allowed.get_json()["sources"]

    evil = "https://evil.example"
    preflight = client.options("/api/chat", headers={"Origin": evil, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    refused = client.post("/api/chat", data=json.dumps(body), content_type="text/plain",
                          headers={"Origin": evil})
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert error_of(refused)["code"] == "origin_not_allowed"


def test_own_pages_and_non_browser_clients_need_no_cors_configuration(make_client):
    client = make_client(cors_origins=[])
    body = {"sender": new_sender(), "message": "xin chào"}
    same_origin = client.post("/api/chat", json=body, headers={"Origin": "http://localhost"})
    assert same_origin.status_code == 200
    assert "Access-Control-Allow-Origin" not in same_origin.headers
    assert client.post("/api/chat", json=body).status_code == 200  # curl: no Origin
    assert client.post("/api/chat", json=body, headers={"Origin": PORTAL}).status_code == 403


def test_widget_files_are_embeddable_from_any_site(client):
    for path in ("/widget.js", "/widget.css"):
        response = client.get(path, headers={"Origin": "https://any-portal.example"})
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


# ------------------------------------------------------------------ security headers
def test_widget_page_has_a_strict_csp_and_no_inline_script(client):
    response = client.get("/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    for directive in ("script-src 'self'", "style-src 'self'", "connect-src 'self'",
                      "object-src 'none'", "frame-ancestors 'self'"):
        assert directive in csp
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts), "inline scripts would be blocked by the CSP"
    assert "style=" not in html and "<style" not in html


def test_frame_ancestors_follow_the_configuration(make_client):
    client = make_client(frame_ancestors=["'self'", PORTAL])
    response = client.get("/")
    assert f"frame-ancestors 'self' {PORTAL}" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers  # it cannot express an allow-list


def test_api_answers_are_not_cached_or_sniffed(client):
    response = client.post("/api/chat", json={"sender": new_sender(), "message": "xin chào"})
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


# ------------------------------------------------------------------ admin auth
def test_admin_endpoints_need_the_bearer_token(client, settings):
    assert client.get("/admin/status").status_code == 401
    wrong = client.get("/admin/status", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    basic = client.get("/admin/status", headers={"Authorization": f"Basic {settings.admin_token}"})
    assert basic.status_code == 401
    ok = client.get("/admin/status", headers={"Authorization": f"Bearer {settings.admin_token}"})
    assert ok.status_code == 200 and ok.is_json


def test_admin_endpoints_are_disabled_without_a_token(make_client):
    client = make_client(admin_token="")
    for header in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
        response = client.get("/admin/status", headers=header)
        assert response.status_code == 404
        assert "TROLYAO_ADMIN_TOKEN" in error_of(response)["message"]
    assert client.post("/admin/reindex", headers={"Authorization": "Bearer anything"}).status_code == 404
