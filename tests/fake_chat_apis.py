"""A local fake of the chat apps' APIs the channels call (loopback HTTP, records every request).

Zalo OA (the shapes of webhook/channels/zalo_api.py, i.e. the public documentation):
- POST /v4/oa/access_token: form refresh_token, app_id, grant_type=refresh_token; header
  secret_key. A refresh token works once; the answer is a new pair, "expires_in": "90000".
  An unknown refresh token gets {"error": -14014, ...}.
- POST /v3.0/oa/message/cs: header access_token; JSON {recipient: {user_id}, message: {text,
  attachment?}}. A token the fake did not issue (or revoked) gets {"error": -216, ...}.
Messenger: POST /me/messages?access_token=… (the Graph Send API). Telegram: POST
/bot<token>/sendMessage (form fields, as aiogram sends them).

`down = True` makes every send answer HTTP 503 (the API being down).
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Call:
    path: str
    headers: dict
    query: dict
    body: object


@dataclass
class FakeState:
    app_id: str
    app_secret: str
    refresh_token: str = field(default_factory=lambda: "rt-" + secrets.token_hex(8))
    access_tokens: set = field(default_factory=set)
    used_refresh_tokens: set = field(default_factory=set)
    calls: list = field(default_factory=list)
    down: bool = False
    message_count: int = 0


class FakeChatApis:
    def __init__(self, app_id: str, app_secret: str):
        self.state = FakeState(app_id=app_id, app_secret=app_secret)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ---------- control ----------
    def start(self) -> "FakeChatApis":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def down(self) -> bool:
        return self.state.down

    @down.setter
    def down(self, value: bool) -> None:
        self.state.down = value

    def revoke_access_tokens(self) -> None:
        with self.lock:
            self.state.access_tokens.clear()

    def calls(self, path_part: str) -> list[Call]:
        with self.lock:
            return [c for c in self.state.calls if path_part in c.path]

    def wait_for(self, predicate, timeout: float = 30.0):
        """The calls once `predicate(calls)` holds (the delivery thread sends asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                calls = list(self.state.calls)
            result = predicate(calls)
            if result:
                return result
            time.sleep(0.02)
        raise AssertionError(f"the fake API did not receive what was expected in {timeout} s; "
                             f"got {[c.path for c in calls]}")

    # ---------- the HTTP side ----------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def _reply(self, status: int, data) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self):
                url = urlparse(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    body = json.loads(raw or b"null")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                call = Call(url.path, {k.lower(): v for k, v in self.headers.items()},
                            {k: v[0] for k, v in parse_qs(url.query).items()}, body)
                with fake.lock:
                    fake.state.calls.append(call)
                    status, data = fake._answer(call)
                self._reply(status, data)

        return Handler

    def _answer(self, call: Call) -> tuple[int, object]:
        s = self.state
        if call.path == "/v4/oa/access_token":
            body = call.body
            if call.headers.get("secret_key") != s.app_secret or body.get("app_id") != s.app_id \
                    or body.get("grant_type") != "refresh_token":
                return 200, {"error": -14002, "error_name": "Invalid app"}
            given = body.get("refresh_token")
            if given != s.refresh_token or given in s.used_refresh_tokens:
                return 200, {"error": -14014, "error_name": "Invalid refresh token"}
            s.used_refresh_tokens.add(given)
            access = "at-" + secrets.token_hex(8)
            s.access_tokens.add(access)
            s.refresh_token = "rt-" + secrets.token_hex(8)
            return 200, {"access_token": access, "refresh_token": s.refresh_token,
                         "expires_in": "90000"}
        if s.down:
            return 503, {"error": "service unavailable"}
        if call.path == "/v3.0/oa/message/cs":
            if call.headers.get("access_token") not in s.access_tokens:
                return 200, {"error": -216, "message": "Access token is invalid"}
            s.message_count += 1
            return 200, {"error": 0, "message": "Success",
                         "data": {"message_id": f"m{s.message_count}",
                                  "user_id": call.body["recipient"]["user_id"]}}
        if call.path.endswith("/me/messages"):
            s.message_count += 1
            return 200, {"recipient_id": call.body["recipient"]["id"],
                         "message_id": f"mid.{s.message_count}"}
        if call.path.endswith("/sendMessage"):
            s.message_count += 1
            chat_id = int(call.body["chat_id"])
            return 200, {"ok": True, "result": {
                "message_id": s.message_count, "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"}, "text": call.body.get("text", "")}}
        return 404, {"error": "unknown path"}
