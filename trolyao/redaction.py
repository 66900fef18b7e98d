"""Redact personal numbers before a message is logged, stored or even parsed.

Citizens paste their ID card number (CCCD: 12 digits, old CMND: 9 digits) and phone
numbers into chats. None of it is needed to answer a question about a procedure.
"""
from __future__ import annotations

import logging
import re

_SEP = r"[ .\-]?"
# Vietnamese phone numbers: 0 or +84 followed by 9 digits, with optional separators.
_PHONE = re.compile(r"(?<!\d)(?:\+84|0084|0)" + r"(?:" + _SEP + r"\d){9}(?!\d)")
# 12-digit CCCD / personal id, 9-digit CMND (optionally grouped 3-3-3 / 3-3-3-3 / 4-4-4).
_ID12 = re.compile(r"(?<!\d)\d{3}" + _SEP + r"\d{3}" + _SEP + r"\d{3}" + _SEP + r"\d{3}(?!\d)")
_ID12B = re.compile(r"(?<!\d)\d{4}" + _SEP + r"\d{4}" + _SEP + r"\d{4}(?!\d)")
_ID9 = re.compile(r"(?<!\d)\d{3}" + _SEP + r"\d{3}" + _SEP + r"\d{3}(?!\d)")

PHONE_MASK = "[số điện thoại]"
ID_MASK = "[số giấy tờ]"


def redact(text: str) -> str:
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = _PHONE.sub(PHONE_MASK, text)
    text = _ID12.sub(ID_MASK, text)
    text = _ID12B.sub(ID_MASK, text)
    return _ID9.sub(ID_MASK, text)


class RedactingFilter(logging.Filter):
    """Logging filter: redacts the formatted message of every record that passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break logging
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction() -> None:
    """Attach the filter to every handler of the root logger (and future ones via basicConfig)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
