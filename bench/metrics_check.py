"""Load check: send N chat requests, then show that /metrics counted exactly what was sent.

    .venv/bin/python bench/metrics_check.py                  # starts `trolyao serve --workers 2`
    .venv/bin/python bench/metrics_check.py --requests 500 --clients 16
    .venv/bin/python bench/metrics_check.py --url https://assistant.example.gov.vn --token "$TOKEN"

Without --url it serves the project's index (`make index`) and model (`make train`) with a
throw-away conversation store. Every tenth request is a broken body (400); the rest are the
bench questions. The table compares what this script sent and got back with the server's
counters (before/after differences, so a running server's earlier traffic does not matter);
exit status 1 if any differs. On a server with other traffic, the counters also count that.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "metrics-check-token"
OUTCOMES = ("answered", "clarified", "declined", "handed_off", "other")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def questions() -> list[str]:
    lines = (ROOT / "bench" / "questions.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def scrape(url: str, token: str) -> dict:
    request = urllib.request.Request(url + "/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url + "/api/chat", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def bodies(n: int) -> list[bytes]:
    asked = questions()
    out = []
    for i in range(n):
        if i % 10 == 9:
            out.append(b'{"sender": "metrics-check", "message": ')  # cut short: 400
        else:
            out.append(json.dumps({"sender": f"mc-{uuid.uuid4().hex[:12]}",
                                   "message": asked[i % len(asked)]}).encode())
    return out


def start_server(workers: int, tmp: Path) -> tuple[str, subprocess.Popen]:
    port = free_port()
    env = {**os.environ, "TROLYAO_ADMIN_TOKEN": TOKEN, "TROLYAO_RATE_LIMIT": "0",
           "TROLYAO_TRACKER_STORE": f"sqlite:///{tmp / 'conversations.db'}",
           "TROLYAO_LOG_LEVEL": "WARNING", "RASA_TELEMETRY_ENABLED": "false",
           "HF_HUB_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([str(BIN / "trolyao"), "serve", "--port", str(port), "--workers",
                             str(workers)], env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "wb"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"trolyao serve exited with {proc.returncode}:\n"
                             + (tmp / "serve.log").read_text(errors="replace")[-2000:])
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=5) as response:
                if response.status == 200:
                    return url, proc
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit("the server was not ready within 600 s")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def check(url: str, token: str, n: int, clients: int) -> int:
    before = scrape(url, token)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        statuses = Counter(pool.map(lambda body: post(url, body), bodies(n)))
    seconds = time.perf_counter() - started
    after = scrape(url, token)

    def counted(name: str, **labels) -> int:
        key = (name, tuple(sorted(labels.items())))
        return round(after.get(key, 0) - before.get(key, 0))

    rows = [(f"HTTP {status}", sent, counted("trolyao_http_requests_total", endpoint="/api/chat",
                                             method="POST", status=str(status)))
            for status, sent in sorted(statuses.items())]
    answered = statuses.get(200, 0)
    outcomes = {o: counted("trolyao_answers_total", outcome=o) for o in OUTCOMES}
    rows.append(("outcomes (sum)", answered, sum(outcomes.values())))
    rows.append(("answer latency observations", answered,
                 counted("trolyao_answer_seconds_count", endpoint="/api/chat")))
    print(f"{n} requests from {clients} clients in {seconds:.1f} s ({n / seconds:.1f}/s)")
    print(f"{'':30} {'sent':>6} {'/metrics':>9}")
    for name, sent, seen in rows:
        print(f"{name:30} {sent:>6} {seen:>9}  {'ok' if sent == seen else 'DIFFERENT'}")
    print("outcomes:", ", ".join(f"{o} {c}" for o, c in outcomes.items()))
    return 0 if all(sent == seen for _, sent, seen in rows) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="when this script starts the server")
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--token", default=os.environ.get("TROLYAO_METRICS_TOKEN") or TOKEN,
                        help="bearer token for /metrics (with --url)")
    args = parser.parse_args()
    if args.url:
        return check(args.url.rstrip("/"), args.token, args.requests, args.clients)
    tmp = Path(tempfile.mkdtemp(prefix="trolyao-metrics-check-"))
    proc = None
    try:
        print(f"starting trolyao serve --workers {args.workers} …", flush=True)
        url, proc = start_server(args.workers, tmp)
        return check(url, TOKEN, args.requests, args.clients)
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
