"""What every chat-app channel does with a citizen's text: ask the same Assistant as the
widget under the channel's namespaced sender id, and turn the reply into the channel's
messages (plain text within its length limit, buttons kept for its quick replies)."""
from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from rasa.core.lock_store import LockError

from trolyao.core.assistant import AssistantNotReady
from trolyao.core.senders import channel_sender
from webhook.channels.formatting import OutgoingText, channel_messages

log = logging.getLogger(__name__)

BUSY_REPLY = ("Trợ lý đang bận, anh/chị vui lòng gửi lại câu hỏi sau ít phút. "
              "Xin cảm ơn anh/chị.")
TOO_LONG_REPLY = ("Tin nhắn của anh/chị dài quá {limit} ký tự. Anh/chị vui lòng gửi câu hỏi "
                  "ngắn gọn hơn.")
NOT_TEXT_REPLY = ("Hiện trợ lý chỉ đọc được tin nhắn chữ. Anh/chị vui lòng gõ câu hỏi, ví dụ: "
                  "\"Làm lý lịch tư pháp trên VNeID thế nào?\"")


@dataclass
class Answer:
    conversation: str  # the stored (hashed) conversation id: logs, outbox, hand-off
    messages: list[OutgoingText]


class ChannelAnswerer:
    """Assistant.chat for one channel; errors become a polite reply, never a lost message."""

    def __init__(self, assistant, channel: str, text_limit: int, max_message_chars: int):
        self.assistant = assistant
        self.channel = channel
        self.text_limit = text_limit
        self.max_message_chars = max_message_chars

    def sender(self, user_id: str) -> str:
        return channel_sender(self.channel, user_id)

    def answer(self, user_id: str, text: str | None) -> Answer:
        sender = self.sender(user_id)
        conversation = self.assistant.conversation_id(sender)
        if text is None:
            return Answer(conversation, [OutgoingText(NOT_TEXT_REPLY)])
        # NUL and lone surrogates (a JSON "\ud800") are not text; the web API refuses them.
        text = "".join(ch for ch in text if ch != "\x00" and not "\ud800" <= ch <= "\udfff")
        if len(text) > self.max_message_chars:
            return Answer(conversation,
                          [OutgoingText(TOO_LONG_REPLY.format(limit=self.max_message_chars))])
        try:
            reply = self.assistant.chat(sender, text)
        except (AssistantNotReady, FutureTimeout, LockError) as exc:
            log.warning("%s: conversation %s not answered (%s); the citizen is asked to "
                        "write again", self.channel, conversation, exc.__class__.__name__)
            return Answer(conversation, [OutgoingText(BUSY_REPLY)])
        except Exception:  # a bug must not lose the message: the citizen is told, the log has it
            log.exception("%s: conversation %s: answering failed", self.channel, conversation)
            return Answer(conversation, [OutgoingText(BUSY_REPLY)])
        messages = channel_messages(reply.messages, self.text_limit)
        if not messages and not getattr(reply, "handoff", False):
            # (During a live hand-off the bot stays silent: the message went to staff.)
            messages = [OutgoingText(BUSY_REPLY)]
        return Answer(conversation, messages)
