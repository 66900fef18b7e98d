"""`trolyao shell`: chat with the assistant in a terminal (staff testing answers)."""
from __future__ import annotations

import sys
import uuid


def run_shell(start_assistant, debug: bool = False) -> int:
    assistant = start_assistant()
    sender = f"shell-{uuid.uuid4().hex[:8]}"
    interactive = sys.stdin.isatty()
    try:
        while True:
            try:
                line = input("Bạn> " if interactive else "")
            except EOFError:
                break
            line = line.strip()
            if not line:
                continue
            if line in ("/quit", "/exit"):
                break
            reply = assistant.chat(sender, line)
            for message in reply.messages:
                print(f"Trợ lý> {message['text']}")
                for button in message.get("buttons", []):
                    print(f"   [{button['title']}] {button['payload']}")
            if debug:
                print(f"   intent={reply.intent['name']} ({reply.intent['confidence']:.2f}) "
                      f"fallback={reply.fallback}")
                for source in reply.sources:
                    print(f"   - {source['service']} {source['score']:.3f} {source['title']}")
    finally:
        assistant.close()
    return 0
