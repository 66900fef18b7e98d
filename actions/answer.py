"""action_answer_question: answer from the knowledge base, in the context of the conversation.

One run: work out what the message asks (actions/context.py), maybe ask the LLTP choice first
(actions/lltp.py), search, let `knowledge.decision.decide` choose answer / clarify / decline,
and write the reply. The second failure in a row sets `handoff_due`; a rule then runs
action_hand_off, so the bot never asks the citizen to rephrase a third time.
"""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import lltp
from actions.dependencies import PROCESS
from actions.context import Turn, button_turn, resolve_turn
from actions.replies import (aspect_buttons, candidate_buttons, location_note, meta_payload,
                             utter_clarify, utter_decline)
from knowledge.answering import Answerer, answer_pool
from knowledge.answering.aspects import ASPECT_LABELS
from knowledge.decision import CLARIFY, decide
from knowledge.textnorm import fold
from knowledge.index_store import IndexUnavailable

log = logging.getLogger(__name__)

QUESTION_INTENTS = {"ask_procedure", "ask_policy", "ask_help_channel"}
FORM_ACTIONS = {"lltp_form", "action_deactivate_loop"}
HANDOFF_AFTER_FAILURES = 2
# A follow-up reads every section of its service's documents (a few documents x 7 sections).
FOLLOWUP_HITS = 30
# The answering stage is stateless: one for the process.
ANSWERER = Answerer()


def control(choice_needed: bool = False, handoff_due: bool = False) -> list[dict]:
    """The two slots the dialogue rules branch on; every run sets both (rules must see them).

    With both false every rule and story listens next, so the action says so: Rasa then skips
    one run of all its policies, a quarter of the time of an answer (bench/README.md)."""
    events = [SlotSet("choice_needed", choice_needed), SlotSet("handoff_due", handoff_due)]
    if not choice_needed and not handoff_due:
        events.append(FollowupAction("action_listen"))
    return events


# Verbs that say what the citizen wants to do; a service named right after one is the subject,
# one named elsewhere is a condition ("không có căn cước", "đã có hộ chiếu").
ACTION_VERBS = ("lam", "xin", "dang ky", "cap", "doi", "gia han", "nop", "lam lai", "cap lai",
                "cap doi", "lay")


def acted_on(text: str, services: list[str], catalog) -> str | None:
    """The named service that follows an action verb, when exactly one does."""
    folded = fold(text)
    found = set()
    for mention in catalog.mentions(text):
        if mention.service_id not in services:
            continue
        before = folded[:mention.start].split()[-2:]
        if any(" ".join(before[i:]) in ACTION_VERBS for i in range(len(before))):
            found.add(mention.service_id)
    return found.pop() if len(found) == 1 else None


def button_like(text: str) -> bool:
    return text.startswith("/")


def entity_values(tracker: Tracker, name: str) -> list[str]:
    entities = tracker.latest_message.get("entities") or []
    return [e["value"] for e in entities if e.get("entity") == name and e.get("value")]


def entity_texts(tracker: Tracker, name: str) -> list[str]:
    entities = tracker.latest_message.get("entities") or []
    return [e.get("text") or "" for e in entities if e.get("entity") == name]


class ActionAnswerQuestion(Action):
    deps = PROCESS  # settings, catalog, knowledge base (actions/dependencies.py)

    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict]:
        catalog = self.deps.catalog()
        intent = tracker.latest_message.get("intent") or {}
        turn, note = self.read_turn(tracker, catalog)
        if self.asks_choice_first(tracker, turn):
            # Nothing said here: a rule runs lltp_form, which asks the missing choice.
            return [SlotSet("service", turn.service), SlotSet("aspect", turn.aspect),
                    SlotSet("feedback_pending", False)] + control(choice_needed=True)
        kb = self.deps.knowledge_base()
        try:
            hits = self.search(kb, turn)
        except IndexUnavailable as exc:
            log.error("knowledge index unavailable: %s", exc)
            return self.unavailable(dispatcher)
        named = turn.named or ([turn.service] if turn.followup and turn.service else [])
        decision = decide(turn.query, hits, intent.get("name"),
                          float(intent.get("confidence") or 0.0), named)
        if not decision.answer:
            return self.fail(dispatcher, tracker, turn, hits, decision, intent.get("name"),
                             catalog)
        try:
            return self.answer(dispatcher, tracker, turn, hits, note, intent.get("name"), kb,
                               catalog)
        except IndexUnavailable as exc:  # the index went away between search and answer
            log.error("knowledge index unavailable: %s", exc)
            return self.unavailable(dispatcher)

    def unavailable(self, dispatcher) -> list[dict]:
        utter_decline(dispatcher, self.deps.settings(), unavailable=True)
        dispatcher.utter_message(json_message=meta_payload([], fallback=True))
        return control()

    def read_turn(self, tracker: Tracker, catalog) -> tuple[Turn, str]:
        """What this message asks, and a note to put before the answer (the LLTP choice)."""
        text = (tracker.latest_message.get("text") or "").strip()
        intent_name = (tracker.latest_message.get("intent") or {}).get("name")
        after_form = bool(tracker.get_slot("choice_needed")) and \
            tracker.latest_action_name in FORM_ACTIONS
        if after_form and (tracker.latest_action_name == "lltp_form"
                           or intent_name not in QUESTION_INTENTS):
            return self.choice_turn(tracker, catalog)
        if text.startswith("/"):  # a button payload
            service = (entity_values(tracker, "service") or [tracker.get_slot("service")])[0]
            aspect = (entity_values(tracker, "aspect") or [tracker.get_slot("aspect")])[0]
            return button_turn(service, aspect, catalog.short_name), ""
        turn = resolve_turn(text, entity_values(tracker, "service"),
                            entity_values(tracker, "aspect"), entity_texts(tracker, "service"),
                            tracker.get_slot("service"), tracker.get_slot("aspect"),
                            catalog.short_name)
        if turn.followup and not turn.named and not button_like(text):
            # Names a service the NLU did not tag ("… phiếu lý lịch tư pháp …" typed oddly,
            # or a document alias): that is a new question, not a follow-up.
            try:
                other = [s for s in self.deps.knowledge_base().named_services(text)
                         if s != turn.service]
            except IndexUnavailable:
                other = []
            if other:
                turn = Turn(other[0], None if turn.aspect_kept else turn.aspect, text,
                            named=[other[0]])
        if turn.named and not turn.followup and \
                turn.named[0] not in {m.service_id for m in catalog.mentions(text)}:
            # Named with a typo or a synonym the search's alias matching does not know.
            turn.query = f"{turn.query} {catalog.short_name(turn.named[0])}"
        return turn, ""

    @staticmethod
    def asks_choice_first(tracker: Tracker, turn: Turn) -> bool:
        if tracker.latest_action_name in FORM_ACTIONS:  # just asked, or just left the form
            return False
        if (tracker.latest_message.get("text") or "").startswith("/"):
            return False
        requester_now = (entity_values(tracker, lltp.REQUESTER_SLOT) or [None])[0]
        return lltp.needs_choice(turn.service, turn.aspect, requester_now,
                                 tracker.current_slot_values())

    @staticmethod
    def answer(dispatcher, tracker: Tracker, turn: Turn, hits, note: str,
               intent_name: str | None, kb, catalog) -> list[dict]:
        """The direct answer, its details and source, buttons for the other aspects, then
        the feedback question (knowledge/answering does the choosing and the wording)."""
        text = (tracker.latest_message.get("text") or "").strip()
        button = text.startswith("/")
        service = turn.service or hits[0].passage.service
        # A question naming several services: the one it asks to do ("không có CCCD thì làm
        # LLTP được không?" is about LLTP) or else whichever service's sentences answer it.
        services = list(dict.fromkeys(turn.named)) if len(set(turn.named)) > 1 else [service]
        if len(services) > 1 and not button:
            acted = acted_on(text, services, catalog)
            if acted:
                service, services = acted, [acted]
        previous_doc = tracker.get_slot("document") if turn.followup else None
        pool = answer_pool(kb, turn.query, hits, services)
        # The sentences are chosen for what the citizen asked (a button asks its aspect), not
        # for the search query, which carries the catalog's long service name on follow-ups.
        asked = ASPECT_LABELS.get(turn.aspect or "", "") if button else text
        composed = ANSWERER.answer(
            asked or turn.query, pool, service=service if len(services) == 1 else None,
            previous_doc=previous_doc,
            aspect=turn.aspect if (turn.aspect_kept or button) else None)
        if composed is None:  # no passage of the service could be read
            return ActionAnswerQuestion.fail(dispatcher, tracker, turn, hits,
                                             decide(turn.query, [], None, 0.0), intent_name,
                                             catalog)
        first = next((h for h in pool if h.passage.doc_id == composed.doc_id), pool[0])
        # The quoted document first, then the others best first (one per document).
        rest = sorted((h for h in hits + pool if h.passage.doc_id != composed.doc_id),
                      key=lambda h: -h.score)
        ordered = [first] + rest
        parts = [note, composed.body()]
        location = tracker.get_slot("location")
        if location and (turn.aspect in ("channel", "help") or intent_name == "ask_help_channel"):
            parts.append(location_note(location))
        parts.append(composed.citation())  # last: the widget shows it as the source list
        asked = turn.aspect or ("steps" if composed.steps else None)
        buttons = aspect_buttons(composed.service, asked, catalog)
        dispatcher.utter_message(text="\n\n".join(p for p in parts if p), buttons=buttons or None)
        dispatcher.utter_message(json_message=meta_payload(ordered, fallback=False,
                                                           quoted=composed))
        dispatcher.utter_message(response="utter_was_it_helpful")
        return [SlotSet("service", composed.service), SlotSet("aspect", turn.aspect),
                SlotSet("document", composed.doc_id), SlotSet("failure_count", 0.0),
                SlotSet("feedback_pending", True)] + control()

    @staticmethod
    def choice_turn(tracker: Tracker, catalog) -> tuple[Turn, str]:
        """The LLTP question asked before the form, with the choice the citizen made."""
        lltp_type = tracker.get_slot(lltp.TYPE_SLOT)
        requester = tracker.get_slot(lltp.REQUESTER_SLOT)
        if tracker.latest_action_name != "lltp_form":  # left the form without choosing
            lltp_type = requester = None
        aspect = tracker.get_slot("aspect")
        base = button_turn(lltp.LLTP, aspect, catalog.short_name)
        base.query = f"{base.query} {lltp.choice_query(lltp_type, requester)}".strip()
        return base, lltp.choice_note(lltp_type, requester)

    @staticmethod
    def search(kb, turn: Turn) -> list:
        if not turn.query:
            return []
        if turn.followup and turn.service:
            # The conversation says which service: read only its documents.
            return kb.search(turn.query, k=FOLLOWUP_HITS, services=[turn.service])
        return kb.search(turn.query, k=8)

    @staticmethod
    def fail(dispatcher, tracker, turn, hits, decision, intent_name, catalog) -> list[dict]:
        failures = int(tracker.get_slot("failure_count") or 0) + 1
        events = [SlotSet("aspect", turn.aspect), SlotSet("feedback_pending", False),
                  SlotSet("failure_count", float(failures))]
        if failures >= HANDOFF_AFTER_FAILURES:
            # Silent here: the hand-off rule follows (bot/data/rules/fallbacks.yml).
            return events + control(handoff_due=True)
        candidates = decision.candidates or [h.passage.service for h in hits]
        topic = getattr(decision, "topic", "")
        if decision.action == CLARIFY or (intent_name == "nlu_fallback" and not topic):
            utter_clarify(dispatcher, candidate_buttons(candidates, catalog))
        else:  # declined: say why and give the official channels; when no other domain was
            # recognised, the closest services may still be what was meant
            buttons = [] if topic else candidate_buttons(candidates, catalog)
            utter_decline(dispatcher, ActionAnswerQuestion.deps.settings(), topic=topic,
                          buttons=buttons)
        dispatcher.utter_message(json_message=meta_payload(hits, fallback=True))
        return events + control()

