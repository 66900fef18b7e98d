"""Named staff accounts for answering citizens live (hand-off), from a JSON file.

`TROLYAO_STAFF_ACCOUNTS_FILE` names a file like

    {"accounts": [{"login": "lan", "name": "Nguyễn Thị Lan",
                   "password_hash": "scrypt:32768:8:1$…"}]}

Passwords are stored only as werkzeug hashes (scrypt by default), made with
`hash_password()` (README: "For staff: answering citizens live"). The file is read again when
it changes, so adding or removing a person needs no restart. The admin token keeps working for
admins (actor "admin"); each staff member acts under their own login in the audit log.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

LOGIN_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# Checked when the login is unknown, so a wrong login takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password")


class AccountsError(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise AccountsError("a staff password needs at least 10 characters")
    return generate_password_hash(password)


@dataclass(frozen=True)
class StaffAccount:
    login: str
    name: str
    password_hash: str

    @property
    def actor(self) -> str:
        """How the audit log and the queue name this person."""
        return f"staff:{self.login}"


def parse_accounts(text: str, where: str = "staff accounts") -> dict[str, StaffAccount]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AccountsError(f"{where}: not valid JSON ({exc.msg}, line {exc.lineno})")
    rows = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise AccountsError(f'{where}: expected {{"accounts": [{{"login", "name", "password_hash"}}]}}')
    accounts: dict[str, StaffAccount] = {}
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise AccountsError(f"{where}: account {i} is not an object")
        login, name, hashed = row.get("login"), row.get("name"), row.get("password_hash")
        if not isinstance(login, str) or not LOGIN_RE.fullmatch(login):
            raise AccountsError(f"{where}: account {i}: 'login' must be 1-64 of a-z 0-9 . _ -")
        if not isinstance(name, str) or not name.strip():
            raise AccountsError(f"{where}: account {i} ({login}): 'name' is required")
        if not isinstance(hashed, str) or "$" not in hashed:
            raise AccountsError(f"{where}: account {i} ({login}): 'password_hash' must be a hash "
                                f"made by hash_password(), never the password itself")
        if login in accounts:
            raise AccountsError(f"{where}: login {login!r} appears twice")
        accounts[login] = StaffAccount(login, name.strip(), hashed)
    return accounts


class StaffAccounts:
    """The accounts of one file, re-read when the file changes."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._stamp = None
        self._accounts: dict[str, StaffAccount] = {}

    def _current(self) -> dict[str, StaffAccount]:
        if self.path is None:
            return {}
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise AccountsError(f"{self.path}: staff accounts file not found")
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._accounts = parse_accounts(self.path.read_text(encoding="utf-8"), str(self.path))
                self._stamp = stamp
            return self._accounts

    def get(self, login: str) -> StaffAccount | None:
        return self._current().get(login)

    def verify(self, login: str, password: str) -> StaffAccount | None:
        account = self._current().get(login)
        if account is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        return account if check_password_hash(account.password_hash, password) else None
