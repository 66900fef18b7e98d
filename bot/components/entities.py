"""Entities of one message, found by phrase matching (no training): which service, which
aspect of it, which Hanoi place, and the LLTP form's two choices."""
from __future__ import annotations

import re
from typing import Any

from bot.components.lexicon import (ASK_VERBS, HANOI_LOCATIONS, LLTP_REQUESTER_CUES,
                                    LLTP_TYPE_CUES, PLACE_WORDS, SERVICE_SYNONYMS)
from bot.components.phrases import PhraseMatch, PhraseMatcher, syllables
from knowledge.answering.aspects import detect_aspect
from knowledge.catalog import Catalog

LLTP = "ly-lich-tu-phap"
# The LLTP choices are read from messages about LLTP, or from short replies to the form's
# questions that name no service ("phiếu số 1", "cho bố tôi"); "khai sinh cho con" says
# nothing about LLTP.
SHORT_REPLY = 6


def service_phrases(catalog: Catalog) -> dict[str, list[str]]:
    """Catalog names (also without their parenthesised explanation), aliases and synonyms."""
    phrases: dict[str, list[str]] = {}
    for service in catalog.services:
        names = phrases.setdefault(service.id, [])
        for name in service.all_names():
            names.append(name)
            head = re.sub(r"\s*\(.*$", "", name).strip()
            if head and head != name:
                names.append(head)
    for service_id, extra in SERVICE_SYNONYMS.items():
        if service_id in catalog:
            phrases.setdefault(service_id, []).extend(extra)
    return phrases


class EntityFinder:
    def __init__(self, catalog: Catalog):
        self.services = PhraseMatcher(service_phrases(catalog))
        self.locations = PhraseMatcher({name: [name] for name in HANOI_LOCATIONS})
        self.place_words = {tuple(w.split()) for w in PLACE_WORDS}
        self.lltp_types = PhraseMatcher(LLTP_TYPE_CUES)
        self.requesters = PhraseMatcher(LLTP_REQUESTER_CUES)

    def extract(self, text: str) -> list[dict[str, Any]]:
        entities = []
        seen: set[str] = set()
        for match in self.services.find(text):
            if match.value not in seen:
                seen.add(match.value)
                entities.append(_entity("service", match.value, text, match.start, match.end))
        aspect = detect_aspect(text)
        if aspect:
            name, start, end = aspect
            entities.append(_entity("aspect", name, text, start, end))
        for match in self.find_locations(text)[:1]:
            entities.append(_entity("location", match.value, text, match.start, match.end))
        if LLTP in seen or (not seen and len(syllables(text)) <= SHORT_REPLY):
            for name, matches in (("lltp_type", self.lltp_types.find(text, typos=False)),
                                  ("lltp_requester", self.find_requesters(text))):
                # "phiếu số 1 và số 2 khác nhau gì?" chooses nothing
                if len({m.value for m in matches}) == 1:
                    entities.append(_entity(name, matches[0].value, text, matches[0].start,
                                            matches[0].end))
        return entities

    def find_locations(self, text: str) -> list[PhraseMatch]:
        """Place names after a place word ("phường Cầu Giấy", "ở Đống Đa") or capitalised."""
        words = [s.text for s in syllables(text)]
        found = []
        for match in self.locations.find(text, typos=False):
            before = tuple(words[max(0, match.first - 2):match.first])
            after_place_word = (before[-1:] in self.place_words or before in self.place_words)
            if after_place_word or text[match.start:match.start + 1].isupper():
                found.append(match)
        return found

    def find_requesters(self, text: str) -> list[PhraseMatch]:
        """Requester cues, except polite openers such as "cho em hỏi", "cho tôi biết"."""
        words = [s.text for s in syllables(text)]
        found = []
        for match in self.requesters.find(text, typos=False):
            opener = words[match.first] == "cho" and match.last < len(words) \
                and words[match.last] in ASK_VERBS
            if not opener:
                found.append(match)
        return found


def _entity(name: str, value: str, text: str, start: int, end: int) -> dict[str, Any]:
    return {"entity": name, "value": value, "start": start, "end": end,
            "text": text[start:end], "confidence_entity": 1.0}
