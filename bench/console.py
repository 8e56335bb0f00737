"""Console page times with many cases: the queue (default, filtered, a deep page), a case page,
the corrections page, and a bulk confirm of 50 rows.

Fills a SQLite database (the embedded default), or with --postgres a real PostgreSQL server
started on loopback, with cases, messages, suggestions, complaint stages and reviews, serves the
real app with uvicorn on loopback, signs in, and times each page over HTTP. Usage:
python bench/console.py [--json] [-n 100000] [--requests 40] [--postgres]. Prints one JSON object
last; the targets are p95 under 150 ms for each page and the bulk confirm of 50 under 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from common import REPO  # noqa: F401 - puts the repository on the import path
from sqlalchemy import insert

from bot.context import Context
from bot.settings import Settings
from bot.web import create_app
from tests.servers import web_server
from workflow.models import Case, Classification, ComplaintStage, Message, Review
from workflow.users import add_user
from workflow.vocabulary import Kind, Theme

PASSWORD = "benchmark password"


def fill(context: Context, n: int) -> str:
    """n cases, each with a message and a suggestion; a fifth are complaints with a stage; 1 in 20 reviewed."""
    rng = random.Random(7)
    now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    kinds, themes = [k.value for k in Kind], [t.value for t in Theme]
    with context.sessions() as session:
        reviewer = add_user(session, "bench", "supervisor", PASSWORD, now, "bench")
        session.commit()
        reviewer_id = reviewer.id
    with context.engine.begin() as connection:
        cases, messages, suggestions, stages, reviews = [], [], [], [], []
        for i in range(1, n + 1):
            kind = kinds[i % 5]
            opened = now - dt.timedelta(minutes=i)
            cases.append({"id": i, "reference": f"{'CMP' if kind == 'complaint' else 'SR'}-2026-{i:05d}",
                          "kind": kind, "theme": themes[i % len(themes)], "team": "Repairs",
                          "status": "stage1_logged" if kind == "complaint" else "open", "opened_at": opened,
                          "hazard": "significant" if i % 97 == 0 else "none", "vulnerable": i % 13 == 0,
                          "hazard_due_at": opened + dt.timedelta(days=14) if i % 97 == 0 else None})
            messages.append({"id": i, "channel": "email", "direction": "inbound", "external_id": f"<b{i}@x>",
                             "case_id": i, "sender": f"r{i}@example.net", "recipients": [], "subject": "Repair",
                             "body_text": f"My boiler has broken again, message {i}. " * 3, "new_text": "",
                             "received_at": opened, "references": [], "automatic": False, "defects": [],
                             "options": [], "quiet": False, "parsed": True, "handled_at": opened})
            suggestions.append({"id": i, "message_id": i, "case_id": i, "model_version": "bench", "kind": kind,
                                "kind_scores": {kind: 0.8}, "theme": themes[i % len(themes)],
                                "theme_scores": {themes[i % len(themes)]: 0.7}, "offer_choice": kind == "complaint",
                                "flags": {"vulnerable": i % 13 == 0, "cues": {"hazard": ["damp"]} if i % 97 == 0
                                          else {}}, "created_at": opened})
            if kind == "complaint":
                received = opened.date()
                stages.append({"case_id": i, "number": 1, "requested_on": received,
                               "acknowledgement_due": received + dt.timedelta(days=7), "remedies": [],
                               "auto_acknowledged": False})
            if i % 20 == 0:
                reviews.append({"classification_id": i, "case_id": i, "reviewer_id": reviewer_id,
                                "suggested_kind": kind, "suggested_theme": themes[i % len(themes)],
                                "confirmed_kind": kinds[(i + rng.randint(0, 1)) % 5],
                                "confirmed_theme": themes[i % len(themes)], "created_at": opened})
        for table, rows in ((Case, cases), (Message, messages), (Classification, suggestions),
                            (ComplaintStage, stages), (Review, reviews)):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(table.__table__), rows[start:start + 5000])
        if connection.dialect.name == "postgresql":  # ids were given: move the sequences past them
            for table in ("cases", "messages", "classifications", "complaint_stages", "reviews"):
                connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                           f"(SELECT max(id) FROM {table}))")
    with context.engine.connect() as connection:  # what autovacuum does soon after a bulk load: without
        connection.exec_driver_sql("ANALYZE")  # it, PostgreSQL planned the filtered queue at 2.6 s, not 40 ms
        connection.commit()
    return cases[n // 2]["reference"]


def timed(client: httpx.Client, path: str, requests: int) -> dict[str, float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    times.sort()
    return {"p50_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 1)}


def bulk_confirm(client: httpx.Client, token: str, n: int) -> tuple[float, int]:
    """Seconds for one POST confirming 50 unreviewed rows from the middle of the queue, and how
    many the page then says were confirmed."""
    picks = [f"{'CMP' if i % 5 == 0 else 'SR'}-2026-{i:05d}:{i}" for i in range(n // 2, n) if i % 20][:50]
    started = time.perf_counter()
    response = client.post("/console/bulk", data={"csrf": token, "do": "confirm", "cases": picks})
    seconds = time.perf_counter() - started
    assert response.status_code == 303, response.status_code
    said = re.search(r"Confirmed (\d+)", client.get("/console/").text)
    return round(seconds, 3), int(said.group(1)) if said else 0


def measure(database_url: str | None, data_dir: Path, n: int, requests: int) -> dict[str, object]:
    settings = Settings(_env_file=None, data_dir=data_dir, **({"database_url": database_url} if database_url else {}))
    context = Context(settings)
    context.migrate()
    reference = fill(context, n)
    with web_server(create_app(context)) as url, httpx.Client(base_url=url, timeout=60) as client:
        page = client.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        client.post("/console/login", data={"username": "bench", "password": PASSWORD, "csrf": token})
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/").text).group(1)  # type: ignore[union-attr]
        result: dict[str, object] = {
            "cases": n, "database": context.engine.dialect.name,
            "queue": timed(client, "/console/", requests),
            "queue_filtered": timed(client, "/console/?kind=complaint&vulnerable=1&awaiting=advisor", requests),
            "queue_page_50": timed(client, "/console/?page=50", requests),
            "case_page": timed(client, f"/console/cases/{reference}", requests),
            "review_page": timed(client, "/console/reviews", requests),
        }
        result["bulk_confirm_50_seconds"], result["bulk_confirmed"] = bulk_confirm(client, csrf, n)
    context.engine.dispose()
    return result


PAGES = ("queue", "queue_filtered", "queue_page_50", "case_page", "review_page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("-n", type=int, default=100_000, help="cases")
    parser.add_argument("--requests", type=int, default=40, help="requests per page")
    parser.add_argument("--postgres", action="store_true", help="on a PostgreSQL server started on loopback")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    try:
        if args.postgres:
            from tests.servers import empty_database, postgres_server

            with postgres_server() as admin_url:
                result = measure(empty_database(admin_url, "triage_bench"), data_dir, args.n, args.requests)
        else:
            result = measure(None, data_dir, args.n, args.requests)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result["target_met"] = (all(result[p]["p95_ms"] <= 150 for p in PAGES)  # type: ignore[index]
                            and float(result["bulk_confirm_50_seconds"]) < 1.0  # type: ignore[arg-type]
                            and result["bulk_confirmed"] == 50)
    if not args.json:
        print(", ".join(f"{p} p95 {result[p]['p95_ms']} ms" for p in PAGES))  # type: ignore[index]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
