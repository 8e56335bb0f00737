"""`triage import` reads .eml files, folders and mbox files through the SMTP path; a second run finds duplicates."""

from __future__ import annotations

import json
import mailbox
import subprocess
from email.message import EmailMessage
from pathlib import Path

from tests.servers import TRIAGE, triage_env


def eml(n: int, auto: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = f"resident{n}@example.net"
    message["To"] = "housing@example.org"
    message["Subject"] = f"Message {n}"
    message["Message-ID"] = f"<import-{n}@example.net>"
    if auto:
        message["Auto-Submitted"] = "auto-replied"
    message.set_content(f"Text of message {n}")
    return message.as_bytes()


def run_import(tmp_path: Path, *paths: Path) -> tuple[int, list[dict]]:
    result = subprocess.run([TRIAGE, "import", *map(str, paths), "--json"],
                            env=triage_env(TRIAGE_DATA_DIR=str(tmp_path / "data")), cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


def test_files_folders_and_mbox_then_only_duplicates(tmp_path: Path) -> None:
    single = tmp_path / "one.eml"
    single.write_bytes(eml(1))
    folder = tmp_path / "export" / "inbox"
    folder.mkdir(parents=True)
    (folder / "two.eml").write_bytes(eml(2))
    (folder / "three.EML").write_bytes(eml(3, auto=True))
    (folder / "notes.txt").write_text("not mail")
    (folder / "empty.eml").write_bytes(b"")
    box = mailbox.mbox(tmp_path / "archive.mbox")
    for n in (4, 5):
        box.add(eml(n))
    box.add(eml(1))  # the same message as one.eml
    box.close()

    code, rows = run_import(tmp_path, single, tmp_path / "export", tmp_path / "archive.mbox")
    assert code == 0
    assert rows[-1] == {"stored": 5, "duplicate": 1, "rejected": 1, "failed": 0}
    by_source = {Path(r["source"]).name: r for r in rows[:-1]}
    assert by_source["empty.eml"]["status"] == "rejected"
    assert by_source["three.EML"]["automatic"] is True
    assert by_source["archive.mbox#3"]["status"] == "duplicate"
    assert [r["external_id"] for r in rows[:-1] if r["status"] == "stored"] == [
        "<import-1@example.net>", "<import-3@example.net>", "<import-2@example.net>",
        "<import-4@example.net>", "<import-5@example.net>"]

    code, again = run_import(tmp_path, single, tmp_path / "export", tmp_path / "archive.mbox")
    assert code == 0 and again[-1] == {"stored": 0, "duplicate": 6, "rejected": 1, "failed": 0}
