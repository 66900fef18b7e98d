"""Benchmark: our embedded server vs the stock two-process Rasa deployment of the same model.

Prints a table and writes bench/results.json. Everything runs on loopback, bounded in time
and request count. Run with `make bench` (trains and indexes first if needed).

Measured:
- index: full build time and passages/s; incremental re-index of one changed document
- ours (`trolyao serve`, gunicorn): cold start to first answer, single-client latency
  p50/p95/p99 over 200 questions, throughput/errors at 1/4/16/64 concurrent clients,
  p95 latency during a re-index, peak RSS of the serving process tree
- stock (`rasa run --enable-api` REST channel + `rasa run actions`): the same, side by side
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "bench-admin-token"


# ---------------------------------------------------------------- helpers
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_questions(n: int = 200) -> list[str]:
    lines = [l.strip() for l in (ROOT / "bench" / "questions.txt").read_text(encoding="utf-8")
             .splitlines() if l.strip() and not l.startswith("#")]
    sys.path.insert(0, str(ROOT))
    from knowledge.textnorm import fold

    variants = lines + [fold(l) for l in lines]
    return [variants[i % len(variants)] for i in range(n)]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[k]


class RssSampler:
    """Memory of a server's process tree, sampled every 200 ms, with peaks per phase.

    RSS counts pages shared between gunicorn workers (TensorFlow's and torch's libraries)
    once per worker; PSS splits them, so the PSS total is what the tree really occupies.
    """

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.phase = "start"
        self.peaks: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> dict[str, float]:
        rss_total = pss_total = rss_max = 0
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                for proc in [root, *root.children(recursive=True)]:
                    info = proc.memory_full_info()
                    rss_total += info.rss
                    pss_total += getattr(info, "pss", info.rss)
                    rss_max = max(rss_max, info.rss)
            except psutil.Error:
                pass
        return {"rss_total_mb": rss_total / 2**20, "pss_total_mb": pss_total / 2**20,
                "rss_largest_process_mb": rss_max / 2**20}

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            sample = self._sample()
            peak = self.peaks.setdefault(self.phase, dict.fromkeys(sample, 0.0))
            for key, value in sample.items():
                peak[key] = max(peak[key], value)

    @property
    def peak(self) -> dict[str, float]:
        keys = ("rss_total_mb", "pss_total_mb", "rss_largest_process_mb")
        return {k: max((p[k] for p in self.peaks.values()), default=0.0) for k in keys}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def http_json(url: str, body: dict | None = None, token: str | None = None, timeout: float = 600):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data is not None or token else "GET",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def wait_for_answer(url: str, body_for, proc: subprocess.Popen, limit: float = 300) -> float:
    """Seconds from now until the server returns a non-empty answer."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            reply = http_json(url, body_for("xin chào", "warmup"), timeout=30)
            if reply:
                return time.perf_counter() - start
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"no answer from {url} within {limit}s")


def stop(proc: subprocess.Popen | None) -> None:
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def short(figures: dict) -> str:
    return ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in figures.items())


# ---------------------------------------------------------------- load generation
async def single_client(url: str, body_for, questions: list[str]) -> dict:
    latencies, errors = [], 0
    async with aiohttp.ClientSession() as session:
        for i, q in enumerate(questions):
            ms, ok = await timed_post(session, url, body_for(q, f"single-{i}"))
            errors += not ok
            latencies.append(ms)
    return {"requests": len(questions), "errors": errors,
            "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99), "mean_ms": statistics.fmean(latencies)}


async def timed_post(session, url: str, body: dict) -> tuple[float, bool]:
    """One request: its time in ms and whether it got a 200 (a network error counts as failed)."""
    t0 = time.perf_counter()
    try:
        async with session.post(url, json=body) as resp:
            await resp.read()
            ok = resp.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        ok = False
    return (time.perf_counter() - t0) * 1000, ok


async def concurrent_load(url: str, body_for, questions: list[str], clients: int, seconds: float,
                          max_requests: int = 20000) -> dict:
    latencies: list[float] = []
    errors = 0
    count = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)

    async def client(cid: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors, count
        i = 0
        while time.perf_counter() < deadline and count < max_requests:
            q = questions[(cid * 7 + i) % len(questions)]
            count += 1
            ms, ok = await timed_post(session, url, body_for(q, f"c{clients}-{cid}-{i}"))
            errors += not ok
            latencies.append(ms)
            i += 1

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(c, session) for c in range(clients)))
    elapsed = time.perf_counter() - started
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": len(latencies),
            "errors": errors, "rps": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95)}


# ---------------------------------------------------------------- the two deployments
def chat_body(q: str, sender: str) -> dict:
    """Our /api/chat and Rasa's REST channel take the same JSON."""
    return {"sender": sender, "message": q}


def measure_answering(url: str, rss: "RssSampler", questions: list[str], levels: list[int],
                      seconds: float) -> dict:
    """Single-client latency, then throughput per concurrency level (same for both servers)."""
    rss.phase = "answering"
    single = asyncio.run(single_client(url, chat_body, questions))
    print(f"  single client: {short(single)}", flush=True)
    load = []
    for clients in levels:
        load.append(asyncio.run(concurrent_load(url, chat_body, questions, clients, seconds)))
        print(f"  {clients} clients: {short(load[-1])}", flush=True)
    return {"single": single, "load": load}


def run_ours(env: dict, questions: list[str], levels: list[int], seconds: float, workers: int,
             docs_dir: Path) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "trolyao"), "serve", "--port", str(port),
                             "--workers", str(workers)], env=env, cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    result: dict = {"deployment": f"trolyao serve (gunicorn, {workers} worker(s), in-process actions)"}
    try:
        with RssSampler([proc.pid]) as rss:
            wait_for_answer(f"{url}/api/chat", chat_body, proc)
            result["cold_start_s"] = time.perf_counter() - t0
            result.update(measure_answering(f"{url}/api/chat", rss, questions, levels, seconds))
            rss.phase = "re-indexing"
            result["reindex"] = measure_reindex(url, questions, docs_dir)
        result["memory"] = rss.peaks
        result["peak_rss_mb"] = rss.peak["rss_total_mb"]
    finally:
        stop(proc)
    return result


def measure_reindex(url: str, questions: list[str], docs_dir: Path) -> dict:
    """Incremental re-index of one changed document, and latency while a full re-index runs."""
    # Any indexed document (the folder's README is a guide for writers and is not indexed).
    doc = next(p for p in sorted(docs_dir.rglob("*.md")) if p.name.lower() != "readme.md")
    doc.write_text(doc.read_text(encoding="utf-8") + "\n\nGhi chú bench: cập nhật.\n", encoding="utf-8")
    t0 = time.perf_counter()
    report = http_json(f"{url}/admin/reindex", token=TOKEN)
    incremental = time.perf_counter() - t0
    assert report["embedded_passages"] >= 1, report

    latencies: list[float] = []
    done = threading.Event()

    def reindex_full() -> None:
        http_json(f"{url}/admin/reindex?full=1", token=TOKEN)
        done.set()

    thread = threading.Thread(target=reindex_full)
    thread.start()
    errors = 0
    i = 0
    while not done.is_set() and i < 2000:
        t = time.perf_counter()
        try:
            http_json(f"{url}/api/chat", chat_body(questions[i % len(questions)], f"ri-{i}"), timeout=60)
        except OSError:
            errors += 1
        latencies.append((time.perf_counter() - t) * 1000)
        i += 1
    thread.join()
    return {"incremental_one_doc_s": incremental, "incremental_server_s": report["seconds"],
            "during_full_reindex": {"requests": len(latencies), "errors": errors,
                                    "p50_ms": percentile(latencies, 50),
                                    "p95_ms": percentile(latencies, 95)}}


def run_stock(env: dict, questions: list[str], levels: list[int], seconds: float, tmp: Path,
              model: Path) -> dict:
    port, action_port = free_port(), free_port()
    (tmp / "endpoints.yml").write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{action_port}/webhook\n"
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tmp / 'stock-conversations.db'}\n",
        encoding="utf-8")
    (tmp / "credentials.yml").write_text("rest:\n", encoding="utf-8")
    t0 = time.perf_counter()
    actions = subprocess.Popen([str(BIN / "rasa"), "run", "actions", "--actions", "actions",
                                "--port", str(action_port)], env=env, cwd=ROOT,
                               start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    server = subprocess.Popen([str(BIN / "rasa"), "run", "--enable-api", "-m", str(model),
                               "--endpoints", str(tmp / "endpoints.yml"),
                               "--credentials", str(tmp / "credentials.yml"),
                               "--port", str(port)], env=env, cwd=ROOT,
                              start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    result: dict = {"deployment": "rasa run --enable-api (REST) + rasa run actions"}
    try:
        with RssSampler([server.pid, actions.pid]) as rss:
            wait_for_answer(url, chat_body, server)
            # The first answer that needs the action server also loads its index and model.
            http_json(url, chat_body("Làm lý lịch tư pháp trên VNeID thế nào?", "warm"), timeout=300)
            result["cold_start_s"] = time.perf_counter() - t0
            result.update(measure_answering(url, rss, questions, levels, seconds))
        result["memory"] = rss.peaks
        result["peak_rss_mb"] = rss.peak["rss_total_mb"]
    finally:
        stop(server)
        stop(actions)
    return result


def measure_index_build(env: dict) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([str(BIN / "trolyao"), "index", "build", "--full", "--json"], env=env,
                         cwd=ROOT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    report = json.loads(out.stdout)
    return {"documents": report["documents"], "passages": report["passages"],
            "build_s": report["seconds"], "wall_s_with_model_load": wall,
            "passages_per_s": report["passages"] / max(report["seconds"], 1e-9)}


# ---------------------------------------------------------------- report
def table(results: dict) -> str:
    ours, stock = results["ours"], results.get("stock")
    rows = [("metric", "ours", "stock rasa", "ours/stock", "target")]

    def add(name, a, b, fmt="{:.1f}", target=""):
        ratio = f"{a / b:.2f}" if a is not None and b else ""
        rows.append((name, fmt.format(a) if a is not None else "-",
                     fmt.format(b) if b is not None else "-", ratio, target))

    s = stock or {}
    add("cold start to first answer (s)", ours["cold_start_s"], s.get("cold_start_s"), target="≤ 30")
    for key, target in (("p50_ms", "≤ 50"), ("p95_ms", "≤ 150"), ("p99_ms", "")):
        add(f"single-client {key}", ours["single"][key], s.get("single", {}).get(key), target=target)
    for i, level in enumerate(ours["load"]):
        other = s.get("load", [{}] * len(ours["load"]))[i]
        add(f"{level['clients']} clients: answers/s", level["rps"], other.get("rps"),
            target="≥ 50" if level["clients"] == 16 else "")
        add(f"{level['clients']} clients: errors", level["errors"], other.get("errors"), fmt="{:.0f}",
            target="0")
    def memory(result, phase, key):
        return (result or {}).get("memory", {}).get(phase, {}).get(key)

    add("peak RSS, largest process (MB)", memory(ours, "answering", "rss_largest_process_mb"),
        memory(s, "answering", "rss_largest_process_mb"), fmt="{:.0f}", target="≤ 1536")
    add("peak RSS, all processes (MB)", memory(ours, "answering", "rss_total_mb"),
        memory(s, "answering", "rss_total_mb"), fmt="{:.0f}")
    add("peak PSS, all processes (MB)", memory(ours, "answering", "pss_total_mb"),
        memory(s, "answering", "pss_total_mb"), fmt="{:.0f}")
    rows.append(("  during full re-index: RSS largest / PSS all (MB)",
                 f"{memory(ours, 're-indexing', 'rss_largest_process_mb') or 0:.0f} / "
                 f"{memory(ours, 're-indexing', 'pss_total_mb') or 0:.0f}", "-", "", ""))
    ri = ours["reindex"]
    rows.append(("re-index one doc (s)", f"{ri['incremental_one_doc_s']:.2f}", "-", "", "≤ 5"))
    rows.append(("p95 during full re-index (ms)", f"{ri['during_full_reindex']['p95_ms']:.0f}",
                 "-", "", "≤ 300"))
    ib = results["index"]
    rows.append(("full index build (s)", f"{ib['build_s']:.1f}", "-", "", ""))
    rows.append(("passages/s", f"{ib['passages_per_s']:.0f}", "-", "", ""))
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="duration of each load level")
    parser.add_argument("--levels", default="1,4,16,64")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "2")))
    parser.add_argument("--no-stock", action="store_true", help="skip the stock Rasa comparison")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    questions = load_questions(200)

    tmp = Path(tempfile.mkdtemp(prefix="trolyao-bench-"))
    docs = tmp / "documents"
    shutil.copytree(ROOT / "knowledge" / "documents", docs)
    model = Path(os.environ.get("TROLYAO_MODELS_DIR", ROOT / "var" / "models")) / "trolyao.tar.gz"
    env = {**os.environ, "TROLYAO_HOME": str(tmp), "TROLYAO_DOCS_DIR": str(docs),
           "TROLYAO_MODELS_DIR": str(model.parent), "TROLYAO_ADMIN_TOKEN": TOKEN,
           "TROLYAO_RATE_LIMIT": "0", "TROLYAO_LOG_LEVEL": "WARNING",
           "RASA_TELEMETRY_ENABLED": "false", "HF_HUB_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    results: dict = {"machine": {"cpus": os.cpu_count(),
                                 "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)},
                     "questions": len(questions), "seconds_per_level": args.seconds}
    try:
        print("index build …", flush=True)
        results["index"] = measure_index_build(env)
        print("our server …", flush=True)
        results["ours"] = run_ours(env, questions, levels, args.seconds, args.workers, docs)
        if not args.no_stock:
            print("stock rasa …", flush=True)
            results["stock"] = run_stock(env, questions, levels, args.seconds, tmp, model)
            o, s = results["ours"], results["stock"]
            results["ratios"] = {
                "latency_p50": o["single"]["p50_ms"] / s["single"]["p50_ms"],
                "latency_p95": o["single"]["p95_ms"] / s["single"]["p95_ms"],
                **throughput_ratios(o["load"], s["load"]),
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    Path(args.out).write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(table(results))
    if "ratios" in results:
        print("ratios ours/stock:", {k: round(v, 2) for k, v in results["ratios"].items()})
    print(f"written: {args.out}")
    return 0


def throughput_ratios(ours: list[dict], stock: list[dict]) -> dict[str, float]:
    """ours/stock answers per second at each client count both measured, named by that count
    (the ratio was taken by list position and called `throughput_16` whatever the levels were)."""
    stock_rps = {level["clients"]: level["rps"] for level in stock}
    return {f"throughput_{level['clients']}": level["rps"] / max(stock_rps[level["clients"]], 1e-9)
            for level in ours if level["clients"] in stock_rps}


if __name__ == "__main__":
    sys.exit(main())
