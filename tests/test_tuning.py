"""The speed settings change how fast answers come, never what they say."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

MESSAGES = ["Làm lý lịch tư pháp trên VNeID thế nào?", "xin chao", "cam on nhieu",
            "dang ky tam tru can giay to gi", "asdkjh qwe zxc", "cho tôi gặp cán bộ"]


def tf_models(agent) -> dict:
    """DIET's and TED's TensorFlow models, by component class name."""
    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    found = {}
    for node in nodes:
        component = getattr(node, "_component", None)
        if type(component).__name__ in ("DIETClassifier", "TEDPolicy"):
            found[type(component).__name__] = component
    return found


@pytest.fixture(scope="module")
def rasa_loaded_agent(rasa_model):
    from rasa.core.agent import Agent

    from trolyao.core import tuning

    with tuning.rasa_model_loading():
        agent = Agent()
        agent.load_model(str(rasa_model))
    return agent


def test_fast_loading_restores_exactly_the_trained_weights(assistant, rasa_loaded_agent):
    fast, stock = tf_models(assistant.agent), tf_models(rasa_loaded_agent)
    assert set(fast) == {"DIETClassifier", "TEDPolicy"} == set(stock)
    for name in fast:
        stock_weights = effective_weights(stock[name].model)
        fast_weights = effective_weights(fast[name].model)
        assert len(fast_weights) > 10, name
        for weight_name, value in fast_weights.items():
            np.testing.assert_array_equal(value, stock_weights[weight_name],
                                          err_msg=f"{name}: {weight_name}")


def effective_weights(model) -> dict:
    """Weights by name, as the layers compute with them. Rasa's sparsely connected layers
    multiply their kernel by a fixed mask at every call: entries under the mask's zeros are
    zero once a layer has run, and whatever was saved there before that never counts."""
    weights = {w.name: w.numpy() for w in model.weights}
    for weight_name, value in list(weights.items()):
        mask = weights.get(weight_name.replace("/kernel:0", "/kernel_mask:0"))
        if weight_name.endswith("/kernel:0") and mask is not None:
            weights[weight_name] = value * mask
    return weights


def test_fast_loading_predicts_the_same_intents_and_next_actions(assistant, rasa_loaded_agent):
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    fast_ted = tf_models(assistant.agent)["TEDPolicy"]
    stock_ted = tf_models(rasa_loaded_agent)["TEDPolicy"]
    domain = rasa_loaded_agent.domain
    for text in MESSAGES:
        fast = assistant._submit(assistant.agent.parse_message(text))
        stock = asyncio.run(rasa_loaded_agent.parse_message(text))
        assert [(r["name"], round(r["confidence"], 5)) for r in fast["intent_ranking"]] == \
            [(r["name"], round(r["confidence"], 5)) for r in stock["intent_ranking"]], text
        tracker = DialogueStateTracker.from_events("t", [
            ActionExecuted("action_listen"), UserUttered(text, stock["intent"], [])],
            slots=domain.slots)
        np.testing.assert_allclose(
            fast_ted.predict_action_probabilities(tracker, domain).probabilities,
            stock_ted.predict_action_probabilities(tracker, domain).probabilities,
            atol=1e-6, err_msg=text)


def test_action_responses_from_a_remote_server_are_still_validated():
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    from trolyao.core import tuning

    tuning.apply()
    remote = RemoteAction("action_answer_question", EndpointConfig("http://127.0.0.1:1/webhook"))
    assert remote._validate_action_result({"events": [{"event": "slot", "name": "x",
                                                       "value": 1}], "responses": []})
    with pytest.raises(ValidationError):
        remote._validate_action_result({"events": [{"event": "no-such-event"}]})
