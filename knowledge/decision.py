"""The decision to answer or to decline, from the retrieval hits of one question.

Kept apart from the Rasa action so it can be tuned and tested on fixed examples and on the
development set (`trolyao eval`) without running a conversation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Below this fused score nothing found is relevant enough to quote as an answer.
ANSWER_THRESHOLD = 0.30


@dataclass
class Decision:
    answer: bool
    reason: str
    candidates: list[str] = field(default_factory=list)  # closest service ids, best first


def decide(query: str, hits: list, intent: str | None = None, intent_confidence: float = 0.0,
           named_services: list[str] | None = None) -> Decision:
    """Answer when the best hit is relevant enough; otherwise decline with suggestions."""
    candidates: list[str] = []
    for hit in hits:
        if hit.passage.service not in candidates:
            candidates.append(hit.passage.service)
    if not hits:
        return Decision(False, "no_hits", candidates)
    if hits[0].score < ANSWER_THRESHOLD:
        return Decision(False, "low_score", candidates[:3])
    return Decision(True, "ok", candidates[:3])
