"""How fast the bot handles stored mail: parse (for SMTP mail stored raw), classify, open or find
the case, and queue the reply; the work that follows SMTP's 250. SQLite, one worker.

Usage: python bench/conversation.py [--json] [-n 500]. Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from common import REPO  # noqa: F401 - puts the repository on the import path

from bot.context import Context
from bot.inbound import store_messages
from bot.models import ensure_model
from bot.service import conversation
from bot.settings import Settings
from intake.email.parse import envelope

TEXTS = [
    "My kitchen tap has been dripping for {n} days. Please send someone.",
    "I reported the damp in my bedroom {n} weeks ago and nobody has come. I am fed up.",
    "Can you tell me when my rent is due this month? Account {n}.",
    "Thank you to the repairs team for fixing my boiler so quickly, job {n}.",
    "I want to make a formal complaint about the way I was spoken to on the phone, call {n}.",
]


def letter(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"resident{n}@example.net"
    message["To"] = "housing@example.org"
    message["Subject"] = f"Message {n}"
    message["Message-ID"] = f"<conversation-{n}@example.net>"
    message.set_content(TEXTS[n % len(TEXTS)].format(n=n))
    return message.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("-n", type=int, default=500, help="messages")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    try:
        context = Context(Settings(_env_file=None, data_dir=data_dir))
        context.migrate()
        model_dir = Path(tempfile.mkdtemp(prefix="triage-model-"))
        model = ensure_model(Context(Settings(_env_file=None, data_dir=model_dir)))
        store_messages(context, [envelope(letter(n)) for n in range(args.n)])
        bot = conversation(context, model)
        started = time.perf_counter()
        handled = 0
        while handled < args.n:
            done = bot.handle_pending(limit=100)
            if not done:
                break
            handled += done
        seconds = time.perf_counter() - started
        context.engine.dispose()
        shutil.rmtree(model_dir, ignore_errors=True)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result = {"messages": args.n, "handled": handled, "seconds": round(seconds, 2),
              "messages_per_second": round(handled / seconds, 1), "database": "sqlite"}
    if not args.json:
        print(f"handled {handled} messages in {seconds:.1f}s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
