"""What the email benchmarks share: the repository on the import path, ports, and the exactly-once check."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from bot.context import Context  # noqa: E402
from tests.servers import TRIAGE, empty_database, free_port, triage_env, wait_for_port  # noqa: E402
from workflow.models import Message  # noqa: E402

__all__ = ["REPO", "TRIAGE", "delivery", "empty_database", "free_port", "memory_mb", "triage_env", "wait_for_port"]


def memory_mb(pid: int, field: str = "VmHWM") -> float:
    """A process's memory from /proc, in MB: VmHWM its peak so far, VmRSS what it holds now."""
    import re

    status = Path(f"/proc/{pid}/status").read_text()
    return round(int(re.search(rf"{field}:\s+(\d+)", status).group(1)) / 1024, 1)  # type: ignore[union-attr]


def delivery(context: Context, sent: int) -> dict[str, int]:
    """How many of the sent messages were never stored, and how many were stored more than once."""
    with context.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Message)) or 0
        distinct = session.scalar(select(func.count(func.distinct(Message.external_id)))) or 0
    return {"lost": sent - distinct, "duplicated": stored - distinct}
