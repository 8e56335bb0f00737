"""Inbound SMTP throughput: the real pipeline (parse and store on SQLite before 250) against a bare
aiosmtpd server that discards, in the same run. Checks that nothing is lost or stored twice.

With --large N it also runs the installed `triage run` (every role, SQLite) as deployed, sends it N
letters of about 24.5 MB at once, each carrying a large attachment, waits until the bot has handled
them all, and reports that process's peak memory (VmHWM) beside its memory before the mail came.

Usage: python bench/smtp.py [--json] [-n 2000] [-c 8] [--large 6 --model data/model/triage.skops].
Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import smtplib
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from email import policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from common import REPO, TRIAGE, delivery, free_port, memory_mb, triage_env, wait_for_port
from sqlalchemy import create_engine, text

from bot.context import Context
from bot.channels import smtp_controller
from bot.settings import Settings


def letter(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"resident{n % 500}@example.net"
    message["To"] = "housing@example.org"
    message["Subject"] = f"Repair {n}"
    message["Message-ID"] = f"<bench-{n}@example.net>"
    message.set_content(f"My kitchen tap has been dripping for {n % 30 + 1} days. Please send someone.\n" * 5)
    return message.as_bytes()


class Discard:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def one_connection(port: int, chunk: list[bytes]) -> list[float]:
    times = []
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        for raw in chunk:
            started = time.perf_counter()
            client.sendmail("resident@example.net", ["housing@example.org"], raw)
            times.append(time.perf_counter() - started)
    return times


def blast(port: int, messages: list[bytes], connections: int) -> tuple[float, list[float]]:
    """Each connection in its own process, as real sending servers are, so clients do not share the server's GIL."""
    chunks = [messages[i::connections] for i in range(connections)]
    with ProcessPoolExecutor(max_workers=connections) as pool:
        pool.submit(time.sleep, 0).result()  # start the workers before the clock does
        started = time.perf_counter()
        latencies = [t for times in pool.map(one_connection, [port] * connections, chunks) for t in times]
    return len(messages) / (time.perf_counter() - started), latencies


def large_letter(n: int, attachment_bytes: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"resident{n}@example.net"
    message["To"] = "housing@example.org"
    message["Subject"] = f"Photos of the damp, set {n}"
    message["Message-ID"] = f"<bench-large-{n}@example.net>"
    message.set_content("The black mould in the bedroom is back. The photos are attached.\n")
    message.add_attachment(os.urandom(attachment_bytes), maintype="application", subtype="pdf",
                           filename=f"photos-{n}.pdf")
    return message.as_bytes(policy=policy.SMTP)  # CRLF: smtplib sends bytes as they are


def large(count: int, model: Path, attachment_bytes: int) -> dict[str, object]:
    """`triage run` as deployed, sent `count` large letters at once: its peak memory until all are handled."""
    base = Path(tempfile.mkdtemp(prefix="triage-bench-large-"))
    (base / "data" / "model").mkdir(parents=True)
    shutil.copyfile(model, base / "data" / "model" / "triage.skops")
    smtp_port, web_port = free_port(), free_port()
    env = triage_env(TRIAGE_DATA_DIR=str(base / "data"), TRIAGE_SMTP_PORT=str(smtp_port),
                     TRIAGE_WEB_PORT=str(web_port))
    log = base / "run.log"
    process = subprocess.Popen([TRIAGE, "run"], cwd=base, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        for port in (smtp_port, web_port):
            wait_for_port(port, lambda: None if process.poll() is None else f"triage run stopped: {log.read_text()}",
                          timeout=180)
        time.sleep(3)  # the worker loads its model
        idle = memory_mb(process.pid, "VmRSS")
        letters = [large_letter(n, attachment_bytes) for n in range(count)]
        sizes = [len(raw) for raw in letters]
        answers: list[str] = []

        def send(raw: bytes) -> None:
            try:
                with smtplib.SMTP("127.0.0.1", smtp_port, timeout=300) as client:
                    client.sendmail("resident@example.net", ["housing@example.org"], raw)
                answers.append("250")
            except smtplib.SMTPException as error:
                answers.append(str(error)[:200])

        samples: list[float] = []  # VmRSS every 50 ms: which phase the peak is in
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                samples.append(memory_mb(process.pid, "VmRSS"))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        threads = [threading.Thread(target=send, args=(raw,)) for raw in letters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        del letters
        accepted = time.monotonic() - started
        while_accepting = max(samples)
        engine = create_engine(f"sqlite:///{base / 'data' / 'triage.sqlite3'}")
        deadline = time.monotonic() + 600 if "250" in answers else 0
        handled = 0
        with engine.connect() as connection:
            while time.monotonic() < deadline:
                handled = connection.execute(text("SELECT count(*) FROM messages WHERE direction = 'inbound' "
                                                  "AND handled_at IS NOT NULL")).scalar() or 0
                if handled >= count:
                    break
                connection.rollback()
                time.sleep(0.5)
            stored = dict(connection.execute(text(
                "SELECT 'raw', coalesce(sum(length(raw)), 0) FROM messages WHERE direction = 'inbound'")).all())
        engine.dispose()
        sampling.set()
        sampler.join()
        files = sum(f.stat().st_size for f in (base / "data").rglob("*") if f.is_file() and "attachments" in f.parts)
        return {"large_letters": count, "letter_mb": round(statistics.mean(sizes) / 2**20, 1),
                "accepted": answers.count("250"),
                "refused": [a for a in answers if a != "250"], "handled": handled, "seconds_to_accept_all": round(accepted, 1),
                "seconds_to_handle_all": round(time.monotonic() - started, 1),
                "idle_memory_mb": idle, "peak_memory_mb": memory_mb(process.pid, "VmHWM"),
                "peak_while_accepting_mb": while_accepting, "peak_while_handling_mb": max(samples),
                "stored_raw_mb": round(stored["raw"] / 2**20, 1), "stored_attachment_files_mb": round(files / 2**20, 1)}
    finally:
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("-n", type=int, default=2000, help="messages")
    parser.add_argument("-c", type=int, default=8, help="concurrent connections")
    parser.add_argument("--large", type=int, default=0, help="also send this many ~24.5 MB letters at once")
    parser.add_argument("--attachment-mb", type=float, default=17.5, help="each large letter's attachment")
    parser.add_argument("--model", type=Path, default=REPO / "data" / "model" / "triage.skops",
                        help="for --large: a model file to copy in (default: the one `make run` built)")
    args = parser.parse_args()
    if args.large and not args.model.exists():
        raise SystemExit(f"no model at {args.model}: run `make run` or `triage train` once first")
    messages = [letter(n) for n in range(args.n)]

    bare_port = free_port()
    bare = Controller(Discard(), hostname="127.0.0.1", port=bare_port)
    bare.start()
    try:
        bare_rate, _ = blast(bare_port, messages, args.c)
    finally:
        bare.stop()

    data_dir = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    try:
        context = Context(Settings(_env_file=None, data_dir=data_dir, smtp_port=free_port()))
        context.migrate()
        controller = smtp_controller(context)
        controller.start()
        try:
            rate, latencies = blast(context.settings.smtp_port, messages, args.c)
        finally:
            controller.stop()
        counts = delivery(context, args.n)
        context.engine.dispose()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    latencies.sort()
    result = {
        "messages": args.n, "connections": args.c, "database": "sqlite",
        "pipeline_messages_per_second": round(rate, 1), "bare_server_messages_per_second": round(bare_rate, 1),
        "share_of_bare": round(rate / bare_rate, 3),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 2),
        **counts,
    }
    if args.large:
        result["large"] = large(args.large, args.model, int(args.attachment_mb * 2**20))
    if not args.json:
        print(f"pipeline {result['pipeline_messages_per_second']}/s, "
              f"bare {result['bare_server_messages_per_second']}/s, "
              f"lost {result['lost']}, duplicated {result['duplicated']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
