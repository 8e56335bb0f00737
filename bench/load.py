"""End-to-end load on the running product: mail over SMTP and web chat over HTTP into `triage run`,
timed from each message's receipt to its reply being queued, and until every reply has been sent.

Runs the installed `triage run` as separate processes, as deployed. On SQLite, first one process
runs every role. Then one process runs smtp, web and scheduler, a second the worker role (so the
conversation has a core of its own instead of sharing one interpreter lock) and a third the
outbox, at a lower CPU priority (nice 10, as the README's systemd unit sets it): a receipt may
leave a few seconds after it was queued, but taking mail in and answering it come first. With
--postgres, a throwaway PostgreSQL cluster holds the data and 1, 2 and 4 processes run the worker
role, to show how throughput grows with workers. Chat messages come from distinct residents
behind the (trusted, loopback) proxy, each with its own X-Forwarded-For address, as they would
through nginx. Each run also reports the CPU each process used per message, and the load
generator's own, to show where the machine's cores went.

Usage: python bench/load.py [--json] [-n 10000] [--chat-share 0.2] [--postgres] [--workers 1,2,4]
Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import smtplib
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from common import REPO, TRIAGE, empty_database, free_port, memory_mb, triage_env, wait_for_port

import httpx
from sqlalchemy import create_engine, text

TEXTS = ["My kitchen tap at {n} Elm Road has been dripping for a week. Please send someone.",
         "I reported the damp in my bedroom weeks ago and nobody has come. Flat {n}.",
         "When is my rent due this month? Account {n}.",
         "Thank you to the repairs team for fixing my boiler so quickly, job {n}.",
         "The lift at Marlowe Tower is broken again, block {n}."]


OUTBOX_NICE = 10  # as in the README's systemd unit: receipts may leave seconds later; taking mail in comes first


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    wait_for_port(port, lambda: None if process.poll() is None else f"triage run stopped: {log.read_text()[-2000:]}",
                  timeout=180)  # a worker may first build its model


def _start(roles: str, env: dict[str, str], base: Path, name: str, nice: int = 0) -> subprocess.Popen[bytes]:
    log = base / f"{name}.log"
    return subprocess.Popen(["nice", "-n", str(nice), TRIAGE, "run", "--only", roles], cwd=base, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used, from /proc (fields 14 and 15 of stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _send_mail(port: int, numbers: list[int]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        for n in numbers:
            body = TEXTS[n % len(TEXTS)].format(n=n)
            raw = (f"From: tenant{n}@example.net\r\nTo: housing@example.org\r\nMessage-ID: <load-{n}@example.net>\r\n"
                   f"Subject: Load {n}\r\n\r\n{body}\r\n").encode()
            for _attempt in range(20):
                try:
                    client.sendmail(f"tenant{n}@example.net", ["housing@example.org"], raw)
                    break
                except smtplib.SMTPResponseException as error:  # 451: the gateway tries again
                    if error.smtp_code != 451:
                        raise
                    time.sleep(0.5)


def _send_chat(web: str, numbers: list[int]) -> None:
    """Each message is a new resident: no cookies, an address of its own. One client per thread, because
    making an httpx client costs about 30 ms of CPU (its TLS context), which would load the machine more
    than the product's own work on a chat message."""
    with httpx.Client(base_url=web, timeout=60) as client:
        for n in numbers:
            client.cookies.clear()
            forwarded = {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}
            page = client.get("/chat", headers=forwarded)
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            response = client.post("/chat", data={"text": TEXTS[n % len(TEXTS)].format(n=n), "csrf": csrf,
                                                  "nonce": f"load{n}"},
                                   headers={"Accept": "application/json"} | forwarded)
            response.raise_for_status()


def _measure(database: str, sent: int, started: float, timeout: float) -> dict[str, object]:
    engine = create_engine(database)
    deadline = time.monotonic() + timeout
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            replies = connection.execute(text("SELECT count(DISTINCT case_id) FROM messages "
                                              "WHERE direction = 'outbound'")).scalar() or 0
            if replies >= sent:
                break
            time.sleep(0.5)
            connection.rollback()
        finished = time.monotonic()
        while time.monotonic() < deadline:  # the receipts are queued; now wait until the outbox has sent them
            if not connection.execute(text("SELECT count(*) FROM outbox WHERE status = 'pending'")).scalar():
                break
            time.sleep(0.5)
            connection.rollback()
        delivered = time.monotonic()
        inbound = connection.execute(text("SELECT case_id, received_at FROM messages WHERE direction = 'inbound'")
                                     ).all()
        first_reply = dict(connection.execute(text("SELECT case_id, min(received_at) FROM messages "
                                                   "WHERE direction = 'outbound' GROUP BY case_id")).all())
        distinct = connection.execute(text("SELECT count(DISTINCT external_id) FROM messages "
                                           "WHERE direction = 'inbound'")).scalar() or 0
    engine.dispose()

    def moment(value: object) -> float:
        import datetime as dt

        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        assert isinstance(value, dt.datetime)
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()

    latencies = sorted(moment(first_reply[case]) - moment(at) for case, at in inbound if case in first_reply)
    quantile = (lambda q: round(latencies[min(len(latencies) - 1, int(q * (len(latencies) - 1)))] * 1000, 1)) \
        if latencies else (lambda q: None)
    return {"sent": sent, "stored": len(inbound), "lost": sent - distinct, "duplicated": len(inbound) - distinct,
            "answered": len(latencies), "seconds": round(finished - started, 1),
            "all_replies_sent_seconds": round(delivered - started, 1),
            "messages_per_second": round(len(latencies) / (finished - started), 1),
            "receipt_to_reply_queued_ms": {"p50": quantile(0.5), "p99": quantile(0.99),
                                           "mean": round(statistics.mean(latencies) * 1000, 1) if latencies else None}}


def run_once(n: int, chat_share: float, workers: int, postgres: object | None, model: Path) -> dict[str, object]:
    """One run; workers=0 means a single process with every role."""
    base = Path(tempfile.mkdtemp(prefix="triage-load-"))
    (base / "data" / "model").mkdir(parents=True)
    shutil.copyfile(model, base / "data" / "model" / "triage.skops")
    smtp_port, web_port = free_port(), free_port()
    env = triage_env(TRIAGE_DATA_DIR=str(base / "data"), TRIAGE_SMTP_PORT=str(smtp_port),
                     TRIAGE_WEB_PORT=str(web_port),
                     TRIAGE_REPLIES_PER_DOMAIN_HOUR="1000000")  # every tenant here writes from example.net
    if postgres is not None:
        env["TRIAGE_DATABASE_URL"] = empty_database(postgres.url, f"load{workers}")  # type: ignore[attr-defined]
        subprocess.run([TRIAGE, "db", "upgrade"], env=env, cwd=base, check=True, capture_output=True)
        database = env["TRIAGE_DATABASE_URL"]
    else:
        database = f"sqlite:///{base / 'data' / 'triage.sqlite3'}"
    if workers:
        names = ["front", *(f"worker{i}" for i in range(workers)), "outbox"]
        processes = [_start("smtp,web,scheduler", env, base, "front")]
        processes += [_start("worker", env, base, f"worker{i}") for i in range(workers)]
        processes.append(_start("outbox", env, base, "outbox", nice=OUTBOX_NICE))
    else:
        names = ["all roles"]
        processes = [_start("smtp,web,worker,outbox,scheduler", env, base, "front")]
    try:
        _wait_port(smtp_port, processes[0], base / "front.log")
        _wait_port(web_port, processes[0], base / "front.log")
        time.sleep(2)  # the workers load their model
        chats = int(n * chat_share)
        numbers = list(range(n))
        mail, chat = numbers[chats:], numbers[:chats]
        cpu_before = [_cpu_seconds(p.pid) for p in processes]
        load_cpu_before = time.process_time()
        started = time.monotonic()
        threads = [threading.Thread(target=_send_mail, args=(smtp_port, mail[i::8])) for i in range(8)]
        threads += [threading.Thread(target=_send_chat, args=(f"http://127.0.0.1:{web_port}", chat[i::4]))
                    for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sending = time.monotonic() - started
        result = _measure(database, n, started, timeout=max(600.0, n / 5))
        result.update({"database": "postgresql" if postgres else "sqlite", "worker_processes": workers,
                       "email": len(mail), "chat": len(chat), "sending_seconds": round(sending, 1),
                       "peak_memory_mb": {name: memory_mb(p.pid) for name, p in zip(names, processes, strict=True)},
                       # where the two cores went: 200 messages/s leaves 10 ms of CPU a message for everything
                       "cpu_ms_per_message": {
                           **{name: round(1000 * (_cpu_seconds(p.pid) - before) / n, 2)
                              for name, p, before in zip(names, processes, cpu_before, strict=True)},
                           "load_generator": round(1000 * (time.process_time() - load_cpu_before) / n, 2)}})
        return result
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--chat-share", type=float, default=0.2)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL with several workers")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--model", type=Path, default=REPO / "data" / "model" / "triage.skops",
                        help="a model file to copy in (default: the one `make run` built)")
    args = parser.parse_args()
    if not args.model.exists():
        raise SystemExit(f"no model at {args.model}: run `make run` or `triage train` once first")
    runs = [run_once(args.n, args.chat_share, workers, None, args.model) for workers in (0, 1)]
    if args.postgres:
        from tests.servers import PostgresCluster

        cluster = PostgresCluster()
        cluster.start()
        try:
            for workers in (int(w) for w in args.workers.split(",")):
                runs.append(run_once(args.n, args.chat_share, workers, cluster, args.model))
        finally:
            cluster.remove()
    if not args.json:
        for run in runs:
            workers = run["worker_processes"] or "in process"
            print(f"{run['database']} workers={workers}: {run['messages_per_second']}/s, "
                  f"{run['receipt_to_reply_queued_ms']}, all replies sent after {run['all_replies_sent_seconds']} s, "
                  f"lost {run['lost']}, duplicated {run['duplicated']}")
    print(json.dumps({"runs": runs}))


if __name__ == "__main__":
    main()
