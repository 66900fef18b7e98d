"""The audit log: who did what to which conversation, appended and never changed.

Staff actions on citizens' data (a privacy export or deletion, a hand-off taken over, a
retention purge) each add one row: UTC time, actor ("admin", "cli", "retention", a staff
login), action ("privacy.export", …), subject (a conversation id such as `u-…`, never a raw
phone or ID number) and a small JSON detail. Everything is redacted like chat messages
(trolyao/core/redaction.py), so the log never holds personal numbers even if a caller
passes one by mistake.

Where: `TROLYAO_AUDIT_STORE`, a SQLAlchemy URL; default `sqlite:///$TROLYAO_HOME/var/audit.db`
(a PostgreSQL URL puts it beside the conversations). Append-only: the class has no update or
delete, and the database refuses UPDATE and DELETE on the table (a trigger), so a retention
purge or a careless query cannot rewrite history.
"""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from trolyao.core.redaction import redact

__all__ = ["AuditLog", "default_audit_url"]

TABLE = "audit_log"
MAX_DETAIL_CHARS = 4000  # a detail is a summary (counts, ids), not a copy of the data

_metadata = sa.MetaData()
_audit = sa.Table(
    TABLE, _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),        # ISO 8601, UTC
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False, default=""),
    sa.Column("detail", sa.Text, nullable=False, default="{}"),  # JSON object
    sa.Index("audit_log_action", "action"),
)

# The database itself refuses to change or remove a row.
_SQLITE_GUARDS = [
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
]
_POSTGRES_GUARDS = [
    f"CREATE OR REPLACE FUNCTION {TABLE}_refuse() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$",
    f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}",
    f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse()",
]


def default_audit_url(home: str | Path) -> str:
    return f"sqlite:///{Path(home) / 'var' / 'audit.db'}"


def _redacted(value):
    """The detail with every string (keys too) redacted; other JSON values kept."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact(str(value))


def _iso_utc(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


class AuditLog:
    """Append-only log in any SQLAlchemy database; safe from any thread and process."""

    def __init__(self, url: str):
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(url, connect_args={"timeout": 10,
                                                              "check_same_thread": False})
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        self.url = url
        self._create_lock = threading.Lock()
        self._ready = False

    @classmethod
    def from_settings(cls, settings) -> "AuditLog":
        return cls(getattr(settings, "audit_store", "") or default_audit_url(settings.home))

    def _ensure_table(self) -> None:
        """Create the table and its guards once (lazily: an unreachable database fails the
        first action, not the import)."""
        if self._ready:
            return
        with self._create_lock:
            if self._ready:
                return
            guards = {"sqlite": _SQLITE_GUARDS, "postgresql": _POSTGRES_GUARDS}.get(
                self.engine.dialect.name, [])
            for attempt in range(5):
                try:
                    with self.engine.begin() as conn:
                        if self.engine.dialect.name == "postgresql":
                            # Several workers may start at once: one creates, the others wait.
                            conn.execute(sa.text(
                                "SELECT pg_advisory_xact_lock(hashtext('trolyao.audit_log'))"))
                        _metadata.create_all(conn, checkfirst=True)
                        for statement in guards:
                            conn.execute(sa.text(statement))
                    break
                except OperationalError:
                    # SQLite: another process created the table between the check and the
                    # CREATE, or held the write lock; the next check sees its table.
                    if attempt == 4:
                        raise
                    time.sleep(0.05 * (attempt + 1))
            self._ready = True

    def record(self, actor: str, action: str, subject: str = "", detail: dict | None = None) -> dict:
        """Append one entry (UTC time now) and return it as `recent()` would."""
        if not actor or not action:
            raise ValueError("an audit entry needs an actor and an action")
        detail_json = json.dumps(_redacted(dict(detail or {})), ensure_ascii=False, sort_keys=True,
                                 default=str)
        if len(detail_json) > MAX_DETAIL_CHARS:
            detail_json = json.dumps({"truncated": detail_json[:MAX_DETAIL_CHARS]}, ensure_ascii=False)
        row = {"at": _iso_utc(), "actor": redact(str(actor))[:200], "action": str(action)[:100],
               "subject": redact(str(subject or ""))[:200], "detail": detail_json}
        self._ensure_table()
        with self.engine.begin() as conn:
            result = conn.execute(_audit.insert().values(**row))
            row["id"] = result.inserted_primary_key[0]
        return self._entry(row)

    def recent(self, limit: int = 100, action: str | None = None) -> list[dict]:
        """The newest entries first (optionally of one action)."""
        self._ensure_table()
        query = sa.select(_audit).order_by(_audit.c.id.desc()).limit(max(0, int(limit)))
        if action:
            query = query.where(_audit.c.action == action)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [self._entry(r) for r in rows]

    @staticmethod
    def _entry(row) -> dict:
        return {"id": row["id"], "at": row["at"], "actor": row["actor"], "action": row["action"],
                "subject": row["subject"], "detail": json.loads(row["detail"] or "{}")}

    def close(self) -> None:
        self.engine.dispose()
