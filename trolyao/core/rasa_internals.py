"""Every use of Rasa's private names, in one place.

Rasa 3.6 has no public API for a few things the assistant needs: running a message through
the processor while keeping the updated tracker, unwrapping the tracker store Rasa wraps in
FailSafe/Awaitable stores, keeping an answer in one message, and the three speed patches of
`trolyao.core.tuning`. They all live here, so a Rasa upgrade breaks in this file only, and
`tests/test_rasa_internals.py` names the private attribute that went away.

PRIVATE_NAMES lists each (object path, attribute) used; keep it in step with the code below.
"""
from __future__ import annotations

import functools

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

# (module:object, attribute) for every private Rasa name this module touches.
PRIVATE_NAMES = (
    ("rasa.core.processor:MessageProcessor", "_handle_message_with_tracker"),
    ("rasa.core.processor:MessageProcessor", "_run_prediction_loop"),
    ("rasa.core.channels.channel:CollectingOutputChannel", "_persist_message"),
    ("rasa.core.channels.channel:CollectingOutputChannel", "_message"),
    ("rasa.core.tracker_store:FailSafeTrackerStore", "_tracker_store"),
    ("rasa.core.tracker_store:AwaitableTrackerStore", "_tracker_store"),
    ("rasa.core.actions.action:RemoteAction", "_validate_action_result"),
    ("rasa.nlu.tokenizers.tokenizer:Tokenizer", "_apply_token_pattern"),
)
# Public names whose behaviour the speed patches replace (checked by the same test).
PATCHED_NAMES = (
    ("rasa.shared.core.events:Event", "resolve_by_type"),
    ("rasa.utils.tensorflow.models:RasaModel", "load"),
    ("rasa.utils.tensorflow.models:RasaModel", "run_inference"),
    ("rasa.utils.tensorflow.models:RasaModel", "predict_step"),
    ("rasa.core.actions.action:RemoteAction", "action_response_format_spec"),
)

_rasa_model_load = None  # Rasa's own RasaModel.load, kept for `rasa_model_loading`


# ---------------------------------------------------------------- stores and messages
def innermost_store(store):
    """Rasa wraps stores (FailSafe -> Awaitable -> SQL/Redis); the one that holds connections."""
    while hasattr(store, "_tracker_store"):
        store = store._tracker_store
    return store


class WholeMessageCollector(CollectingOutputChannel):
    """Keeps an answer in one message (Rasa's collector splits text on blank lines)."""

    async def send_text_message(self, recipient_id, text, **kwargs):
        await self._persist_message(self._message(recipient_id, text=text.strip()))


async def handle_with_tracker(processor, text: str, collector, sender: str, tracker,
                              input_channel: str = "trolyao"):
    """Rasa 3.6's `MessageProcessor.handle_message` after the tracker is loaded, keeping the
    updated tracker (reading it back from the store cost a query and ~7 ms per answer):
    parse, extract slots, predict and run actions, anonymize, save. Returns the tracker."""
    message = UserMessage(text, collector, sender, input_channel=input_channel)
    await processor._handle_message_with_tracker(message, tracker)
    tracker = await processor.run_action_extract_slots(message.output_channel, tracker)
    await processor._run_prediction_loop(message.output_channel, tracker)
    await processor.run_anonymization_pipeline(tracker)
    await processor.save_tracker(tracker)
    return tracker


def apply_token_pattern(tokenizer, tokens):
    """Rasa's Tokenizer splits tokens on the configured `token_pattern` here."""
    return tokenizer._apply_token_pattern(tokens)


# ---------------------------------------------------------------- speed patches (tuning)
def compile_action_response_schema(skip_endpoint_type) -> None:
    """Validate action-server responses against a schema compiled once (Rasa re-checks the
    constant schema itself on every call); responses of `skip_endpoint_type` endpoints (built in
    this process by rasa_sdk's own executor) are not re-validated."""
    from jsonschema import Draft202012Validator, ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    validator = Draft202012Validator(RemoteAction.action_response_format_spec())

    def _validate_action_result(self, result):
        if isinstance(self.action_endpoint, skip_endpoint_type):
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
    """Event class by type name, cached (Rasa walks all Event subclasses for every event)."""
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
    """DIET and TED create their weights with one eager prediction instead of a training step."""
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


def restore_rasa_model_load():
    """Put Rasa's own RasaModel.load back; returns the patched one (to re-install)."""
    from rasa.utils.tensorflow.models import RasaModel

    fast = RasaModel.__dict__["load"]
    if _rasa_model_load is not None:
        RasaModel.load = classmethod(_rasa_model_load)
    return fast


def reinstall_model_load(fast) -> None:
    from rasa.utils.tensorflow.models import RasaModel

    RasaModel.load = fast
