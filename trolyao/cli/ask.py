"""`trolyao ask --jsonl`: answer JSON lines {id, text} from stdin, one JSON line each."""
from __future__ import annotations

import json
import sys
import uuid

from trolyao.cli.common import start_assistant


def cmd_ask(args) -> int:
    if not args.jsonl:
        print("usage: trolyao ask --jsonl < questions.jsonl", file=sys.stderr)
        return 2
    assistant = start_assistant()
    status = 0
    try:
        for lineno, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                qid, text = item.get("id"), item["text"]
                if not isinstance(text, str) or not text.strip():
                    raise ValueError("'text' must be a non-empty string")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                print(json.dumps({"line": lineno, "error": f"bad input line: {exc}"},
                                 ensure_ascii=False), flush=True)
                status = 1
                continue
            reply = assistant.chat(f"ask-{uuid.uuid4().hex}", text)
            print(json.dumps({"id": qid, "text": text, **reply.to_api()}, ensure_ascii=False),
                  flush=True)
    finally:
        assistant.close()
    return status


def add_parsers(sub, settings) -> None:
    p = sub.add_parser("ask", help="answer JSON lines {id, text} from stdin, one JSON line each")
    p.add_argument("--jsonl", action="store_true", required=True)
    p.set_defaults(func=cmd_ask)
