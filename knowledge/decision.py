"""The decision to answer, ask to clarify, or decline, from the retrieval hits of one question.

Kept apart from the Rasa action so it can be tuned and tested on fixed examples and on the
development set (`trolyao eval`) without running a conversation. The action renders it:
- "answer":  quote the best passage with its citation (fallback=false)
- "clarify": not sure which service; ask, with the closest services as buttons (fallback=true)
- "decline": outside what the knowledge base covers; say so, give the official channels
             (fallback=true)
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Below this fused score nothing found is relevant enough to quote as an answer.
ANSWER_THRESHOLD = 0.30
# Between CLARIFY_THRESHOLD and ANSWER_THRESHOLD the closest services are offered as buttons.
CLARIFY_THRESHOLD = 0.22

ANSWER, CLARIFY, DECLINE = "answer", "clarify", "decline"


@dataclass
class Decision:
    action: str  # ANSWER | CLARIFY | DECLINE
    reason: str
    candidates: list[str] = field(default_factory=list)  # closest service ids, best first

    @property
    def answer(self) -> bool:
        return self.action == ANSWER


def decide(query: str, hits: list, intent: str | None = None, intent_confidence: float = 0.0,
           named_services: list[str] | None = None) -> Decision:
    candidates: list[str] = []
    for hit in hits:
        if hit.passage.service not in candidates:
            candidates.append(hit.passage.service)
    if not hits:
        return Decision(DECLINE, "no_hits", [])
    best = hits[0].score
    if best >= ANSWER_THRESHOLD:
        return Decision(ANSWER, "relevant", candidates[:3])
    if best >= CLARIFY_THRESHOLD:
        return Decision(CLARIFY, "uncertain", candidates[:3])
    return Decision(DECLINE, "low_score", candidates[:3])
