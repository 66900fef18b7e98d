"""What the actions send around the answer (knowledge/answering composes the answer itself):
which decline, clarify and hand-off response (their texts are in bot/domain/responses.yml),
buttons, the metadata payload."""
from __future__ import annotations

import json

from knowledge.answering import ASPECT_BUTTONS
from knowledge.catalog import Catalog
from trolyao.core.protocol import META_KEY


def portal_links(settings) -> dict[str, str]:
    """The portals the replies point to ({portal_url}, {hanoi_portal_url} in the responses)."""
    return {"portal_url": settings.portal_url, "hanoi_portal_url": settings.hanoi_portal_url}


def utter_decline(dispatcher, settings, unavailable: bool = False, topic: str = "",
                  buttons: list[dict] | None = None) -> None:
    """Why there is no answer (the index is updating, another domain, nothing reliable) and
    the official channels."""
    if unavailable:
        dispatcher.utter_message(response="utter_decline_unavailable", **portal_links(settings))
    elif topic:
        dispatcher.utter_message(response="utter_decline_topic", buttons=buttons or None,
                                 topic=topic, **portal_links(settings))
    else:
        dispatcher.utter_message(response="utter_decline_unsure", buttons=buttons or None,
                                 **portal_links(settings))


def utter_clarify(dispatcher, buttons: list[dict] | None = None) -> None:
    """Ask again: choose one of the candidate services (buttons), or name the procedure."""
    if buttons:
        dispatcher.utter_message(response="utter_clarify_choose", buttons=buttons)
    else:
        dispatcher.utter_message(response="utter_clarify")


def utter_hand_off(dispatcher, settings, location: str | None = None) -> None:
    """Where a person can help: the national hotline, the community digital team, one-stop desks."""
    if location:
        dispatcher.utter_message(response="utter_hand_off_at_location", location=location,
                                 **portal_links(settings))
    else:
        dispatcher.utter_message(response="utter_hand_off", **portal_links(settings))


def service_buttons(hits, catalog: Catalog, limit: int = 3) -> list[dict]:
    seen: list[str] = []
    for hit in hits:
        if hit.passage.service not in seen:
            seen.append(hit.passage.service)
        if len(seen) >= limit:
            break
    return candidate_buttons(seen, catalog)


def candidate_buttons(service_ids: list[str], catalog: Catalog, limit: int = 3) -> list[dict]:
    """One button per candidate service; clicking it asks about that service."""
    return [{"title": catalog.short_name(s), "payload": f'/ask_procedure{{"service":"{s}"}}'}
            for s in service_ids[:limit]]


def aspect_buttons(service: str, asked: str | None, catalog: Catalog,
                   limit: int = 4) -> list[dict]:
    """Under a procedure's answer: the other aspects of the same service, one click away."""
    if service not in catalog or catalog.by_id[service].kind != "procedure":
        return []
    buttons = []
    for aspect, title in ASPECT_BUTTONS:
        if aspect == asked:
            continue
        entities = json.dumps({"service": service, "aspect": aspect}, separators=(",", ":"))
        buttons.append({"title": title, "payload": f"/ask_procedure{entities}"})
    return buttons[:limit]


def location_note(location: str) -> str:
    return (f"Ở {location}, anh/chị có thể nhờ Tổ công nghệ số cộng đồng hoặc bộ phận một cửa "
            "của phường, xã hướng dẫn trực tiếp.")


def meta_payload(hits, fallback: bool, quoted=None) -> dict:
    """Sources (one per document, best first) and the chosen passages, for the API and logs.

    `quoted`: the ComposedAnswer; its quoted passage is listed first, as the citizen reads it."""
    sources, passages, docs = [], [], set()
    for hit in hits:
        if hit.passage.doc_id in docs:
            continue
        docs.add(hit.passage.doc_id)
        sources.append(hit.source())
        text, section = hit.passage.text, hit.passage.section
        if quoted is not None and hit.passage.doc_id == quoted.doc_id and not passages:
            # What the reply quotes, from the section it quotes first.
            section = quoted.section
            text = "\n".join(u.text for u in quoted.units) or text
        passages.append({"doc_id": hit.passage.doc_id, "section": section,
                         "text": text, "score": round(hit.score, 4)})
    if fallback:
        # A declined answer cites nothing; the candidates are suggestions only.
        return {META_KEY: {"sources": [], "candidates": sources[:3], "passages": passages[:3],
                           "fallback": True}}
    return {META_KEY: {"sources": sources[:5], "passages": passages[:5], "fallback": False}}
