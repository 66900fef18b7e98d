"""Personal numbers (phones, 9/12-digit ID numbers) never reach the logs or the conversation store."""
from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from trolyao.core.redaction import ID_MASK, PHONE_MASK, redact

PHONE = "0912 345 678"
CCCD = "001203004567"


@pytest.mark.parametrize("text, expected", [
    ("sđt của tôi 0912345678 nhé", f"sđt của tôi {PHONE_MASK} nhé"),
    ("gọi 0912.345.678", f"gọi {PHONE_MASK}"),
    ("+84 912 345 678", PHONE_MASK),
    ("số bàn 024 3825 3536", f"số bàn {PHONE_MASK}"),  # Hanoi landline, 11 digits
    ("CCCD 001203004567 bị mất", f"CCCD {ID_MASK} bị mất"),
    ("căn cước 001 203 004 567", f"căn cước {ID_MASK}"),
    ("0012-0300-4567", ID_MASK),
    ("CMND cũ 123456789", f"CMND cũ {ID_MASK}"),
    ("CCCD:001203004567,sđt:0987654321", f"CCCD:{ID_MASK},sđt:{PHONE_MASK}"),
])
def test_phone_and_id_numbers_are_masked_however_they_are_written(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "lệ phí 200.000 đồng",
    "mức phạt 100.000.000 đồng",       # an amount, not an ID number
    "ngày 01/07/2024, Nghị định 154/2024/NĐ-CP",
    "tổng đài 18001096",
    "trẻ dưới 14 tuổi, năm 2025",
    "mã thủ tục 1.004194",
])
def test_ordinary_numbers_are_kept(text):
    assert redact(text) == text


def test_log_records_are_redacted_whatever_handler_writes_them(caplog):
    from trolyao.core.redaction import install_log_redaction

    install_log_redaction()
    logger = logging.getLogger("trolyao.test-redaction")
    with caplog.at_level(logging.INFO, logger="trolyao.test-redaction"):
        logger.info("citizen wrote %s and %s", PHONE, CCCD)
        try:
            raise ValueError(f"cannot parse {CCCD}")
        except ValueError:
            logger.exception("failed on %r", f"số {PHONE}")
    text = caplog.text
    assert PHONE_MASK in text and ID_MASK in text
    assert PHONE not in text and CCCD not in text, text


def conversation_store_bytes(settings) -> bytes:
    """Every file of the SQLite conversation store (database, write-ahead log)."""
    path = Path(settings.tracker_store[len("sqlite:///"):])
    files = sorted(path.parent.glob(path.name + "*"))
    assert files, f"no conversation store at {path}"
    return b"".join(f.read_bytes() for f in files)


@pytest.mark.parametrize("endpoint", ["/api/chat", "/webhooks/rest/webhook"])
def test_numbers_in_chats_are_redacted_before_logging_and_storage(client, assistant, settings,
                                                                 caplog, endpoint):
    sender = f"redact-{uuid.uuid4().hex[:10]}"
    message = f"Tôi mất căn cước số {CCCD}, gọi tôi qua {PHONE} để làm lại được không?"
    with caplog.at_level(logging.DEBUG):
        response = client.post(endpoint, json={"sender": sender, "message": message})
    assert response.status_code == 200, response.get_data(as_text=True)

    assert f"{ID_MASK}" in caplog.text, "the debug log shows the (redacted) message"
    assert CCCD not in caplog.text and PHONE not in caplog.text and "912345678" not in caplog.text

    user_texts = [e["text"] for e in assistant.tracker_events(sender) if e["event"] == "user"]
    assert user_texts == [f"Tôi mất căn cước số {ID_MASK}, gọi tôi qua {PHONE_MASK} để làm lại được không?"]
    stored = conversation_store_bytes(settings)
    assert assistant.conversation_id(sender).encode() in stored, "the conversation was written"
    assert sender.encode() not in stored, "under a keyed hash of the sender id"
    for raw in (CCCD, PHONE, PHONE.replace(" ", "")):
        assert raw.encode() not in stored
