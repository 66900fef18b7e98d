"""`trolyao shell` in a real pseudo-terminal, and with piped stdin for scripts."""
from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pytest

from trolyao.staff.review_store import ReviewStore

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TROLYAO = PROJECT_ROOT / ".venv" / "bin" / "trolyao"
# Colours, cursor moves, bracketed paste, etc.: what a terminal interprets and a person never sees.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[=>]")
PROMPT = "Bạn ›"


def screen_text(raw: str) -> str:
    return ANSI.sub("", raw).replace("\r", "")


class Terminal:
    """A pexpect child plus everything it printed, readable without escape codes."""

    def __init__(self, child, log: io.StringIO):
        self.child, self.log = child, log
        self.mark = 0

    def send(self, line: str) -> None:
        self.mark = len(self.log.getvalue())
        self.child.sendline(line)

    def wait(self, text: str, timeout: float = 120) -> None:
        self.child.expect_exact(text, timeout=timeout)

    def since_last_input(self) -> str:
        """Screen text since the last input, spaces collapsed (rich wraps long lines)."""
        return " ".join(screen_text(self.log.getvalue()[self.mark:]).split())

    def ask(self, line: str, until: str) -> str:
        """Send a line, wait for `until` in the reply and then the next prompt (the prompt is
        also redrawn with the accepted line, so the prompt alone does not mean "answered")."""
        self.send(line)
        self.wait(until)
        self.wait(PROMPT)
        return self.since_last_input()


@pytest.mark.slow
def test_shell_in_a_pseudo_terminal(rasa_model, knowledge_index, settings, tmp_path):
    import pexpect

    env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           # pexpect does not answer prompt_toolkit's cursor-position queries like a terminal
           "PROMPT_TOOLKIT_NO_CPR": "1", "XDG_STATE_HOME": str(tmp_path / "state")}
    command = str(TROLYAO) if TROLYAO.exists() else sys.executable
    args = ["shell"] if TROLYAO.exists() else ["-m", "trolyao.cli", "shell"]
    log = io.StringIO()
    child = pexpect.spawn(command, args, env=env, encoding="utf-8", timeout=120,
                          dimensions=(50, 140), cwd=str(PROJECT_ROOT))
    child.logfile_read = log
    term = Terminal(child, log)
    try:
        term.wait(PROMPT, timeout=300)  # loading the model takes ~20 s, more on a busy machine
        banner = screen_text(log.getvalue())
        assert "shell thử câu trả lời" in banner and "/help" in banner

        shown = term.ask("/debug on", "debug: bật")
        assert "Chế độ debug: bật." in shown

        # Turn 1: a question typed with a typo fixed by Backspace (line editing).
        term.mark = len(log.getvalue())
        child.send("Làm lý lịch tư pháp trên VNeID thế nàoo")
        child.send("\x7f")  # Backspace
        child.send("\r")
        term.wait("slots")
        term.wait(PROMPT)
        first = term.since_last_input()
        assert "Trợ lý" in first and "Nguồn:" in first
        assert re.search(r"intent\s+ask_procedure \((0\.\d\d|1\.00)\)", first), first
        assert re.search(r"slots\s+.*service=ly-lich-tu-phap", first), first
        assert re.search(r"nguồn\s+1\s+ly-lich-tu-phap\s+\d\.\d{3}", first), first

        # Turn 2: a follow-up keeps the service.
        second = term.ask("mất bao lâu?", "slots")
        assert "service=ly-lich-tu-phap" in second and "aspect=time" in second, second

        full = term.ask("/sources", "điểm")
        assert re.search(r"đoạn 1: \S+ › .+ · điểm \d\.\d{3}", full), full

        flagged = term.ask("/flag thiếu thời hạn trả kết quả, số của tôi 0912345678", "Đã ghi nhận")
        confirmation = flagged[flagged.index("Đã ghi nhận đánh dấu #"):]
        assert "«mất bao lâu?»" in confirmation
        assert "0912345678" not in confirmation and "[số điện thoại]" in confirmation

        restarted = term.ask("/restart", "cuộc trò chuyện mới")
        assert "Đã bắt đầu cuộc trò chuyện mới" in restarted

        # Turn 3: a new conversation has no slots left from before.
        third = term.ask("xin chào", "slots")
        assert re.search(r"intent\s+greet", third), third
        assert "ly-lich-tu-phap" not in third and "aspect=time" not in third, third

        term.send("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, screen_text(log.getvalue())[-3000:]

    # The flag is in the store the maintainers read, redacted.
    flags = [f for f in ReviewStore.for_settings(settings).flags()
             if f.note.startswith("thiếu thời hạn trả kết quả")]
    assert len(flags) == 1
    flag = flags[0]
    assert flag.question == "mất bao lâu?" and flag.service == "ly-lich-tu-phap"
    assert flag.note == "thiếu thời hạn trả kết quả, số của tôi [số điện thoại]"
    assert flag.sender.startswith("shell-") and flag.sources and flag.status == "open"
    # History keeps the typed lines (arrow-up recalls them) but never the phone number.
    history = (tmp_path / "state" / "trolyao" / "shell_history").read_text(encoding="utf-8")
    assert "Làm lý lịch tư pháp trên VNeID thế nào" in history
    assert "0912345678" not in history and "[số điện thoại]" in history


class _KeepOpen:
    """The session assistant, shared with other tests: the shell must not close it."""

    def __init__(self, assistant):
        self._assistant = assistant

    def __getattr__(self, name):
        return getattr(self._assistant, name)

    def close(self):
        pass


@pytest.mark.slow
def test_piped_input_gives_plain_text(assistant):
    from trolyao.cli.shell import run_shell

    script = io.StringIO("xin chào\n/debug on\nđăng ký tạm trú online thế nào\n/sources\n"
                         "/lenh-la\n/help\n/quit\nkhông được đọc tới dòng này\n")
    out = io.StringIO()
    assert run_shell(lambda: _KeepOpen(assistant), stdin=script, stdout=out) == 0
    text = out.getvalue()
    assert "\x1b" not in text, "no ANSI codes when output is piped"
    lines = text.splitlines()
    assert lines[0] == "Bạn: xin chào" and lines[1].startswith("Trợ lý: Xin chào")
    assert "Chế độ debug: bật." in lines
    assert "  intent: ask_procedure" in text
    assert re.search(r"^  slots: .*service=tam-tru", text, re.M), text
    assert re.search(r"^  nguồn 1: tam-tru \d\.\d{3} ", text, re.M)
    assert re.search(r"^--- đoạn 1: \S+ › ", text, re.M)
    assert "Lỗi: lệnh không rõ /lenh-la. Gõ /help để xem các lệnh." in lines
    assert re.search(r"^  /flag <ghi chú>\s+báo câu trả lời vừa rồi là sai", text, re.M)
    assert "không được đọc tới dòng này" not in text


@pytest.mark.slow
def test_button_numbers_and_flag_without_answer(assistant, settings):
    from trolyao.cli.shell import PlainView
    from trolyao.staff.shell import ShellSession

    out = io.StringIO()
    shell = ShellSession(assistant, PlainView(out), ReviewStore.for_settings(settings))
    shell.handle("/flag không có gì")
    assert "Lỗi: chưa có câu trả lời nào để đánh dấu." in out.getvalue()
    shell.handle("Làm lý lịch tư pháp trên VNeID thế nào?")
    buttons = [b for m in shell.last.reply.messages for b in m.get("buttons") or []]
    assert buttons, "the answer offers buttons (feedback or suggestions)"
    shell.handle("1")
    assert f"→ {buttons[0]['title']}" in out.getvalue()
    assert shell.last.question == buttons[0]["payload"]
