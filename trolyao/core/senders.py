"""Conversation ids: the store keeps a keyed hash of the sender id, never the id itself.

A portal or an API client may use a phone number, an e-mail or an ID number as the sender id.
The assistant stores and logs `HMAC-SHA256(key, sender)` instead (32 letters a-p, prefixed
`u-`), so the conversation store, the logs, `/admin` and `trolyao report` never show it. The
hash is deterministic: the same sender id continues the same conversation (the widget relies
on it), in every worker and after restarts, as long as the key stays the same.

The key: `TROLYAO_SENDER_KEY` (any long random string; set the same value on every machine
that shares a conversation store), else a random key created once in
`$TROLYAO_HOME/var/sender.key` (mode 0600) and reused by every worker and restart. Changing
or losing the key starts new conversations for everybody (old ones stay readable in reports).

Citizens writing through a chat app have namespaced ids (`zalo:<user id>`, `messenger:<page-scoped
id>`, `telegram:<chat id>`, see `channel_sender`), hashed like any other: privacy export and
delete, reports and hand-off find them by that id.

Conversations made by tools keep their prefix (`test-answers-`, `ask-`, `shell-`), so the
report can still leave them out.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
from pathlib import Path

KEY_ENV = "TROLYAO_SENDER_KEY"
KEY_FILE = "sender.key"
# Conversations of tools, not citizens (see trolyao/report.py SYNTHETIC_SENDER_PREFIXES).
TOOL_PREFIXES = ("test-answers-", "ask-", "shell-")
HASH_PREFIX = "u-"
# Chat apps other than the widget (webhook/channels/): their citizens' ids are namespaced,
# "zalo:<user id>", so two apps' ids never meet and each channel's conversations are apart.
# The web API refuses these prefixes (webhook/blueprints/chat.py): nobody can continue a Zalo
# citizen's conversation from the widget by typing "zalo:<their id>" as the sender.
CHANNELS = ("zalo", "messenger", "telegram")
CHANNEL_PREFIXES = tuple(f"{c}:" for c in CHANNELS)
_CHANNEL_USER_RE = re.compile(r"-?[A-Za-z0-9_]{1,64}")
_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")  # no digits: never "redacted"


def key_file(home: Path) -> Path:
    return Path(home) / "var" / KEY_FILE


def load_or_create_key(home: Path) -> bytes:
    """The persistent default key: created atomically (several workers start at once) with
    mode 0600; a readable-by-others file is tightened to 0600."""
    path = key_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sender-key-")
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (secrets.token_hex(32) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if another process created it first: use theirs
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 32:
        raise SystemExit(f"{path} holds no usable sender key; delete it to create a new one "
                         f"or set {KEY_ENV}")
    return key.encode()


def sender_key(home: Path) -> bytes:
    value = os.environ.get(KEY_ENV, "")
    if value:
        if len(value) < 16:
            raise SystemExit(f"{KEY_ENV} must be at least 16 characters (a long random string)")
        return value.encode()
    return load_or_create_key(home)


class SenderIds:
    """sender id given by a client -> the id stored with the conversation."""

    def __init__(self, key: bytes):
        self._key = key

    @classmethod
    def for_settings(cls, settings) -> "SenderIds":
        return cls(sender_key(settings.home))

    def stored(self, sender: str) -> str:
        if sender.startswith(HASH_PREFIX) and _is_hash(sender[len(HASH_PREFIX):]):
            return sender  # already a stored id (the reply echoed it to the client)
        prefix = next((p for p in TOOL_PREFIXES if sender.startswith(p)), "")
        digest = hmac.new(self._key, sender.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
        return (prefix or HASH_PREFIX) + digest.translate(_LETTERS)

    def public(self, sender: str) -> str:
        """What a reply may echo: the sender id itself, or its stored id when it looks like
        personal data (a phone, an e-mail, an ID number)."""
        return self.stored(sender) if looks_personal(sender) else sender


def channel_sender(channel: str, user_id: str) -> str:
    """The sender id of a chat app's citizen ("zalo:1234…"); ValueError for an unknown channel
    or an id that is not 1-64 letters, digits or _ (Telegram group chats: a leading -)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if not isinstance(user_id, str) or not _CHANNEL_USER_RE.fullmatch(user_id):
        raise ValueError(f"{channel} user id must be 1-64 letters, digits or _")
    return f"{channel}:{user_id}"


def is_channel_sender(sender: str) -> bool:
    """A sender id in a chat app's namespace (only the channel webhooks may use it)."""
    return sender.startswith(CHANNEL_PREFIXES)


_HASH_RE = re.compile(r"[a-p]{32}")


def _is_hash(text: str) -> bool:
    return bool(_HASH_RE.fullmatch(text))


# A number standing alone in the id (not part of a random hex or base-36 token): digits,
# possibly grouped with . _ : -, between non-alphanumerics or the ends of the id.
_NUMBER_RE = re.compile(r"(?<![A-Za-z0-9])[0-9][0-9._:\-]*[0-9](?![A-Za-z0-9])")
_PASSPORT_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,2}[0-9]{7}(?![A-Za-z0-9])")


def looks_personal(sender: str) -> bool:
    """An e-mail address, or a number of 9 digits or more (phone, ID, account) or a passport
    number standing alone in the id ("0912345678", "zalo-0912.345.678", "a.b@gmail.com").
    Random ids ("t-3f2a91c07b1e", uuids) are not personal even when they contain digits."""
    if "@" in sender:
        return True
    if _PASSPORT_RE.search(sender):
        return True
    return any(sum(ch.isdigit() for ch in m.group()) >= 9 for m in _NUMBER_RE.finditer(sender))
