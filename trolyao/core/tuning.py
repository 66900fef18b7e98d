"""Speed settings for a small CPU server, applied once per process before models load.

Found by profiling one answer (pyinstrument, see bench/README.md; the patches themselves are in rasa_internals.py):
- Rasa validates every custom-action response with `jsonschema.validate`, which re-checks
  the (constant) schema itself on each call: ~40 % of an answer's time. Responses from an
  action server are validated against a validator compiled once; responses built in this
  process by rasa_sdk's own executor never crossed a wire and are not re-validated.
- Rasa resolves each stored event's class by walking all Event subclasses, for every event
  of every tracker it loads. The mapping never changes after import, so it is cached.
- Loading the Rasa model, DIET and TED each run one training step only to create their
  weights (tracing the whole training graph and Adam's slots) before reading the saved
  ones: about half of the cold start and a third of the memory. We create the weights with
  one eager prediction instead; the saved weights then replace them exactly as before
  (tests/test_tuning.py checks that predictions are identical). `TROLYAO_FAST_MODEL_LOAD=0`
  restores Rasa's own loading.
- torch, TensorFlow and FAISS each start a thread per core by default. With several
  gunicorn workers on 2 cores they fight over the cores; each worker gets its share
  (`TROLYAO_COMPUTE_THREADS`, default: cores / workers, at least 1, set by the gunicorn
  launcher: trolyao/serving/gunicorn.py).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys

from trolyao.core import rasa_internals
from trolyao.core.inprocess_actions import InProcessActionEndpoint

log = logging.getLogger(__name__)

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_applied = False


def compute_threads() -> int:
    value = os.environ.get("TROLYAO_COMPUTE_THREADS", "")
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    return os.cpu_count() or 1


def set_thread_environment(threads: int) -> None:
    """For OpenMP users loaded later (it reads these once); explicit settings win."""
    for name in _THREAD_VARS:
        os.environ.setdefault(name, str(threads))


def limit_threads(threads: int) -> None:
    # torch is only there when a sentence-transformers embedder loaded it; importing it here
    # would cost every worker ~200 MB for nothing with the bundled E5. A torch imported later
    # reads the OMP/MKL variables set by set_thread_environment.
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except (ImportError, RuntimeError):  # RuntimeError: TF already initialised in this process
        pass
    try:
        import faiss

        faiss.omp_set_num_threads(threads)
    except (ImportError, AttributeError):  # pragma: no cover
        pass


@contextlib.contextmanager
def rasa_model_loading():
    """Load models the way Rasa itself does, inside this block."""
    fast = rasa_internals.restore_rasa_model_load()
    try:
        yield
    finally:
        rasa_internals.reinstall_model_load(fast)


def apply() -> None:
    """Idempotent: the web app, the CLI and tests may all call it."""
    global _applied
    if _applied:
        return
    _applied = True
    threads = compute_threads()
    set_thread_environment(threads)
    limit_threads(threads)
    # The three patches touch Rasa internals, so they live in rasa_internals.py.
    rasa_internals.compile_action_response_schema(InProcessActionEndpoint)
    rasa_internals.cache_event_types()
    if os.environ.get("TROLYAO_FAST_MODEL_LOAD", "1") != "0":
        rasa_internals.load_models_for_inference()
    log.debug("tuning applied: %d compute threads", threads)
