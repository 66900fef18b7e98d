"""Versioned on-disk index: FAISS vectors + SQLite passage metadata + a manifest.

Layout under the index directory:

    versions/<version>/vectors.faiss     FAISS inner-product index (unit vectors -> cosine)
    versions/<version>/passages.sqlite   documents and passages (text, service, url, hashes)
    versions/<version>/manifest.json     model, counts, file checksums
    CURRENT                              name of the version being served

A new version is written to a temporary folder, checked, renamed into place, and only
then does CURRENT switch (an atomic rename). A crash at any point leaves the previous
version serving; a version whose checksums do not match is refused with a clear error.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from knowledge.documents_model import Passage

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
KEEP_VERSIONS = 3


class IndexUnavailable(Exception):
    """The index is missing or unusable; the message tells the maintainer what to do."""



@dataclass
class DocumentInfo:
    doc_id: str
    title: str
    service: str
    kind: str
    url: str
    updated: str
    doc_hash: str
    path: str
    passages: int


@dataclass
class IndexVersion:
    """One loaded, verified version: everything search needs, in memory."""

    version: str
    path: Path
    manifest: dict
    index: faiss.Index
    passages: list[Passage]
    documents: dict[str, DocumentInfo] = field(default_factory=dict)

    @property
    def model_name(self) -> str:
        return self.manifest["model"]

    def vectors(self) -> np.ndarray:
        if self.index.ntotal == 0:
            return np.zeros((0, self.index.d), dtype="float32")
        return self.index.reconstruct_n(0, self.index.ntotal)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def new_version_name() -> str:
    """Sortable by time; the letter before the random part keeps the time digits and the hex
    digits apart, so log redaction never takes "…T105147-294d54" for a 9-digit ID number."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-v" + uuid.uuid4().hex[:6]


class IndexStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.versions_dir = self.root / "versions"
        self.current_file = self.root / "CURRENT"

    # ---------- reading ----------
    def current_version_name(self) -> str | None:
        try:
            name = self.current_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def load(self, version: str | None = None) -> IndexVersion:
        version = version or self.current_version_name()
        if not version:
            raise IndexUnavailable(
                f"no knowledge index in {self.root}; build one with `trolyao index build`")
        path = self.versions_dir / version
        manifest_path = path / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise IndexUnavailable(f"index version {version}: manifest.json is missing") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise IndexUnavailable(f"index version {version}: manifest.json is corrupt ({exc})") from exc
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexUnavailable(f"index version {version}: unknown format {manifest.get('format')}")
        for name, expected in manifest.get("checksums", {}).items():
            file = path / name
            if not file.exists():
                raise IndexUnavailable(f"index version {version}: {name} is missing")
            if _sha256_file(file) != expected:
                raise IndexUnavailable(
                    f"index version {version}: {name} is corrupt or half-written (checksum mismatch)")
        try:
            index = faiss.read_index(str(path / "vectors.faiss"))
        except RuntimeError as exc:
            raise IndexUnavailable(f"index version {version}: vectors.faiss unreadable ({exc})") from exc
        passages, documents = self._read_metadata(path / "passages.sqlite")
        if index.ntotal != len(passages):
            raise IndexUnavailable(
                f"index version {version}: {index.ntotal} vectors but {len(passages)} passages")
        return IndexVersion(version, path, manifest, index, passages, documents)

    @staticmethod
    def _read_metadata(db_path: Path) -> tuple[list[Passage], dict[str, DocumentInfo]]:
        try:
            con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
            try:
                columns = {r[1] for r in con.execute("PRAGMA table_info(passages)")}
                # Versions written before provenance was stored have no instrument/reviewed.
                provenance = ", instrument, reviewed" if "instrument" in columns else ", '', ''"
                rows = con.execute(
                    "SELECT passage_id, doc_id, title, service, kind, url, section, text, updated,"
                    f" doc_hash, aliases{provenance} FROM passages ORDER BY row").fetchall()
                doc_rows = con.execute(
                    "SELECT doc_id, title, service, kind, url, updated, doc_hash, path, passages"
                    " FROM documents ORDER BY doc_id").fetchall()
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise IndexUnavailable(f"{db_path.name} is corrupt ({exc})") from exc
        passages = [Passage(*r[:10], aliases=json.loads(r[10] or "[]"), instrument=r[11] or "",
                            reviewed=r[12] or "") for r in rows]
        documents = {r[0]: DocumentInfo(*r) for r in doc_rows}
        return passages, documents

    # ---------- writing ----------
    def write(self, passages: list[Passage], vectors: np.ndarray, documents: list[DocumentInfo],
              model_name: str, extra: dict | None = None) -> str:
        """Write a complete new version beside the old one, verify it, then switch CURRENT."""
        if len(passages) != len(vectors):
            raise ValueError("passages and vectors differ in length")
        version = new_version_name()
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.versions_dir / f".tmp-{version}"
        tmp.mkdir()
        try:
            dim = int(vectors.shape[1]) if len(vectors) else int((extra or {}).get("dim", 384))
            index = faiss.IndexFlatIP(dim)  # exact search: the corpus is thousands, not millions
            if len(vectors):
                index.add(np.ascontiguousarray(vectors, dtype="float32"))
            faiss.write_index(index, str(tmp / "vectors.faiss"))
            self._write_metadata(tmp / "passages.sqlite", passages, documents)
            manifest = {
                "format": FORMAT_VERSION,
                "version": version,
                "model": model_name,
                "dim": dim,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "documents": len(documents),
                "passages": len(passages),
                "checksums": {name: _sha256_file(tmp / name)
                              for name in ("vectors.faiss", "passages.sqlite")},
                **(extra or {}),
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                               encoding="utf-8")
            _fsync_dir_files(tmp)
            final = self.versions_dir / version
            os.replace(tmp, final)
            self.load(version)  # refuse to publish a version that does not load
            self._switch_current(version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.prune()
        log.info("index version %s published: %d documents, %d passages",
                 version, len(documents), len(passages))
        return version

    def _switch_current(self, version: str) -> None:
        tmp = self.root / f".CURRENT.{uuid.uuid4().hex}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(version + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.current_file)

    @staticmethod
    def _write_metadata(db_path: Path, passages: list[Passage], documents: list[DocumentInfo]) -> None:
        con = sqlite3.connect(db_path)
        try:
            con.executescript(
                """
                CREATE TABLE passages (row INTEGER PRIMARY KEY, passage_id TEXT UNIQUE, doc_id TEXT,
                    title TEXT, service TEXT, kind TEXT, url TEXT, section TEXT, text TEXT,
                    updated TEXT, doc_hash TEXT, content_hash TEXT, aliases TEXT,
                    instrument TEXT, reviewed TEXT);
                CREATE TABLE documents (doc_id TEXT PRIMARY KEY, title TEXT, service TEXT, kind TEXT,
                    url TEXT, updated TEXT, doc_hash TEXT, path TEXT, passages INTEGER);
                CREATE INDEX passages_service ON passages(service);
                """)
            con.executemany(
                "INSERT INTO passages VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(i, p.passage_id, p.doc_id, p.title, p.service, p.kind, p.url, p.section, p.text,
                  p.updated, p.doc_hash, p.content_hash, json.dumps(p.aliases, ensure_ascii=False),
                  p.instrument, p.reviewed)
                 for i, p in enumerate(passages)])
            con.executemany(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?)",
                [(d.doc_id, d.title, d.service, d.kind, d.url, d.updated, d.doc_hash, d.path,
                  d.passages) for d in documents])
            con.commit()
        finally:
            con.close()

    def prune(self, keep: int = KEEP_VERSIONS) -> None:
        """Delete old versions (and abandoned temp folders), never the current one."""
        if not self.versions_dir.exists():
            return
        current = self.current_version_name()
        for tmp in self.versions_dir.glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        versions = sorted(p for p in self.versions_dir.iterdir() if p.is_dir())
        for old in versions[:-keep]:
            if old.name != current:
                shutil.rmtree(old, ignore_errors=True)


def _fsync_dir_files(folder: Path) -> None:
    for file in folder.iterdir():
        with open(file, "rb") as fh:
            os.fsync(fh.fileno())
