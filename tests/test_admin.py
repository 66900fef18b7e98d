"""The admin page over HTTP (Flask test client, real assistant, real stores): auth, CSRF,
charts, CSV, "done" links, and the JSON endpoints scripts use."""
from __future__ import annotations

import csv
import io
import re
import uuid

import pytest

pytestmark = pytest.mark.slow


def bearer(settings) -> dict:
    return {"Authorization": f"Bearer {settings.admin_token}"}


def signed_in(app, settings):
    client = app.test_client()
    response = client.post("/admin/login", data={"token": settings.admin_token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin")
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def clear_report_cache(app) -> None:
    cache = app.extensions.get("admin_report_cache")
    if cache is not None:
        cache.clear()


def test_without_token_the_page_is_401_with_a_login_form(client):
    response = client.get("/admin")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    html = response.get_data(as_text=True)
    assert 'name="token"' in html and "Đăng nhập" in html
    for path in ("/admin/charts/per-day.svg", "/admin/report.csv", "/admin/report"):
        assert client.get(path).status_code == 401, path
    assert client.get("/admin/status").status_code == 401


def test_wrong_token_is_refused(client):
    response = client.post("/admin/login", data={"token": "doan-bua"})
    assert response.status_code == 401
    assert "Mã truy cập không đúng" in response.get_data(as_text=True)
    assert client.get("/admin").status_code == 401


def test_signed_in_page_has_charts_csrf_and_passes_the_csp(app, settings):
    client = signed_in(app, settings)
    response = client.get("/admin")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "<script" not in html and "style=" not in html and "<style" not in html
    for name in ("per-day", "answered", "satisfaction", "services"):
        assert f'src="/admin/charts/{name}.svg' in html
        chart = client.get(f"/admin/charts/{name}.svg")
        assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
        assert chart.data.lstrip().startswith(b"<?xml") and b"<svg" in chart.data
    assert client.get("/admin/charts/khong-co.svg").status_code == 404
    assert len(csrf_of(html)) > 20


def test_session_cookie_is_not_readable_by_scripts_nor_sent_cross_site(app, settings):
    response = app.test_client().post("/admin/login", data={"token": settings.admin_token})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    stored = app.session_interface.get_signing_serializer(app).loads(value)
    assert settings.admin_token not in repr(stored), "the cookie proves the login, it is not the token"
    assert set(stored) == {"admin", "csrf", "sid"}  # sid: the server-side session (logout ends it)


def test_bearer_header_works_for_scripts(client, settings):
    assert client.get("/admin", headers=bearer(settings)).status_code == 200
    status = client.get("/admin/status", headers=bearer(settings))
    assert status.status_code == 200 and status.get_json()["ok"] is True
    report = client.get("/admin/report", headers=bearer(settings)).get_json()
    assert report["summary"]["satisfaction_target"] == 0.9
    assert len(report["summary"]["questions_per_day"]) == 30


def test_done_needs_the_csrf_token_then_closes_the_question(app, assistant, settings):
    question = f"xin giấy phép nuôi chim cảnh ở đâu {uuid.uuid4().hex[:5]}"
    reply = assistant.chat(f"citizen-{uuid.uuid4().hex[:8]}", question)
    assert reply.fallback, reply.messages
    clear_report_cache(app)
    client = signed_in(app, settings)
    html = client.get("/admin").get_data(as_text=True)
    assert question in html

    forged = client.post("/admin/questions/done", data={"question": question})
    assert forged.status_code == 403
    done = client.post("/admin/questions/done", data={"question": question, "csrf": csrf_of(html)})
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin#todo")
    page = client.get("/admin").get_data(as_text=True)
    assert "Đã đánh dấu xong" in page
    assert f'value="{question}"' not in page, "a closed question leaves the to-do table"


def test_csv_export_opens_in_a_spreadsheet(app, assistant, settings):
    question = f"thủ tục xin visa đi Nhật {uuid.uuid4().hex[:5]}"
    assert assistant.chat(f"citizen-{uuid.uuid4().hex[:8]}", question).fallback
    clear_report_cache(app)
    response = signed_in(app, settings).get("/admin/report.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff"), "BOM so spreadsheet programs read UTF-8"
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert any(r["question"] == question and r["fallback"] == "1" for r in rows)


def test_reindex_button_keeps_serving_and_reports_the_version(app, assistant, settings):
    client = signed_in(app, settings)
    html = client.get("/admin").get_data(as_text=True)
    assert "Cập nhật chỉ mục ngay" in html
    assert client.post("/admin/reindex-now").status_code == 403  # no CSRF token
    response = client.post("/admin/reindex-now", data={"csrf": csrf_of(html)})
    assert response.status_code == 303 and response.headers["Location"].endswith("#index")
    page = client.get("/admin").get_data(as_text=True)
    assert f"Đã cập nhật chỉ mục: đang dùng phiên bản {assistant.knowledge.version}" in page
    assert assistant.chat(f"t-{uuid.uuid4().hex[:8]}", "Làm lý lịch tư pháp trên VNeID thế nào?").sources


def test_logout_ends_the_session(app, settings):
    client = signed_in(app, settings)
    html = client.get("/admin").get_data(as_text=True)
    assert client.post("/admin/logout", data={"csrf": csrf_of(html)}).status_code == 303
    assert client.get("/admin").status_code == 401


def test_unreadable_conversation_store_is_shown_not_a_crash(settings):
    from dataclasses import replace

    from webhook.app import create_app

    broken = replace(settings, tracker_store="redis://:s3cret-pw@127.0.0.1:1/0")
    client = create_app(assistant=None, settings=broken, start=False).test_client()
    response = client.get("/admin", headers=bearer(settings))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Không đọc được kho hội thoại (redis://127.0.0.1:1/0" in html
    assert "s3cret-pw" not in html
    assert "Chỉ mục tài liệu" in html, "the index panel still works"


def test_the_page_lists_documents_due_for_review(app, settings, monkeypatch):
    client = signed_in(app, settings)
    monkeypatch.setenv("TROLYAO_REVIEW_MAX_AGE_DAYS", "36500")
    html = client.get("/admin").get_data(as_text=True)
    assert "Tài liệu cần rà soát lại" in html and 'id="review-none"' in html
    monkeypatch.setenv("TROLYAO_REVIEW_MAX_AGE_DAYS", "-1")
    html = client.get("/admin").get_data(as_text=True)
    assert "TROLYAO_REVIEW_MAX_AGE_DAYS must be a whole number" in html  # said, not a crash

    import datetime as dt
    from types import SimpleNamespace

    import knowledge.status as status

    class FiveYearsOn(dt.date):
        @classmethod
        def today(cls):
            return dt.date.today().replace(year=dt.date.today().year + 5)

    monkeypatch.setattr(status, "dt", SimpleNamespace(date=FiveYearsOn, datetime=dt.datetime))
    monkeypatch.setenv("TROLYAO_REVIEW_MAX_AGE_DAYS", "180")
    html = client.get("/admin").get_data(as_text=True)
    table = html.split('id="review-stale"', 1)[1].split("</table>", 1)[0]
    assert "procedure/tam-tru" in table and "Đăng ký tạm trú trực tuyến" in table
