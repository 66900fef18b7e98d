"""Index save/load, atomic versions, corruption handling and incremental builds (real FAISS)."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from knowledge.builder import IndexBuilder
from knowledge.catalog import load_catalog
from knowledge.embedding import shared_embedder
from knowledge.index_store import IndexStore, IndexUnavailable
from knowledge.search import KnowledgeBase

DOC = """---
title: "{title}"
service: {service}
kind: procedure
source_url: "https://example.gov.vn/{service}"
updated: 2025-01-01
---
# {title}

## Các bước thực hiện
{body}
"""


def write_doc(folder: Path, name: str, service: str, title: str, body: str) -> Path:
    path = folder / f"{name}.md"
    path.write_text(DOC.format(title=title, service=service, body=body), encoding="utf-8")
    return path


@pytest.fixture()
def corpus(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_doc(docs, "lltp", "ly-lich-tu-phap", "Phiếu lý lịch tư pháp",
              "Mở ứng dụng VNeID, chọn thủ tục cấp Phiếu lý lịch tư pháp, khai tờ khai và nộp lệ phí.")
    write_doc(docs, "tamtru", "tam-tru", "Đăng ký tạm trú",
              "Người thuê trọ đăng ký tạm trú qua Cổng dịch vụ công hoặc VNeID trong 30 ngày.")
    return docs


@pytest.fixture()
def builder(tmp_path):
    return IndexBuilder(IndexStore(tmp_path / "index"), shared_embedder(), load_catalog())


def test_save_and_load_round_trip(builder, corpus):
    report = builder.build([corpus])
    assert report.documents == 2 and report.passages >= 2 and not report.errors
    version = builder.store.load()
    assert version.version == report.version
    assert version.index.ntotal == len(version.passages) == report.passages
    assert {p.service for p in version.passages} == {"ly-lich-tu-phap", "tam-tru"}
    assert version.documents["lltp"].url == "https://example.gov.vn/ly-lich-tu-phap"


def test_search_finds_the_right_document(builder, corpus):
    builder.build([corpus])
    kb = KnowledgeBase(builder.store, builder.embedder, builder.catalog)
    kb.load()
    hits = kb.search("thuê trọ phải đăng ký tạm trú không")
    assert hits[0].passage.service == "tam-tru"
    hits = kb.search("ly lich tu phap")
    assert hits[0].passage.service == "ly-lich-tu-phap"


def test_incremental_build_reembeds_only_changed_documents(builder, corpus):
    first = builder.build([corpus])
    assert first.embedded_passages == first.passages
    again = builder.build([corpus])
    assert again.skipped and again.version == first.version, "nothing changed: no new version"
    write_doc(corpus, "tamtru", "tam-tru", "Đăng ký tạm trú",
              "Sinh viên thuê trọ đăng ký tạm trú trực tuyến trên VNeID.")
    changed = builder.build([corpus])
    assert changed.changed == ["tamtru"] and changed.unchanged == ["lltp"]
    assert changed.embedded_passages == 1
    (corpus / "lltp.md").unlink()
    removed = builder.build([corpus])
    assert removed.removed == ["lltp"] and removed.embedded_passages == 0
    assert {p.doc_id for p in builder.store.load().passages} == {"tamtru"}


def test_corrupt_new_version_keeps_the_old_one_serving(builder, corpus, caplog):
    builder.build([corpus])
    kb = KnowledgeBase(builder.store, builder.embedder, builder.catalog)
    serving = kb.load()
    write_doc(corpus, "tamtru", "tam-tru", "Đăng ký tạm trú", "Nội dung mới về tạm trú cho sinh viên.")
    newer = builder.build([corpus]).version
    # Simulate a half-written file in the new version.
    faiss_file = builder.store.versions_dir / newer / "vectors.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    with caplog.at_level(logging.ERROR):
        assert kb.reload_if_changed() is False
    assert kb.version == serving
    assert "checksum mismatch" in caplog.text and serving in caplog.text
    assert kb.search("tạm trú"), "the old version still answers"


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexUnavailable, match="trolyao index build"):
        IndexStore(tmp_path / "nothing").load()


def test_failed_build_leaves_current_version(builder, corpus, monkeypatch):
    first = builder.build([corpus]).version
    write_doc(corpus, "tamtru", "tam-tru", "Đăng ký tạm trú", "Một nội dung khác hẳn.")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(builder.store, "_write_metadata", boom)
    with pytest.raises(RuntimeError):
        builder.build([corpus])
    assert builder.store.current_version_name() == first
    assert not list(builder.store.versions_dir.glob(".tmp-*")), "temporary folder cleaned up"
    assert builder.store.load().version == first


def test_version_names_survive_log_redaction():
    # Logs name the served version; redaction of ID numbers must not mangle it.
    from knowledge.index_store import new_version_name
    from trolyao.core.redaction import redact

    for _ in range(200):
        name = new_version_name()
        assert redact(f"still serving {name}") == f"still serving {name}"


def test_the_legal_basis_and_review_date_survive_the_index(builder, corpus):
    # The citation names the instrument of the quoted section: it must come back from disk,
    # also for documents an incremental build does not re-read.
    path = corpus / "lltp.md"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "updated: 2025-01-01", "updated: 2025-01-01\ninstrument: \"Luật Lý lịch tư pháp 2009\"\n"
        "reviewed: 2025-02-01"), encoding="utf-8")
    builder.build([corpus])
    (corpus / "tamtru.md").write_text((corpus / "tamtru.md").read_text(encoding="utf-8")
                                      + "\nThêm một câu.\n", encoding="utf-8")
    builder.build([corpus])  # lltp.md unchanged: its passages are reused from the last version
    lltp = [p for p in builder.store.load().passages if p.doc_id == "lltp"]
    assert lltp and all(p.instrument == "Luật Lý lịch tư pháp 2009" for p in lltp)
    assert all(p.reviewed == "2025-02-01" for p in lltp)
