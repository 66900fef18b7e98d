"""Custom Rasa NLU components for Vietnamese.

- VietnameseTokenizer: tokens are *folded* syllables ("lý" -> "ly"), so every featurizer
  after it treats text typed with and without tone marks the same way.
- CatalogEntityExtractor: finds `service` (catalog ids, from the catalog's names, aliases
  and bot/components/lexicon.py synonyms), `aspect` (fee, time, documents, ...), `location`
  (Hanoi places) and the LLTP form's choices by folded, typo-tolerant phrase matching. It is
  generated from the catalog, so a new alias needs no retraining of DIET.
- UnknownWordsFallback: `nlu_fallback` for messages made mostly of words never seen.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.entities import EntityFinder, service_phrases
from knowledge.catalog import load_catalog
from knowledge.textnorm import fold, words
from trolyao.core.rasa_internals import apply_token_pattern

_TOKEN = re.compile(r"\w+", re.UNICODE)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseTokenizer(Tokenizer):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intent_tokenization_flag": False, "intent_split_symbol": "_",
                "token_pattern": None, "prefix_separator_symbol": None}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VietnameseTokenizer":
        return cls(config)

    @staticmethod
    def supported_languages() -> list[str] | None:
        return None

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        tokens = []
        for match in _TOKEN.finditer(text):
            folded = fold(match.group(0))
            tokens.append(Token(folded, match.start(), match.end(), lemma=folded))
        if not tokens:  # Rasa needs at least one token (e.g. a message of only emoji)
            tokens.append(Token(fold(text) or "_", 0, len(text)))
        return apply_token_pattern(self, tokens)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class CatalogEntityExtractor(GraphComponent, EntityExtractorMixin):
    """`service`, `aspect`, `location`, `lltp_type`, `lltp_requester` entities by folded,
    typo-tolerant phrase matching (see bot/components/entities.py)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"catalog": None}

    def __init__(self, config: dict[str, Any]):
        self.finder = EntityFinder(load_catalog(config.get("catalog")))

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CatalogEntityExtractor":
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not text or text.startswith("/"):
                continue
            found = self.finder.extract(text)
            if found:
                entities = message.get(ENTITIES, []) + self.add_extractor_name(found)
                message.set(ENTITIES, entities, add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsFallback(GraphComponent, IntentClassifier):
    """Marks a message as `nlu_fallback` when most of its words were never seen in training
    data nor in the catalog ("asdkj qwe zxc", another language): DIET always picks some
    intent with high confidence, even for gibberish. A message naming a catalog service
    (even with typos) is never marked. `nlu_fallback` still goes to the knowledge base; it
    only makes a failed answer a clarifying question instead of a decline."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"min_known_ratio": 0.5, "catalog": None}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 vocabulary: set[str] | None = None):
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary or set()

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "UnknownWordsFallback":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary = {w for example in training_data.intent_examples
                      for w in words(example.get(TEXT) or "")}
        for phrases in service_phrases(load_catalog(self.config.get("catalog"))).values():
            vocabulary.update(w for phrase in phrases for w in words(phrase))
        self.vocabulary = vocabulary
        with self._model_storage.write_to(self._resource) as directory:
            (Path(directory) / "vocabulary.json").write_text(
                json.dumps(sorted(vocabulary), ensure_ascii=False), encoding="utf-8")
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "UnknownWordsFallback":
        try:
            with model_storage.read_from(resource) as directory:
                vocabulary = set(json.loads((Path(directory) / "vocabulary.json")
                                            .read_text(encoding="utf-8")))
        except ValueError:  # nothing persisted (no training data): never falls back
            vocabulary = set()
        return cls(config, model_storage, resource, vocabulary)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            known = self.known_ratio(message)
            if known is not None and known < self.config["min_known_ratio"]:
                fallback = {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": known}
                message.set(INTENT, fallback, add_to_output=True)
                ranking = message.get(INTENT_RANKING_KEY) or []
                message.set(INTENT_RANKING_KEY, [dict(fallback)] + ranking, add_to_output=True)
        return messages

    def known_ratio(self, message: Message) -> float | None:
        """Share of the message's words seen in training; None when the rule does not apply."""
        text = message.get(TEXT) or ""
        if not self.vocabulary or not text or text.startswith("/"):
            return None
        if any(e.get("entity") == "service" for e in message.get(ENTITIES) or []):
            return None
        tokens = words(text)
        if not tokens:
            return None
        known = sum(1 for t in tokens if t in self.vocabulary or t.isdigit())
        return round(known / len(tokens), 4)
