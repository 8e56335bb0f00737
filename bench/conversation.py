"""How fast the bot handles stored mail: parse (for SMTP mail stored raw), classify, open or find
the case, and queue the reply; the work that follows SMTP's 250.

First on SQLite, in this process. With --postgres, the same messages are stored in a throwaway
PostgreSQL database and handled by 1, 2 and 4 `triage run --only worker` processes, with nothing
else running: how the conversation itself scales with workers, apart from the load of receiving.

Usage: python bench/conversation.py [--json] [-n 500] [--postgres] [--workers 1,2,4].
Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from common import REPO, TRIAGE, empty_database, triage_env

from sqlalchemy import func, select

from bot.context import Context
from bot.inbound import store_messages
from bot.models import ensure_model
from bot.service import conversation
from bot.settings import Settings
from intake.email.parse import envelope
from workflow.models import Message


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


def on_sqlite(n: int, model_dir: Path) -> dict[str, object]:
    data_dir = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    try:
        context = Context(Settings(_env_file=None, data_dir=data_dir))
        context.migrate()
        model = ensure_model(Context(Settings(_env_file=None, data_dir=model_dir)))
        store_messages(context, [envelope(letter(i)) for i in range(n)])
        bot = conversation(context, model)
        started = time.perf_counter()
        handled = 0
        while handled < n:
            done = bot.handle_pending(limit=100)
            if not done:
                break
            handled += done
        seconds = time.perf_counter() - started
        context.engine.dispose()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"database": "sqlite", "workers": "in process", "messages": n, "handled": handled,
            "seconds": round(seconds, 2), "messages_per_second": round(handled / seconds, 1)}


def on_postgres(n: int, workers: int, cluster: object, model_dir: Path) -> dict[str, object]:
    """Workers start on an empty database, the messages are stored at once, and the clock runs from
    the first message handled to the last (so process start-up and the 2 s poll are not counted)."""
    url = empty_database(cluster.url, f"conversation{workers}")  # type: ignore[attr-defined]
    context = Context(Settings(_env_file=None, data_dir=model_dir, database_url=url))
    context.migrate()
    env = triage_env(TRIAGE_DATA_DIR=str(model_dir), TRIAGE_DATABASE_URL=url)
    logs = [model_dir / f"worker{i}.log" for i in range(workers)]
    processes = [subprocess.Popen([TRIAGE, "run", "--only", "worker"], env=env, cwd=model_dir,
                                  stdout=log.open("wb"), stderr=subprocess.STDOUT) for log in logs]
    try:
        deadline = time.monotonic() + 120
        while not all("running: worker" in log.read_text() for log in logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise SystemExit("a worker did not start: " + " / ".join(log.read_text()[-500:] for log in logs))
            time.sleep(0.2)
        store_messages(context, [envelope(letter(i)) for i in range(n)])
        handled = 0
        while handled < n and time.monotonic() < deadline + n:
            time.sleep(0.5)
            with context.sessions() as session:
                handled = session.scalar(select(func.count()).select_from(Message).where(
                    Message.direction == "inbound", Message.handled_at.is_not(None))) or 0
        with context.sessions() as session:
            first, last = session.execute(select(func.min(Message.handled_at), func.max(Message.handled_at))
                                          .where(Message.direction == "inbound")).one()
            replies = session.scalar(select(func.count(func.distinct(Message.case_id)))
                                     .where(Message.direction == "outbound")) or 0
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        context.engine.dispose()
    seconds = (last - first).total_seconds()
    return {"database": "postgresql", "workers": workers, "messages": n, "handled": handled, "replied": replies,
            "seconds": round(seconds, 2), "messages_per_second": round(handled / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("-n", type=int, default=500, help="messages")
    parser.add_argument("--postgres", action="store_true", help="also handle them on PostgreSQL with worker processes")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    model_dir = Path(tempfile.mkdtemp(prefix="triage-model-"))
    try:
        model_file = REPO / "data" / "model" / "triage.skops"
        if model_file.exists():  # the model `make run` built; otherwise ensure_model trains one
            (model_dir / "model").mkdir()
            shutil.copyfile(model_file, model_dir / "model" / "triage.skops")
        runs = [on_sqlite(args.n, model_dir)]
        if args.postgres:
            from tests.servers import PostgresCluster

            cluster = PostgresCluster()
            cluster.start()
            try:
                runs += [on_postgres(args.n, int(w), cluster, model_dir) for w in args.workers.split(",")]
            finally:
                cluster.remove()
    finally:
        shutil.rmtree(model_dir, ignore_errors=True)
    if not args.json:
        for run in runs:
            print(f"{run['database']}, workers {run['workers']}: {run['messages_per_second']} messages/s")
    print(json.dumps({"runs": runs}))


if __name__ == "__main__":
    main()
