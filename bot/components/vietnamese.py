"""Custom Rasa NLU components for Vietnamese.

- VietnameseTokenizer: tokens are *folded* syllables ("lý" -> "ly"), so every featurizer
  after it treats text typed with and without tone marks the same way.
- CatalogEntityExtractor: finds `service` (catalog ids, from the catalog's names and
  aliases) and `aspect` (fee, time, documents, ...) by folded phrase matching. It is
  generated from the catalog, so a new alias needs no retraining of DIET.
"""
from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.textnorm import fold

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
        return self._apply_token_pattern(tokens)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class CatalogEntityExtractor(GraphComponent, EntityExtractorMixin):
    """`service` and `aspect` entities from the catalog and the aspect cue list."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"catalog": None}

    def __init__(self, config: dict[str, Any]):
        from knowledge.catalog import load_catalog

        self.catalog = load_catalog(config.get("catalog"))

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
            found = self.extract(text)
            if found:
                entities = message.get(ENTITIES, []) + self.add_extractor_name(found)
                message.set(ENTITIES, entities, add_to_output=True)
        return messages

    def extract(self, text: str) -> list[dict[str, Any]]:
        from actions.aspects import detect_aspect

        entities = []
        seen: set[str] = set()
        # Folding keeps character offsets for NFC text, so folded spans index the original.
        for mention in self.catalog.mentions(text):
            if mention.service_id in seen:
                continue
            seen.add(mention.service_id)
            entities.append({"entity": "service", "value": mention.service_id,
                             "start": mention.start, "end": mention.end,
                             "text": text[mention.start:mention.end], "confidence_entity": 1.0})
        aspect = detect_aspect(text)
        if aspect:
            name, start, end = aspect
            entities.append({"entity": "aspect", "value": name, "start": start, "end": end,
                             "text": text[start:end], "confidence_entity": 1.0})
        return entities
