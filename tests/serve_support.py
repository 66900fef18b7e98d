"""`trolyao serve` (gunicorn) as the tests start it: in its own process group, on a free
loopback port, its output in a log file, ready once /healthz answers; stopped gracefully.

One place for what four test modules did each on their own (serving, metrics, PostgreSQL and
hand-off across workers)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port

# Two workers load TensorFlow and the Rasa model at once on a small machine.
START_TIMEOUT = 420
TROLYAO = str(Path(sys.executable).with_name("trolyao"))


def serve_env(**extra: str) -> dict:
    """This process's environment for a served assistant: no rate limit (tests send bursts),
    no index watcher (nothing re-indexes), then the test's own settings."""
    return {**os.environ, "TROLYAO_RATE_LIMIT": "0", "TROLYAO_INDEX_WATCH_SECONDS": "0", **extra}


class ServedAssistant:
    """`trolyao serve --workers N --threads 4`; `start()` returns once /healthz answered
    `healthy_in_a_row` times (several in a row: both workers have loaded); `stop()` sends
    SIGTERM (gunicorn lets workers finish their requests), SIGKILL after 60 s. Can be started
    again on the same port (a restart in the middle of a test)."""

    def __init__(self, env: dict, log: Path, workers: int = 2, healthy_in_a_row: int = 1):
        self.env, self.log_path = env, Path(log)
        self.workers, self.healthy_in_a_row = workers, healthy_in_a_row
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> "ServedAssistant":
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [TROLYAO, "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers), "--threads", "4"],
            env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        ready = 0
        while ready < self.healthy_in_a_row:
            if self.process.poll() is not None:
                pytest.fail(f"`trolyao serve` exited with {self.process.returncode}:\n"
                            + self.log_path.read_text(errors="replace")[-3000:])
            ready = ready + 1 if self._healthy() else 0
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn not healthy after {START_TIMEOUT} s")
            time.sleep(0.5 if ready else 1)
        return self

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/healthz", timeout=10) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
        self._log.close()

    def __enter__(self) -> "ServedAssistant":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
