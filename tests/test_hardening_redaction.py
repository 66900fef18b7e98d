"""Issue 13: personal data that slipped through redaction, and raw sender ids.

Phones written 84…, "0912 - 345 - 677" or in full-width digits, e-mails, bank account and
passport numbers are masked before anything is parsed, logged or stored; the store keeps a
keyed hash of the sender id (the same id still continues its conversation) and replies never
echo a sender id that looks like personal data."""
from __future__ import annotations

import logging
import os
import stat
import uuid
from pathlib import Path

import pytest

from trolyao.core.redaction import (ACCOUNT_MASK, EMAIL_MASK, ID_MASK, PASSPORT_MASK, PHONE_MASK,
                               redact)
from trolyao.core.senders import SenderIds, key_file, load_or_create_key, sender_key


@pytest.mark.parametrize("text, expected", [
    ("gọi 84912345673 nhé", f"gọi {PHONE_MASK} nhé"),
    ("+84 912 345 673", PHONE_MASK),
    ("sđt 0912 - 345 - 677", f"sđt {PHONE_MASK}"),
    ("sđt ０９１２３４５６１２", f"sđt {PHONE_MASK}"),
    ("(024) 3825 3536", PHONE_MASK),
    ("0912–345–677", PHONE_MASK),
    ("email nguyen.van.a+dvc@gmail.com giúp tôi", f"email {EMAIL_MASK} giúp tôi"),
    ("ｎｇｕｙｅｎ＠ｇｍａｉｌ．ｃｏｍ", EMAIL_MASK),
    ("stk 0123456789012 vietcombank", f"stk {ACCOUNT_MASK} vietcombank"),
    ("số tài khoản: 1903 5555 1234 56", f"số tài khoản: {ACCOUNT_MASK}"),
    ("tk 12345678 mb bank", f"tk {ACCOUNT_MASK} mb bank"),
    ("chuyển vào 19035555123456 giúp", f"chuyển vào {ACCOUNT_MASK} giúp"),
    ("hộ chiếu C1234567 hết hạn", f"hộ chiếu {PASSPORT_MASK} hết hạn"),
    ("hộ chiếu số c 1234567", f"hộ chiếu số {PASSPORT_MASK}"),
    ("CCCD ００１２０３００４５６７", f"CCCD {ID_MASK}"),
])
def test_personal_data_is_masked_however_it_is_written(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "lệ phí 200.000 - 300.000 đồng",
    "mức phạt 100.000.000 đồng",
    "tổng đài 18001096",
    "ngày 01/07/2024, Nghị định 154/2024/NĐ-CP",
    "bằng lái B2, hạng A1",
    "Quyết định 06/QĐ-TTg năm 2022",
    "phiên bản 20261130T090442-vcf63b4",  # index version names in logs
    "u-" + "abcdefghijklmnop" * 2,  # stored sender ids in logs
])
def test_ordinary_text_is_kept(text):
    assert redact(text) == text


def test_log_records_are_redacted_of_emails_and_accounts(caplog):
    from trolyao.core.redaction import install_log_redaction

    install_log_redaction()
    logger = logging.getLogger("trolyao.test-hardening")
    with caplog.at_level(logging.INFO, logger="trolyao.test-hardening"):
        logger.warning("Failed to parse %r", '/x{"email":"a.b@gmail.com","stk":"0123456789012"}')
    assert "a.b@gmail.com" not in caplog.text and "0123456789012" not in caplog.text
    assert EMAIL_MASK in caplog.text and ACCOUNT_MASK in caplog.text


def test_rasa_warnings_go_through_the_redacting_log():
    """Rasa reports payload problems with `warnings.warn`, which writes to stderr by itself:
    the server's logging configuration routes warnings through the redacting log."""
    import subprocess
    import sys

    code = """if True:
        from trolyao.core.runtime import configure_logging
        configure_logging("INFO")
        from rasa.shared.utils.io import raise_warning
        raise_warning('Failed to parse arguments in line /x{"e":"c.d@gmail.com","stk":"0123456789012"}')
    """
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    assert "Failed to parse arguments" in output
    assert "c.d@gmail.com" not in output and "0123456789012" not in output
    assert EMAIL_MASK in output


def conversation_store_bytes(settings) -> bytes:
    path = Path(settings.tracker_store[len("sqlite:///"):])
    return b"".join(f.read_bytes() for f in sorted(path.parent.glob(path.name + "*")))


def test_chats_store_and_log_none_of_it(client, app, assistant, settings, caplog):
    sender = f"redact-{uuid.uuid4().hex[:10]}"
    message = ("Tôi cần làm lại hộ chiếu C7654321, email tran.thi.b@yahoo.com, "
               "stk 0451000123456, gọi ０９８７６５４３２１ hoặc 84987654322")
    with caplog.at_level(logging.DEBUG):
        response = client.post("/api/chat", json={"sender": sender, "message": message})
    assert response.status_code == 200
    raw = ["C7654321", "tran.thi.b@yahoo.com", "0451000123456", "０９８７６５４３２１",
           "0987654321", "84987654322"]
    texts = [e["text"] for e in assistant.tracker_events(sender) if e["event"] == "user"]
    assert texts == [f"Tôi cần làm lại hộ chiếu {PASSPORT_MASK}, email {EMAIL_MASK}, "
                     f"stk {ACCOUNT_MASK}, gọi {PHONE_MASK} hoặc {PHONE_MASK}"]
    stored = conversation_store_bytes(settings)
    for value in raw:
        assert value.encode() not in stored, value
        assert value not in caplog.text, value


# ---------------------------------------------------------------- sender ids
@pytest.mark.parametrize("sender", ["0912345678", "nguyen.van.a@gmail.com", "001203004567"])
def test_personal_sender_ids_are_hashed_never_echoed_and_still_continue(client, assistant,
                                                                       settings, sender):
    sender = sender if "@" not in sender else f"{uuid.uuid4().hex[:6]}.{sender}"
    first = client.post("/api/chat", json={"sender": sender,
                                           "message": "đăng ký tạm trú online thế nào"})
    assert first.status_code == 200
    assert sender not in first.get_data(as_text=True), "the reply does not echo it"
    assert first.get_json()["sender"] == assistant.conversation_id(sender)
    second = client.post("/api/chat", json={"sender": sender, "message": "lệ phí bao nhiêu?"})
    assert second.get_json()["sources"][0]["service"] == "tam-tru", "the same conversation"
    rest = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "cảm ơn"})
    assert sender not in rest.get_data(as_text=True)
    assert sender.encode() not in conversation_store_bytes(settings)
    users = [e for e in assistant.tracker_events(sender) if e["event"] == "user"]
    assert len(users) == 3


def test_ordinary_sender_ids_are_echoed_but_stored_hashed(client, assistant, settings):
    sender = f"widget-{uuid.uuid4().hex[:12]}"
    reply = client.post("/api/chat", json={"sender": sender, "message": "xin chào"}).get_json()
    assert reply["sender"] == sender
    stored_id = assistant.conversation_id(sender)
    assert stored_id.startswith("u-") and stored_id != sender
    data = conversation_store_bytes(settings)
    assert stored_id.encode() in data and sender.encode() not in data


def test_admin_and_report_show_hashes(app, assistant, settings):
    from trolyao.staff.report import read_exchanges_from_assistant

    sender = f"0{uuid.uuid4().int % 10**9:09d}"  # a phone number as sender id
    assistant.chat(sender, "đăng ký nuôi chó cảnh ở phường thế nào")
    senders = {x.sender for x in read_exchanges_from_assistant(assistant)}
    assert assistant.conversation_id(sender) in senders and sender not in senders


def test_the_key_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TROLYAO_SENDER_KEY", "k" * 40)
    ids = SenderIds(sender_key(tmp_path))
    monkeypatch.setenv("TROLYAO_SENDER_KEY", "j" * 40)
    other = SenderIds(sender_key(tmp_path))
    monkeypatch.setenv("TROLYAO_SENDER_KEY", "k" * 40)
    assert ids.stored("abc") == SenderIds(sender_key(tmp_path)).stored("abc"), "deterministic"
    assert ids.stored("abc") != other.stored("abc"), "the hash is keyed"
    assert not key_file(tmp_path).exists(), "no key file when the variable is set"
    monkeypatch.setenv("TROLYAO_SENDER_KEY", "short")
    with pytest.raises(SystemExit):
        sender_key(tmp_path)


def test_without_the_variable_a_persistent_private_key_is_created(monkeypatch, tmp_path):
    monkeypatch.delenv("TROLYAO_SENDER_KEY", raising=False)
    first = SenderIds(sender_key(tmp_path)).stored("citizen-1")
    path = key_file(tmp_path)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    # Another worker / a restart: the same key, the same conversation id.
    assert SenderIds(sender_key(tmp_path)).stored("citizen-1") == first
    os.chmod(path, 0o644)
    load_or_create_key(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "a loose key file is tightened"
