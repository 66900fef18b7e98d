"""Speed settings for a small CPU server, applied once per process before models load.

Found by profiling one answer (pyinstrument, see bench/README.md):
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
  (`TROLYAO_COMPUTE_THREADS`, default: cores / workers, at least 1).
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os

log = logging.getLogger(__name__)

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_applied = False
_rasa_model_load = None  # Rasa's own RasaModel.load, kept for comparison (tests)


def share_cores(workers: int) -> None:
    """Called by the gunicorn launcher before forking: each worker gets cores / workers."""
    if not os.environ.get("TROLYAO_COMPUTE_THREADS", "").strip():
        os.environ["TROLYAO_COMPUTE_THREADS"] = str(max(1, (os.cpu_count() or 1) // max(1, workers)))


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
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
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


def compile_action_response_schema() -> None:
    from jsonschema import Draft202012Validator, ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    from trolyao.inprocess_actions import InProcessActionEndpoint

    validator = Draft202012Validator(RemoteAction.action_response_format_spec())

    def _validate_action_result(self, result):
        if isinstance(self.action_endpoint, InProcessActionEndpoint):
            return True
        try:
            validator.validate(result)
            return True
        except ValidationError as e:  # same message as Rasa's own
            e.message += (". Failed to validate Action server response from API, make sure your "
                          f"response from the Action endpoint is valid. For more information "
                          f"about the format visit {DOCS_BASE_URL}/custom-actions")
            raise e

    RemoteAction._validate_action_result = _validate_action_result


def cache_event_types() -> None:
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type

    @functools.lru_cache(maxsize=None)
    def _cached(type_name):
        return original(type_name)

    def resolve_by_type(type_name, default=None):
        try:
            return _cached(type_name)
        except ValueError:
            if default is not None:
                return default
            raise

    Event.resolve_by_type = staticmethod(resolve_by_type)


def load_models_for_inference() -> None:
    from rasa.utils import train_utils
    from rasa.utils.tensorflow.models import RasaModel

    global _rasa_model_load
    rasa_load = _rasa_model_load = RasaModel.load.__func__

    def load(cls, model_file_name, model_data_example, predict_data_example=None,
             finetune_mode=False, *args, **kwargs):
        if finetune_mode or predict_data_example is None or predict_data_example.is_empty():
            return rasa_load(cls, model_file_name, model_data_example, predict_data_example,
                             finetune_mode, *args, **kwargs)
        import tensorflow as tf

        model = cls(*args, **kwargs)
        config = kwargs.get("config", {})
        model.compile(optimizer=tf.keras.optimizers.Adam(config.get("learning_rate", 0.001)),
                      run_eagerly=config.get("run_eagerly"))
        generator, _ = train_utils.create_data_generators(
            model_data=predict_data_example, batch_sizes=1, epochs=1, shuffle=False)
        batch_in = next(iter(generator))[0]
        model.predict_step(batch_in)  # eager: creates every weight an answer uses
        model.load_weights(model_file_name).expect_partial()  # optimizer state not needed
        # Label embeddings were computed from the random weights: recompute them, then trace.
        model.prepared_for_prediction = False
        model.run_inference(predict_data_example)
        return model

    RasaModel.load = classmethod(load)


@contextlib.contextmanager
def rasa_model_loading():
    """Load models the way Rasa itself does, inside this block."""
    from rasa.utils.tensorflow.models import RasaModel

    fast = RasaModel.__dict__["load"]
    if _rasa_model_load is not None:
        RasaModel.load = classmethod(_rasa_model_load)
    try:
        yield
    finally:
        RasaModel.load = fast


def apply() -> None:
    """Idempotent: the web app, the CLI and tests may all call it."""
    global _applied
    if _applied:
        return
    _applied = True
    threads = compute_threads()
    set_thread_environment(threads)
    limit_threads(threads)
    compile_action_response_schema()
    cache_event_types()
    if os.environ.get("TROLYAO_FAST_MODEL_LOAD", "1") != "0":
        load_models_for_inference()
    log.debug("tuning applied: %d compute threads", threads)
