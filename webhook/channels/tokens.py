"""The Zalo OA access token: refreshed before it expires, kept in a 0600 file, never logged.

Zalo gives an access token for about 25 hours and a refresh token that works once: each
refresh returns a new pair, and the old refresh token is dead. So the new pair is written
(atomically, mode 0600) before the new access token is used, and gunicorn workers refresh
under a file lock, re-reading the file first: a worker that waited finds the pair another
worker got instead of spending the refresh token a second time.

The first refresh token comes from TROLYAO_ZALO_REFRESH_TOKEN (made in the Zalo developer
console). When that variable changes (a new token pasted after the old chain broke), the
file is seeded again from it; the file remembers only a hash of the value it was seeded from.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import requests

from webhook.channels import zalo_api
from webhook.channels.config import ZaloConfig

log = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 3600.0  # refresh an hour before expiry: a refresh may need retries


class TokenError(RuntimeError):
    """No usable access token. `permanent`: Zalo refused the refresh token (a person must
    make a new one); otherwise the OAuth server could not be reached (try again later)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def _seed_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16] if value else ""


def write_private_json(path: Path, data: dict) -> None:
    """Replace `path` atomically with a file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ZaloTokens:
    def __init__(self, config: ZaloConfig, session: requests.Session | None = None,
                 clock=time.time, margin: float = REFRESH_MARGIN_SECONDS, timeout: float = 10.0):
        self.config = config
        self.path = config.token_file
        self.session = session or requests.Session()
        self.clock = clock
        self.margin = margin
        self.timeout = timeout
        self._lock = threading.Lock()
        self.refreshes = 0  # successful refreshes by this process (tests, logs)

    # ---------- the file ----------
    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError):
            log.error("Zalo token file %s is unreadable; seeding it again from "
                      "TROLYAO_ZALO_REFRESH_TOKEN", self.path)
            data = {}
        if self.path.exists() and self.path.stat().st_mode & 0o077:
            os.chmod(self.path, 0o600)
        seed = self.config.initial_refresh_token
        if seed and data.get("seed") != _seed_hash(seed):
            data = {"access_token": "", "refresh_token": seed, "expires_at": 0,
                    "seed": _seed_hash(seed)}
        return data if isinstance(data, dict) else {}

    def _fresh(self, data: dict) -> bool:
        return bool(data.get("access_token")) and \
            float(data.get("expires_at") or 0) - self.margin > self.clock()

    # ---------- public ----------
    def access_token(self) -> str:
        """A token valid for at least the margin, refreshed first if needed."""
        with self._lock:
            data = self._read()
            if self._fresh(data):
                return data["access_token"]
        return self.refresh(stale=data.get("access_token", ""))

    def refresh(self, stale: str = "") -> str:
        """Get a new pair, unless another worker already replaced `stale` (the token that
        was refused or is about to expire)."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(lock_path, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                data = self._read()
                if self._fresh(data) and data["access_token"] != stale:
                    return data["access_token"]
                refresh_token = data.get("refresh_token", "")
                if not refresh_token:
                    raise TokenError("no Zalo refresh token: set TROLYAO_ZALO_REFRESH_TOKEN "
                                     "(Zalo developer console > the app > Official Account API)",
                                     permanent=True)
                access, new_refresh, expires_in = self._request(refresh_token)
                data.update(access_token=access, refresh_token=new_refresh,
                            expires_at=self.clock() + expires_in)
                write_private_json(self.path, data)
                self.refreshes += 1
                log.info("Zalo access token refreshed (valid %d h)", expires_in // 3600)
                return access
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _request(self, refresh_token: str) -> tuple[str, str, int]:
        headers, form = zalo_api.refresh_request(self.config.app_id, self.config.app_secret,
                                                 refresh_token)
        url = self.config.oauth_base + zalo_api.TOKEN_PATH
        try:
            response = self.session.post(url, headers=headers, data=form, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TokenError(f"Zalo OAuth unreachable ({exc.__class__.__name__})") from exc
        if response.status_code >= 500:
            raise TokenError(f"Zalo OAuth answered HTTP {response.status_code}")
        try:
            return zalo_api.read_token_response(response.json())
        except ValueError as exc:  # an error body, or not JSON
            raise TokenError(f"{exc}; make a new refresh token in the Zalo developer console "
                             "and set TROLYAO_ZALO_REFRESH_TOKEN", permanent=True) from exc
