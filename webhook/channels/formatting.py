"""Replies as chat apps show them: plain text, links written out, split at the channel's limit.

The assistant writes Markdown for the widget (`**bold**`, lists, `Nguồn: [title](url)`). Zalo,
Messenger and Telegram (without a parse mode) show it literally, so it becomes plain text:
links as "title (url)" (the apps make the url clickable), bullets as "•", emphasis removed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")
_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{3,}")

# Shown above buttons when an assistant message has buttons but no text.
BUTTONS_ONLY_TEXT = "Anh/chị có thể chọn một mục dưới đây:"


def _link(match: re.Match) -> str:
    title, url = match.group(1).strip(), match.group(2)
    return url if title == url else f"{title} ({url})"


def markdown_to_plain(text: str) -> str:
    text = _LINK.sub(_link, text or "")
    text = _BOLD.sub(r"\2", text)
    text = _ITALIC.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _HEADING.sub("", text)
    text = _BULLET.sub(r"\1• ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at a paragraph, else a line, a sentence, a
    space; a word longer than the limit (a very long url) is cut where it must."""
    text = text.strip()
    pieces = []
    while len(text) > limit:
        window = text[:limit + 1]
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            at = window.rfind(sep)
            if at > limit // 3:  # a piece of a few words only would look broken
                cut = at + (1 if sep == ". " else 0)
                break
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


@dataclass
class OutgoingText:
    """One message a channel sends: text within its limit, buttons on the last piece only."""
    text: str
    buttons: list[dict] = field(default_factory=list)


def channel_messages(reply_messages: list[dict], limit: int) -> list[OutgoingText]:
    """The assistant's messages (`ChatReply.messages`: text, optional buttons) as plain-text
    messages that fit the channel."""
    out: list[OutgoingText] = []
    for message in reply_messages:
        buttons = [b for b in message.get("buttons") or []
                   if isinstance(b, dict) and b.get("title") and b.get("payload")]
        plain = markdown_to_plain(message.get("text") or "")
        if not plain and not buttons:
            continue
        pieces = split_text(plain, limit) if plain else [BUTTONS_ONLY_TEXT]
        out.extend(OutgoingText(piece) for piece in pieces)
        out[-1].buttons = buttons
    return out


def shorten(title: str, limit: int) -> str:
    """A button label within the channel's limit, cut with an ellipsis."""
    title = " ".join(title.split())
    return title if len(title) <= limit else title[:limit - 1].rstrip() + "…"
