"""The shell session: staff chat with the assistant and see why it answered.

`ShellSession` reads one input line at a time and tells a view what to show (the views,
plain and rich, and the terminal input are in trolyao/cli/shell.py, `trolyao shell`).

Under each answer (with `/debug on`): intent and confidence, slots, sources with scores and
the chosen passage. `/flag <note>` records the last exchange in the review store that
`trolyao report` and the admin page read. In a terminal: line editing and history
(prompt_toolkit) and a rich layout; with piped stdin: one plain line per input, no colours,
so scripts can drive it.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from trolyao.core.redaction import redact
from trolyao.staff.texts import excerpt

COMMANDS = {
    "/help": "các lệnh của shell",
    "/debug on|off": "hiện/ẩn intent, độ tin cậy, slot, nguồn và đoạn trích dưới mỗi câu trả lời",
    "/sources": "toàn văn các đoạn trích của câu trả lời vừa rồi",
    "/flag <ghi chú>": "báo câu trả lời vừa rồi là sai/chưa tốt (người bảo trì sẽ xem)",
    "/restart": "bắt đầu cuộc trò chuyện mới",
    "/quit": "thoát (hoặc Ctrl-D)",
}
QUIT = {"/quit", "/exit", "/q"}
# `/intent` or `/intent{"slot": "value"}`: a Rasa payload to send as is (like a button click).
PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?$", re.DOTALL)


@dataclass
class Turn:
    """The last question and the assistant's reply, for /sources and /flag."""
    question: str
    reply: object  # trolyao.core.assistant.ChatReply

    @property
    def answer(self) -> str:
        return "\n\n".join(m.get("text", "") for m in self.reply.messages)

    @property
    def likely_service(self) -> str | None:
        return self.reply.cited_service or self.reply.slots.get("service")


# ---------------------------------------------------------------- the session
class ShellSession:
    """Interprets one input line at a time: a shell command or a message for the assistant."""

    def __init__(self, assistant, view, review_store, debug: bool = False,
                 echo: bool = False):
        self.assistant = assistant
        self.view = view
        self.review = review_store
        self.debug = debug
        self.echo = echo  # piped input: repeat the question so the transcript reads well
        self.sender = f"shell-{uuid.uuid4().hex[:10]}"
        self.last: Turn | None = None
        self.intents = assistant.intents

    def handle(self, line: str) -> bool:
        """Returns False when the user wants to leave."""
        line = line.strip()
        if not line:
            return True
        command, _, argument = line.partition(" ")
        command = command.lower()
        if command in QUIT:
            return False
        handler = {"/help": self.cmd_help, "/?": self.cmd_help, "/debug": self.cmd_debug,
                   "/sources": self.cmd_sources, "/flag": self.cmd_flag,
                   "/restart": self.cmd_restart}.get(command)
        if handler:
            handler(argument.strip())
        elif line.startswith("/") and not self._is_payload(line):
            self.view.error(f"lệnh không rõ {command}. Gõ /help để xem các lệnh.")
        else:
            self.ask(self._button_payload(line) or line)
        return True

    def _is_payload(self, line: str) -> bool:
        match = PAYLOAD.match(line)
        return bool(match) and match.group(1) in self.intents

    def _button_payload(self, line: str) -> str | None:
        if not (line.isdigit() and self.last):
            return None
        buttons = [b for m in self.last.reply.messages for b in m.get("buttons") or []]
        number = int(line)
        if 1 <= number <= len(buttons):
            self.view.info(f"→ {buttons[number - 1]['title']}")
            return buttons[number - 1]["payload"]
        return None

    def ask(self, text: str) -> None:
        if self.echo:
            self.view.echo_question(text)
        try:
            reply = self.assistant.chat(self.sender, text)
        except Exception as exc:  # a timeout or a broken index must not end the session
            self.view.error(f"trợ lý không trả lời được ({type(exc).__name__}: {exc})")
            return
        self.last = Turn(question=redact(text), reply=reply)
        self.view.answer(reply, self.debug)

    def cmd_help(self, _argument: str) -> None:
        self.view.help()

    def cmd_debug(self, argument: str) -> None:
        value = argument.lower()
        if value in ("on", "bật", "bat", "1"):
            self.debug = True
        elif value in ("off", "tắt", "tat", "0"):
            self.debug = False
        elif value:
            self.view.error("dùng /debug on hoặc /debug off")
            return
        self.view.info(f"Chế độ debug: {'bật' if self.debug else 'tắt'}.")

    def cmd_sources(self, _argument: str) -> None:
        if self.last is None:
            self.view.error("chưa có câu trả lời nào.")
            return
        self.view.passages(self.last.reply)

    def cmd_flag(self, note: str) -> None:
        if self.last is None:
            self.view.error("chưa có câu trả lời nào để đánh dấu.")
            return
        reply = self.last.reply
        flag = self.review.add_flag(
            sender=self.sender, question=self.last.question, answer=self.last.answer,
            sources=reply.sources, intent=reply.intent.get("name"),
            service=self.last.likely_service, note=note)
        self.view.info(f"Đã ghi nhận đánh dấu #{flag.id} cho câu hỏi «{excerpt(flag.question, 80)}»"
                       f"{': ' + flag.note if flag.note else ''}. Người bảo trì sẽ thấy trong "
                       "`trolyao report` và trang /admin.")

    def cmd_restart(self, _argument: str) -> None:
        try:
            self.assistant.restart(self.sender)
        except Exception as exc:
            self.view.error(f"không bắt đầu lại được ({exc})")
            return
        self.last = None
        self.view.info("Đã bắt đầu cuộc trò chuyện mới (slot đã xoá).")
