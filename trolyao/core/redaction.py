"""Redact personal data before a message is logged, stored or even parsed.

Citizens paste their ID card number (CCCD / số định danh: 12 digits, old CMND: 9 digits),
phone numbers, e-mail addresses, bank account numbers and passport numbers into chats. None of
it is needed to answer a question about a procedure, so the Assistant redacts every message
before Rasa sees it (nothing raw reaches the tracker store), and every log record is redacted
when it is created (whatever handler later writes it).

What is masked (over-redaction is preferred to a leak):
- e-mail addresses -> [email];
- phone numbers: 0 / +84 / 84 / 0084 then 9 or 10 digits, with spaces, dots or dashes between
  any digits (also " - "), in any Unicode digits (full-width ０９１２… are folded first) ->
  [số điện thoại];
- 12- and 9-digit numbers (CCCD, CMND) however they are grouped, except amounts of money
  written with thousands separators ("100.000.000 đồng") -> [số giấy tờ];
- bank account numbers: any other run of 10-19 digits, and 6-19 digits after "stk",
  "số tài khoản", "tài khoản", "tk" -> [số tài khoản];
- passport numbers: one or two letters + 7 digits (C1234567) -> [số hộ chiếu].

Characters that only look different (full-width digits and letters, the ideographic space)
are folded to ASCII first (NFKC for those ranges), so the returned text has ASCII digits.
"""
from __future__ import annotations

import logging
import re
import unicodedata

# One optional separator between digits: "0912 345 678", "001.203.004.567", "0912-345-678".
_SEP = r"[ .\-]?"
# Phones are also written "0912 - 345 - 677", "(024) 3825 3536", "0912–345–677".
_PHONE_SEP = r"(?:[ \u00a0]{0,2}[.\-\u2013\u2014()][ \u00a0]{0,2}|[ \u00a0]{1,2})?"


def _digits(count: int, sep: str = _SEP) -> str:
    """`count` digits with an optional separator between any two of them."""
    return r"\d" + (r"(?:" + sep + r"\d)" + "{%d}" % (count - 1) if count > 1 else "")


_NO_DIGIT_BEFORE = r"(?<![\d])"
_NO_DIGIT_AFTER = r"(?!" + _SEP + r"\d)"
_NO_DIGIT_AFTER_PHONE = r"(?!" + _PHONE_SEP + r"\d)"
# Amounts keep their digits: a 3-3-3 group followed by a currency word is money, not an ID.
_NOT_MONEY = r"(?!\s*(?:đồng|đ\b|vnđ|vnd|triệu|nghìn|ngàn)\b)"

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# Mobile: 0 / +84 / 84 / 0084 then 9 digits. Landline (Hanoi 024 …): 0 + 10 digits.
_PHONE = re.compile(_NO_DIGIT_BEFORE + r"\(?(?:\+\s?84|0084|84|0)\)?" + _PHONE_SEP + r"(?:"
                    + _digits(10, _PHONE_SEP) + r"|" + _digits(9, _PHONE_SEP) + r")"
                    + _NO_DIGIT_AFTER_PHONE)
_ID12 = re.compile(_NO_DIGIT_BEFORE + _digits(12) + _NO_DIGIT_AFTER)
_ID9 = re.compile(_NO_DIGIT_BEFORE + _digits(9) + _NO_DIGIT_AFTER + _NOT_MONEY, re.IGNORECASE)
# After a word that announces an account number, shorter numbers are accounts too.
_ACCOUNT_AFTER_WORD = re.compile(
    r"(?P<word>\b(?:stk|số\s+tài\s+khoản|so\s+tai\s+khoan|tài\s+khoản|tai\s+khoan|tk)\b"
    r"[\s:.#\-]*(?:là\s+|la\s+|số\s+|so\s+)?)" + _NO_DIGIT_BEFORE
    + r"\d(?:" + _SEP + r"\d){5,18}" + _NO_DIGIT_AFTER, re.IGNORECASE)
_ACCOUNT = re.compile(_NO_DIGIT_BEFORE + r"\d(?:" + _SEP + r"\d){9,18}" + _NO_DIGIT_AFTER
                      + _NOT_MONEY, re.IGNORECASE)
_PASSPORT = re.compile(r"(?<![\w])[A-Za-z]{1,2}[ ]?\d{7}(?![\w])")

PHONE_MASK = "[số điện thoại]"
ID_MASK = "[số giấy tờ]"
EMAIL_MASK = "[email]"
ACCOUNT_MASK = "[số tài khoản]"
PASSPORT_MASK = "[số hộ chiếu]"


def fold_lookalikes(text: str) -> str:
    """Full-width forms (０-９, Ａ-Ｚ, ＠, ＋, －, ．, the ideographic space) and other Unicode
    decimal digits as ASCII (what NFKC does for them), so "０９１２…" is matched as a phone."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E or ch == "\u3000":
            out.append(unicodedata.normalize("NFKC", ch))
        elif code > 127 and unicodedata.category(ch) == "Nd":
            out.append(str(unicodedata.digit(ch)))
        else:
            out.append(ch)
    return "".join(out)


def redact(text: str) -> str:
    """The text with e-mails, phone, ID, account and passport numbers replaced by placeholders."""
    if not text:
        return text
    text = fold_lookalikes(text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MASK, text)
    if not any(ch.isdigit() for ch in text):
        return text
    text = _ID12.sub(ID_MASK, text)  # before phones: a CCCD starts with 0 like a phone number
    text = _PHONE.sub(PHONE_MASK, text)
    text = _ACCOUNT_AFTER_WORD.sub(lambda m: m["word"] + ACCOUNT_MASK, text)
    text = _ACCOUNT.sub(ACCOUNT_MASK, text)
    text = _ID9.sub(ID_MASK, text)
    return _PASSPORT.sub(PASSPORT_MASK, text)


# Characters that end or rewrite a log line: C0/C1 controls (newline, CR, ESC …), the Unicode
# line and paragraph separators, bidi overrides. A citizen's "xin chào\n2026-… ERROR …" would
# otherwise forge a log line.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r"}


def escape_controls(text: str) -> str:
    """One log record = one line: controls written as escapes (\\n, \\r, \\u2028, \\x1b)."""
    return _CONTROL_RE.sub(lambda m: _ESCAPES.get(m.group(), m.group().encode("unicode_escape")
                                                  .decode("ascii")), text)


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string must not break logging
        return
    cleaned = escape_controls(redact(message).rstrip("\n"))
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        # Tracebacks can quote the message (e.g. a ValueError about it); format them now.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)


class RedactingFilter(logging.Filter):
    """Handler filter: redacts and escapes records that reach a handler (kept for explicit use)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_installed = False


def install_log_redaction() -> None:
    """Redact every log record at creation, so handlers added later (gunicorn's, pytest's)
    never see a raw number, and write each record on one line (control characters escaped:
    user text cannot forge log lines); idempotent."""
    global _installed
    # Python warnings (Rasa reports payload and slot problems with `warnings.warn`, quoting the
    # message) are written to stderr by the warnings module itself: route them through logging.
    logging.captureWarnings(True)
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(redacting_factory)
    _installed = True
