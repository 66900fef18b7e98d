"""`trolyao shell`: the terminal around the shell session (trolyao/staff/shell.py).

In a terminal: line editing and history (prompt_toolkit) and a rich layout (answers rendered
from Markdown, debug details as a compact table); with piped stdin: one plain line per input,
no colours, so scripts can drive it.
"""
from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Callable, Iterator, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import WordCompleter
from prompt_toolkit.history import FileHistory, InMemoryHistory
from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from trolyao.cli.common import start_assistant
from trolyao.core import runtime
from trolyao.core.redaction import redact
from trolyao.staff.review_store import ReviewStore
from trolyao.staff.shell import COMMANDS, ShellSession
from trolyao.staff.texts import excerpt

EXCERPT_CHARS = 280


def one_line(text: str) -> str:
    return excerpt(text, EXCERPT_CHARS)


def yes_no(value: bool) -> str:
    return "có" if value else "không"


# ---------------------------------------------------------------- views
class PlainView:
    """Piped output: plain lines, no ANSI codes, flushed after each reply."""

    def __init__(self, out: TextIO):
        self.out = out

    def _print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def info(self, text: str) -> None:
        self._print(text)

    def error(self, text: str) -> None:
        self._print(f"Lỗi: {text}")

    def echo_question(self, text: str) -> None:
        self._print(f"Bạn: {text}")

    def answer(self, reply, debug: bool) -> None:
        for message in reply.messages:
            self._print(f"Trợ lý: {message.get('text', '')}")
            for number, button in enumerate(message.get("buttons") or [], 1):
                self._print(f"  [{number}] {button['title']}")
        if debug:
            self._debug(reply)
        self._print()

    def _debug(self, reply) -> None:
        intent = reply.intent
        self._print(f"  intent: {intent.get('name')} ({intent.get('confidence', 0):.2f})"
                    f" | fallback: {yes_no(reply.fallback)}")
        slots = ", ".join(f"{k}={v}" for k, v in reply.slots.items()) or "(trống)"
        self._print(f"  slots: {slots}")
        if not reply.sources:
            self._print("  nguồn: (không có)")
        for number, source in enumerate(reply.sources, 1):
            self._print(f"  nguồn {number}: {source['service']} {source['score']:.3f} "
                        f"{source['title']} ({source['doc_id']})")
        if reply.passages:
            p = reply.passages[0]
            self._print(f"  đoạn chọn: {p['doc_id']} › {p.get('section') or '(đầu tài liệu)'} "
                        f"({p.get('score', 0):.3f}): {one_line(p['text'])}")

    def passages(self, reply) -> None:
        if not reply.passages:
            self._print("(Câu trả lời vừa rồi không dùng đoạn trích nào.)")
        for number, p in enumerate(reply.passages, 1):
            self._print(f"--- đoạn {number}: {p['doc_id']} › {p.get('section') or '(đầu tài liệu)'} "
                        f"(điểm {p.get('score', 0):.3f})")
            self._print(p["text"].strip())
        self._print()

    def help(self) -> None:
        for command, meaning in COMMANDS.items():
            self._print(f"  {command:18} {meaning}")
        self._print("  Gõ số [1], [2]… để bấm nút gợi ý của câu trả lời vừa rồi.")


class RichView(PlainView):
    """Terminal output: answers rendered from Markdown, debug details as a compact table."""

    def __init__(self, console):
        self.console = console

    def info(self, text: str) -> None:
        self.console.print(text, style="green", markup=False, highlight=False)

    def error(self, text: str) -> None:
        self.console.print(f"Lỗi: {text}", style="bold red", markup=False, highlight=False)

    def echo_question(self, text: str) -> None:
        self.console.print(f"Bạn › {text}", style="dim", markup=False, highlight=False)

    def answer(self, reply, debug: bool) -> None:
        for message in reply.messages:
            body = Markdown(message.get("text", ""), hyperlinks=False)
            style = "yellow" if reply.fallback else "cyan"
            self.console.print(Panel(body, title="Trợ lý", title_align="left", border_style=style))
            buttons = message.get("buttons") or []
            if buttons:
                line = Text("  ")
                for number, button in enumerate(buttons, 1):
                    line.append(f"[{number}] ", style="bold magenta").append(f"{button['title']}   ")
                self.console.print(line)
        if debug:
            self.console.print(self._debug_table(reply))
        self.console.print()

    def _debug_table(self, reply):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold blue", no_wrap=True)
        grid.add_column()
        intent = reply.intent
        confidence = float(intent.get("confidence") or 0)
        grid.add_row("intent", Text(f"{intent.get('name')} ({confidence:.2f})",
                                    style="red" if confidence < 0.6 else "green"))
        grid.add_row("fallback", Text(yes_no(reply.fallback), style="yellow" if reply.fallback else ""))
        grid.add_row("slots", Text(", ".join(f"{k}={v}" for k, v in reply.slots.items()) or "(trống)"))
        if reply.sources:
            sources = Table(box=None, show_header=False, padding=(0, 1))
            for column in ("#", "service", "score", "title"):
                sources.add_column(column, justify="right" if column in ("#", "score") else "left")
            for number, s in enumerate(reply.sources, 1):
                sources.add_row(str(number), s["service"], f"{s['score']:.3f}",
                                Text(f"{s['title']} ({s['doc_id']})"))
            grid.add_row("nguồn", sources)
        else:
            grid.add_row("nguồn", "(không có)")
        if reply.passages:
            p = reply.passages[0]
            grid.add_row("đoạn chọn", Text(f"{p['doc_id']} › {p.get('section') or '(đầu tài liệu)'} "
                                           f"({p.get('score', 0):.3f})\n{one_line(p['text'])}"))
        return grid

    def passages(self, reply) -> None:
        if not reply.passages:
            self.info("(Câu trả lời vừa rồi không dùng đoạn trích nào.)")
        for number, p in enumerate(reply.passages, 1):
            title = (f"đoạn {number}: {p['doc_id']} › {p.get('section') or '(đầu tài liệu)'} "
                     f"· điểm {p.get('score', 0):.3f}")
            self.console.print(Panel(Markdown(p["text"], hyperlinks=False), title=Text(title),
                                     title_align="left", border_style="blue"))

    def help(self) -> None:
        table = Table(box=None, show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for command, meaning in COMMANDS.items():
            table.add_row(command, meaning)
        table.add_row("1, 2, …", "bấm nút gợi ý của câu trả lời vừa rồi")
        self.console.print(table)


# ---------------------------------------------------------------- input
def history_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "trolyao" / "shell_history"


def terminal_lines(prompt: str = "Bạn › ") -> Iterator[str]:
    """Line editing, history (redacted: staff may paste a citizen's numbers), command completion."""
    class RedactingFileHistory(FileHistory):
        def store_string(self, string: str) -> None:
            super().store_string(redact(string))

    try:
        path = history_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        history = RedactingFileHistory(str(path))
    except OSError:  # read-only home: history for this session only
        history = InMemoryHistory()
    commands = ["/help", "/debug on", "/debug off", "/sources", "/flag ", "/restart", "/quit"]
    session = PromptSession(history=history, auto_suggest=AutoSuggestFromHistory(),
                            completer=WordCompleter(commands, sentence=True))
    while True:
        try:
            yield session.prompt(prompt)
        except KeyboardInterrupt:  # Ctrl-C clears the line, Ctrl-D quits
            continue
        except EOFError:
            return


def piped_lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        yield line.rstrip("\n")


# ---------------------------------------------------------------- entry point
def run_shell(start_assistant: Callable, debug: bool = False, stdin: TextIO | None = None,
              stdout: TextIO | None = None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    # Library deprecation chatter (TensorFlow, Rasa, pkg_resources) would bury the chat.
    warnings.simplefilter("ignore")
    interactive = stdin.isatty() and stdout.isatty()
    if interactive:
        console = Console(file=stdout, highlight=False)
        view: PlainView = RichView(console)
        with console.status("Đang tải mô hình hội thoại và kho tài liệu (khoảng 20 giây)…"):
            assistant = start_assistant()
        console.print(f"[bold]Trợ lý ảo dịch vụ công[/] — shell thử câu trả lời "
                      f"(mô hình {assistant.model_version}, chỉ mục {assistant.knowledge.version}). "
                      "Gõ [bold]/help[/] để xem lệnh, Ctrl-D để thoát.")
        lines = terminal_lines()
    else:
        view = PlainView(stdout)
        assistant = start_assistant()
        lines = piped_lines(stdin)
    session = ShellSession(assistant, view, ReviewStore.for_settings(runtime.settings()),
                           debug=debug, echo=not interactive)
    try:
        for line in lines:
            if not session.handle(line):
                break
    finally:
        assistant.close()
    return 0


def cmd_shell(args) -> int:
    return run_shell(start_assistant, debug=args.debug)


def add_parsers(sub, settings) -> None:
    p = sub.add_parser("shell", help="chat in the terminal, with debug details")
    p.add_argument("--debug", action="store_true", help="start with /debug on")
    p.set_defaults(func=cmd_shell)
