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
    assert rows[-1] == {"stored": 5, "duplicate": 1, "rejected": 2, "failed": 0}
    by_source = {Path(r["source"]).name: r for r in rows[:-1]}
    assert by_source["empty.eml"] == {"source": str(folder / "empty.eml"), "status": "rejected",
                                      "reason": "empty file"}
    assert by_source["notes.txt"]["reason"] == "not a mail message: it does not start with a header line"
    assert by_source["three.EML"]["automatic"] is True
    assert by_source["archive.mbox#3"]["status"] == "duplicate"
    assert [r["external_id"] for r in rows[:-1] if r["status"] == "stored"] == [
        "<import-1@example.net>", "<import-3@example.net>", "<import-2@example.net>",
        "<import-4@example.net>", "<import-5@example.net>"]

    code, again = run_import(tmp_path, single, tmp_path / "export", tmp_path / "archive.mbox")
    assert code == 0 and again[-1] == {"stored": 0, "duplicate": 6, "rejected": 2, "failed": 0}


def eml_with(message_id: str, text: str) -> bytes:
    message = EmailMessage()
    message["From"] = "resident@example.net"
    message["To"] = "housing@example.org"
    message["Subject"] = "Repairs"
    message["Message-ID"] = message_id
    message.set_content(text)
    return message.as_bytes()


def test_every_file_is_read_whatever_its_name_and_a_reused_message_id_is_not_a_duplicate(tmp_path: Path) -> None:
    """A plain export names its files 1, 2, 3; a mailer that reuses a Message-ID still sent two letters."""
    export = tmp_path / "export"
    export.mkdir()
    (export / "1").write_bytes(eml_with("<same@example.net>", "The boiler is broken again."))
    (export / "2").write_bytes(eml_with("<same@example.net>", "Thank you, the boiler works now."))
    (export / "3").write_bytes(eml_with("<same@example.net>", "The boiler is broken again."))  # a true copy
    (export / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not mail")
    code, rows = run_import(tmp_path, export)
    assert code == 0
    assert rows[-1] == {"stored": 2, "duplicate": 1, "rejected": 1, "failed": 0}
    assert [(Path(r["source"]).name, r["status"], r.get("reused_id", False)) for r in rows[:-1]] == [
        ("1", "stored", False), ("2", "stored", True), ("3", "duplicate", False), ("photo.jpg", "rejected", False)]


def test_a_maildir_imports_its_folders_and_leaves_index_files_and_unfinished_deliveries(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(eml(1))
    seen = mailbox.MaildirMessage(eml(2))
    seen.set_subdir("cur")
    seen.add_flag("S")
    box.add(seen)
    box.add_folder("Archive").add(eml(3))
    (tmp_path / "Maildir" / "dovecot.index").write_bytes(b"\x00\x01index")
    (tmp_path / "Maildir" / "dovecot-uidlist").write_text("3 V1 N4\n")
    (tmp_path / "Maildir" / "tmp" / "1.unfinished").write_bytes(eml(4)[:40])
    code, rows = run_import(tmp_path, tmp_path / "Maildir")
    assert code == 0
    assert rows[-1] == {"stored": 3, "duplicate": 0, "rejected": 0, "failed": 0}
    assert [r["external_id"] for r in rows[:-1]] == [
        "<import-1@example.net>", "<import-2@example.net>", "<import-3@example.net>"]


def test_what_the_product_writes_is_for_its_own_user_alone(tmp_path: Path) -> None:
    """Data files were world-readable: a shell's umask of 022 left residents' letters readable by every account."""
    import os

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.net", "housing@example.org", "Damp"
    message["Message-ID"] = "<perm@example.net>"
    message.set_content("Photos of the damp attached.")
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + b"damp" * 50, maintype="image", subtype="png", filename="wall.png")
    (tmp_path / "letter.eml").write_bytes(message.as_bytes())
    was = os.umask(0o022)
    try:
        code, rows = run_import(tmp_path, tmp_path / "letter.eml")
    finally:
        os.umask(was)
    assert code == 0 and rows[-1]["stored"] == 1
    written = [tmp_path / "data", *(tmp_path / "data").rglob("*")]
    assert any(p.suffix == ".sqlite3" for p in written)
    assert [(str(p), oct(p.stat().st_mode & 0o777)) for p in written if p.stat().st_mode & 0o077] == []
