"""The audit log: staff actions on citizens' data are recorded, redacted, and never rewritten."""
from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from trolyao.core.audit import AuditLog, default_audit_url
from trolyao.core.redaction import ID_MASK, PHONE_MASK


@pytest.fixture
def audit_path(tmp_path):
    return tmp_path / "var" / "audit.db"


@pytest.fixture
def audit(audit_path):
    log = AuditLog(f"sqlite:///{audit_path}")
    yield log
    log.close()


def test_entries_come_back_newest_first_with_utc_time_and_detail(audit):
    before = datetime.now(timezone.utc)
    audit.record("admin", "privacy.export", "u-abcdefabcdefabcdefabcdefabcdefab", {"events": 12})
    audit.record("cli", "privacy.delete", "u-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", {"deleted": {"events": 12}})
    audit.record("retention", "retention.purge", detail={"days": 180, "conversations": 3})

    entries = audit.recent()
    assert [e["action"] for e in entries] == ["retention.purge", "privacy.delete", "privacy.export"]
    assert entries[1]["actor"] == "cli"
    assert entries[1]["subject"] == "u-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    assert entries[1]["detail"] == {"deleted": {"events": 12}}
    assert entries[0]["subject"] == ""
    moment = datetime.fromisoformat(entries[0]["at"])
    assert moment.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= moment <= datetime.now(timezone.utc) + timedelta(seconds=1)


def test_recent_filters_by_action_and_honours_the_limit(audit):
    for n in range(5):
        audit.record("admin", "privacy.export" if n % 2 else "privacy.delete", f"u-{'a' * 31}{'bcdef'[n]}")
    exports = audit.recent(action="privacy.export")
    assert [e["subject"][-1] for e in exports] == ["e", "c"]
    assert len(audit.recent(limit=2)) == 2
    assert audit.recent(action="handoff.take") == []


def test_personal_numbers_in_subject_or_detail_are_redacted(audit, audit_path):
    audit.record("admin", "privacy.delete", "zalo-0912345678",
                 {"note": "công dân CCCD 001203004567 gọi 0912 345 678 yêu cầu xoá",
                  "senders": ["0987654321"], "count": 2})
    entry = audit.recent(1)[0]
    assert "0912345678" not in entry["subject"] and PHONE_MASK in entry["subject"]
    assert entry["detail"]["note"] == f"công dân CCCD {ID_MASK} gọi {PHONE_MASK} yêu cầu xoá"
    assert entry["detail"]["senders"] == [PHONE_MASK]
    assert entry["detail"]["count"] == 2
    raw = audit_path.read_bytes()
    for number in (b"001203004567", b"0912345678", b"0987654321", b"0912 345 678"):
        assert number not in raw


def test_the_database_refuses_to_change_or_delete_an_entry(audit, audit_path):
    audit.record("admin", "privacy.delete", "u-" + "c" * 32)
    with sqlite3.connect(audit_path) as db:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit_log SET actor = 'someone else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit_log")
    assert [e["actor"] for e in audit.recent()] == ["admin"]


def test_entries_survive_a_new_process_and_concurrent_writers(audit_path):
    url = f"sqlite:///{audit_path}"
    first = AuditLog(url)  # nothing written yet: the table does not exist

    errors = []

    def write(n):
        log = AuditLog(url)  # each writer creates the table if it is missing, as workers do
        try:
            for i in range(10):
                log.record(f"worker-{n}", "privacy.export", f"u-{'d' * 32}", {"i": i})
        except Exception as exc:  # reported below: a thread's exception would vanish
            errors.append(exc)
        finally:
            log.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.close()
    assert errors == []
    reopened = AuditLog(url)
    entries = reopened.recent(limit=1000)
    reopened.close()
    assert len(entries) == 30
    assert len({e["id"] for e in entries}) == 30
    for n in range(3):
        mine = [e["detail"]["i"] for e in entries if e["actor"] == f"worker-{n}"]
        assert mine == list(range(9, -1, -1))  # newest first, nothing lost or reordered


def test_an_entry_needs_an_actor_and_an_action(audit):
    with pytest.raises(ValueError):
        audit.record("", "privacy.export")
    with pytest.raises(ValueError):
        audit.record("admin", "")
    assert audit.recent() == []


def test_from_settings_uses_TROLYAO_AUDIT_STORE_or_the_home_default(tmp_path, monkeypatch):
    from trolyao.core.settings import load_settings

    monkeypatch.setenv("TROLYAO_HOME", str(tmp_path))
    monkeypatch.delenv("TROLYAO_AUDIT_STORE", raising=False)
    settings = load_settings()
    assert settings.audit_store == default_audit_url(tmp_path) == f"sqlite:///{tmp_path / 'var' / 'audit.db'}"
    log = AuditLog.from_settings(settings)
    log.record("cli", "privacy.export", "u-" + "e" * 32)
    log.close()
    assert (tmp_path / "var" / "audit.db").exists()

    other = tmp_path / "elsewhere" / "audit.sqlite"
    monkeypatch.setenv("TROLYAO_AUDIT_STORE", f"sqlite:///{other}")
    log = AuditLog.from_settings(load_settings())
    log.record("cli", "privacy.delete", "u-" + "f" * 32)
    assert [e["action"] for e in log.recent()] == ["privacy.delete"]
    log.close()
    assert other.exists()
    # A settings object built without the field (older code) still gets the default.
    assert AuditLog.from_settings(replace(settings, audit_store="")).url == default_audit_url(tmp_path)
