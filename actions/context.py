"""What one message asks, given the conversation so far.

Citizens rarely repeat the service: after "Làm lý lịch tư pháp online thế nào?" they ask
"mất bao lâu?", "còn phí?", "thế còn đăng ký tạm trú?". `resolve_turn` decides which service
and which aspect (steps, fee, time, ...) a message is about, and the query to search with:
- a follow-up that names no service keeps the current service (and its aspect unless it
  names a new one): "còn phí?" -> fee of the same service;
- a follow-up that names another service switches service and keeps the aspect:
  "thế còn đăng ký tạm trú?" -> fee of tạm trú;
- a message that names no service but an aspect ("mất bao lâu thì có kết quả?", "cần giấy
  tờ gì?") or a short one stays on the current service: it is never sent to "which
  procedure?" while a service is in context;
- a new full question starts afresh: its own service, its own aspect or none.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.answering.aspects import ASPECT_LABELS
from knowledge.textnorm import words

# A message this short that names no service continues the conversation ("mất bao lâu?").
SHORT_FOLLOWUP = 5
# Folded openers: "thế còn ...", "còn phí?", "vậy làm online được không?"
FOLLOWUP_OPENERS = [("the", "con"), ("vay", "con"), ("con",), ("the", "thi"), ("vay", "thi"),
                    ("vay",), ("the",), ("neu", "vay"), ("va",), ("nhung",), ("con", "neu")]
# "... thì sao?", "... thì thế nào?"
FOLLOWUP_TAILS = [("thi", "sao"), ("thi", "the", "nao"), ("thi", "nhu", "the", "nao"),
                  ("thi", "ra", "sao"), ("the", "thi", "sao")]
# Words pointing back at what was just discussed.
BACK_REFERENCES = [("thu", "tuc", "nay"), ("thu", "tuc", "do"), ("thu", "tuc", "tren"),
                   ("viec", "nay"), ("viec", "do"), ("cai", "nay"), ("cai", "do"),
                   ("giay", "nay"), ("phieu", "nay"), ("nhu", "vay"), ("nhu", "tren"),
                   ("dich", "vu", "nay"), ("ho", "so", "nay"), ("truong", "hop", "nay")]
# "con tôi ..." (my child) is not "còn ..." (and ...): both fold to "con".
_CHILD_AFTER_CON = {"toi", "minh", "em", "nha", "cua", "chau", "be", "trai", "gai", "ong", "ba",
                    "anh", "chi", "duoi", "tren", "nho", "lon", "moi", "so"}


@dataclass
class Turn:
    service: str | None  # the service to answer about; None lets the search decide
    aspect: str | None
    query: str  # what to search the knowledge base for
    followup: bool = False  # the answer relies on the conversation's context
    aspect_kept: bool = False  # the aspect comes from an earlier message
    named: list[str] = field(default_factory=list)  # services named in this message


def _has(seq: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(seq[i:i + n]) == phrase for i in range(len(seq) - n + 1))


def has_followup_cue(text: str) -> bool:
    ws = words(text)
    for opener in FOLLOWUP_OPENERS:
        if tuple(ws[:len(opener)]) == opener:
            if opener == ("con",) and len(ws) > 1 and ws[1] in _CHILD_AFTER_CON:
                continue
            return True
    return any(tuple(ws[-len(t):]) == t for t in FOLLOWUP_TAILS) or \
        any(_has(ws, ref) for ref in BACK_REFERENCES)


def names_only_service(text: str, service_mentions: list[str]) -> bool:
    """ "đăng ký tạm trú?" or "tạm trú nhé": the message is the service name and little else."""
    rest = len(words(text)) - sum(len(words(m)) for m in service_mentions)
    return rest <= 2


def resolve_turn(text: str, services_now: list[str], aspects_now: list[str],
                 service_mentions: list[str], slot_service: str | None,
                 slot_aspect: str | None, service_name) -> Turn:
    """`service_name(id)` gives the short name used to put a follow-up's service in the query."""
    aspect_now = aspects_now[0] if aspects_now else None
    cue = has_followup_cue(text)
    if services_now:
        keep = aspect_now is None and slot_aspect is not None and \
            (cue or names_only_service(text, service_mentions))
        aspect = slot_aspect if keep else aspect_now
        query = f"{text} {ASPECT_LABELS.get(aspect, '')}".strip() if keep else text
        return Turn(services_now[0], aspect, query, followup=keep or cue, aspect_kept=keep,
                    named=list(services_now))
    if slot_service and (cue or aspect_now is not None or len(words(text)) <= SHORT_FOLLOWUP):
        keep = aspect_now is None and slot_aspect is not None
        aspect = slot_aspect if keep else aspect_now
        query = f"{service_name(slot_service)} {text}"
        if keep:
            query = f"{query} {ASPECT_LABELS.get(aspect, '')}"
        return Turn(slot_service, aspect, query.strip(), followup=True, aspect_kept=keep)
    return Turn(None, aspect_now, text)


def button_turn(service: str | None, aspect: str | None, service_name) -> Turn:
    """A clicked button (`/ask_procedure{"service": ...}`): ask about that service, keeping the
    aspect the citizen asked about before the clarifying question."""
    if not service:
        return Turn(None, aspect, "")
    query = f"{service_name(service)} {ASPECT_LABELS.get(aspect, '')}".strip()
    return Turn(service, aspect, query, followup=True, aspect_kept=aspect is not None,
                named=[service])
