"""Redact personal numbers before a message is logged, stored or even parsed.

Citizens paste their ID card number (CCCD / số định danh: 12 digits, old CMND: 9 digits) and
phone numbers into chats. None of it is needed to answer a question about a procedure, so the
Assistant redacts every message before Rasa sees it (nothing raw reaches the tracker store),
and every log record is redacted when it is created (whatever handler later writes it).

Over-redaction is preferred to a leak: any 9- or 12-digit number is masked, however it is
grouped, except amounts of money written with thousands separators ("100.000.000 đồng").
"""
from __future__ import annotations

import logging
import re

# One optional separator between digits: "0912 345 678", "001.203.004.567", "0912-345-678".
_SEP = r"[ .\-]?"


def _digits(count: int) -> str:
    """`count` digits with an optional separator between any two of them."""
    return r"\d" + (r"(?:" + _SEP + r"\d)" + "{%d}" % (count - 1) if count > 1 else "")


_NO_DIGIT_BEFORE = r"(?<![\d])"
_NO_DIGIT_AFTER = r"(?!" + _SEP + r"\d)"
# Amounts keep their digits: a 3-3-3 group followed by a currency word is money, not an ID.
_NOT_MONEY = r"(?!\s*(?:đồng|đ\b|vnđ|vnd|triệu|nghìn|ngàn)\b)"

# Mobile: 0 / +84 / 0084 then 9 digits. Landline (Hanoi 024 …): 0 + 10 digits.
_PHONE = re.compile(_NO_DIGIT_BEFORE + r"(?:\+84|0084|0)" + _SEP + r"(?:" + _digits(10)
                    + r"|" + _digits(9) + r")" + _NO_DIGIT_AFTER)
_ID12 = re.compile(_NO_DIGIT_BEFORE + _digits(12) + _NO_DIGIT_AFTER)
_ID9 = re.compile(_NO_DIGIT_BEFORE + _digits(9) + _NO_DIGIT_AFTER + _NOT_MONEY, re.IGNORECASE)

PHONE_MASK = "[số điện thoại]"
ID_MASK = "[số giấy tờ]"


def redact(text: str) -> str:
    """The text with phone numbers and 9/12-digit ID numbers replaced by placeholders."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = _ID12.sub(ID_MASK, text)  # before phones: a CCCD starts with 0 like a phone number
    text = _PHONE.sub(PHONE_MASK, text)
    return _ID9.sub(ID_MASK, text)


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string must not break logging
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        # Tracebacks can quote the message (e.g. a ValueError about it); format them now.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)


class RedactingFilter(logging.Filter):
    """Handler filter: redacts records that reach a handler (kept for explicit use)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_installed = False


def install_log_redaction() -> None:
    """Redact every log record at creation, so handlers added later (gunicorn's, pytest's)
    never see a raw number; idempotent."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(redacting_factory)
    _installed = True
