"""The review store: exchanges staff flagged as wrong or weak, and questions maintainers closed.

A small SQLite file (`$TROLYAO_HOME/var/review.db`) beside the conversation store. The
shell's `/flag` writes here, `trolyao report` and the admin page read it, and the admin
page's "done" button closes items. Notes are redacted like chat messages (staff may paste
a citizen's phone or ID number into a note).
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from knowledge.textnorm import nfc, words
from trolyao.core.redaction import redact

SCHEMA = """
CREATE TABLE IF NOT EXISTS flags (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    created   TEXT NOT NULL,                 -- ISO 8601, UTC
    sender    TEXT NOT NULL,
    question  TEXT NOT NULL,
    answer    TEXT NOT NULL,
    sources   TEXT NOT NULL DEFAULT '[]',    -- JSON list of {doc_id, title, service, url, score}
    intent    TEXT,
    service   TEXT,
    note      TEXT NOT NULL DEFAULT '',
    status    TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    done_at   TEXT
);
CREATE INDEX IF NOT EXISTS flags_status ON flags(status);
-- A question closed by a maintainer (documents written): earlier occurrences leave the
-- to-do list, a new occurrence after `resolved_at` brings it back.
CREATE TABLE IF NOT EXISTS resolved_questions (
    question_key TEXT PRIMARY KEY,
    question     TEXT NOT NULL,
    resolved_at  TEXT NOT NULL
);
"""


def review_db_path(settings) -> Path:
    return Path(settings.home) / "var" / "review.db"


def question_key(question: str) -> str:
    """Same key for the same question typed with or without tone marks, case or punctuation."""
    return " ".join(words(question or ""))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass
class Flag:
    id: int
    created: datetime
    sender: str
    question: str
    answer: str
    sources: list[dict] = field(default_factory=list)
    intent: str | None = None
    service: str | None = None
    note: str = ""
    status: str = "open"
    done_at: datetime | None = None

    @property
    def question_key(self) -> str:
        return question_key(self.question)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Flag":
        return cls(id=row["id"], created=parse_time(row["created"]), sender=row["sender"],
                   question=row["question"], answer=row["answer"],
                   sources=json.loads(row["sources"] or "[]"), intent=row["intent"],
                   service=row["service"], note=row["note"], status=row["status"],
                   done_at=parse_time(row["done_at"]) if row["done_at"] else None)


class ReviewStore:
    """One connection per call: safe from any thread (web threads, the shell, the CLI)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)

    @classmethod
    def for_settings(cls, settings) -> "ReviewStore":
        return cls(review_db_path(settings))

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def add_flag(self, *, sender: str, question: str, answer: str, sources: list[dict] | None = None,
                 intent: str | None = None, service: str | None = None, note: str = "",
                 created: datetime | None = None) -> Flag:
        created = created or utc_now()
        values = (created.isoformat(), sender, redact(nfc(question)), redact(nfc(answer)),
                  json.dumps(sources or [], ensure_ascii=False), intent, service,
                  redact(nfc(note or "")).strip())
        with closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO flags (created, sender, question, answer, sources, intent, service, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
            row = db.execute("SELECT * FROM flags WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return Flag.from_row(row)

    def flags(self, status: str | None = None) -> list[Flag]:
        query, args = "SELECT * FROM flags", ()
        if status:
            query, args = query + " WHERE status = ?", (status,)
        with closing(self._connect()) as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [Flag.from_row(r) for r in rows]

    def mark_flag_done(self, flag_id: int) -> bool:
        with closing(self._connect()) as db, db:
            cursor = db.execute("UPDATE flags SET status = 'done', done_at = ? "
                                "WHERE id = ? AND status = 'open'", (utc_now().isoformat(), flag_id))
        return cursor.rowcount > 0

    def resolve_question(self, question: str) -> int:
        """Close a to-do item: its open flags become done and earlier fallbacks stop counting.
        Returns how many open flags were closed."""
        key = question_key(question)
        if not key:
            raise ValueError("empty question")
        now = utc_now().isoformat()
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO resolved_questions (question_key, question, resolved_at) "
                       "VALUES (?, ?, ?) ON CONFLICT(question_key) DO UPDATE SET "
                       "question = excluded.question, resolved_at = excluded.resolved_at",
                       (key, redact(nfc(question)), now))
            open_ids = [r["id"] for r in db.execute("SELECT id, question FROM flags WHERE status = 'open'")
                        if question_key(r["question"]) == key]
            db.executemany("UPDATE flags SET status = 'done', done_at = ? WHERE id = ?",
                           [(now, i) for i in open_ids])
        return len(open_ids)

    # ---- personal data (trolyao/staff/privacy.py)
    def flags_of(self, senders: list[str]) -> list[Flag]:
        """The flags of these conversations (a flag keeps the id the shell or page used)."""
        if not senders:
            return []
        marks = ", ".join("?" * len(senders))
        with closing(self._connect()) as db:
            rows = db.execute(f"SELECT * FROM flags WHERE sender IN ({marks}) ORDER BY id",
                              tuple(senders)).fetchall()
        return [Flag.from_row(r) for r in rows]

    def delete_flags_of(self, senders: list[str]) -> int:
        if not senders:
            return 0
        marks = ", ".join("?" * len(senders))
        with closing(self._connect()) as db, db:
            return db.execute(f"DELETE FROM flags WHERE sender IN ({marks})", tuple(senders)).rowcount

    def purge_before(self, cutoff: datetime) -> dict[str, int]:
        """Retention: flags created, and questions closed, before `cutoff`."""
        moment = cutoff.astimezone(timezone.utc).isoformat()
        with closing(self._connect()) as db, db:
            flags = db.execute("DELETE FROM flags WHERE created < ?", (moment,)).rowcount
            closed = db.execute("DELETE FROM resolved_questions WHERE resolved_at < ?", (moment,)).rowcount
        return {"flags": flags, "resolved_questions": closed}

    def resolutions(self) -> dict[str, datetime]:
        """question_key -> when a maintainer closed it."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT question_key, resolved_at FROM resolved_questions").fetchall()
        return {r["question_key"]: parse_time(r["resolved_at"]) for r in rows}
