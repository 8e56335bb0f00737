"""Inbound SMTP throughput: the real pipeline (parse and store on SQLite before 250) against a bare
aiosmtpd server that discards, in the same run. Checks that nothing is lost or stored twice.

Usage: python bench/smtp.py [--json] [-n 2000] [-c 8]. Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import shutil
import smtplib
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from common import delivery, free_port

from bot.context import Context
from bot.email_intake import smtp_controller
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("-n", type=int, default=2000, help="messages")
    parser.add_argument("-c", type=int, default=8, help="concurrent connections")
    args = parser.parse_args()
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
    if not args.json:
        print(f"pipeline {result['pipeline_messages_per_second']}/s, "
              f"bare {result['bare_server_messages_per_second']}/s, "
              f"lost {result['lost']}, duplicated {result['duplicated']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
