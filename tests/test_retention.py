"""`triage purge` and `triage export-resident`, run as a council's IT team would run them."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from email.message import EmailMessage

from sqlalchemy import func, select

from bot.inbound import store_message
from intake.email.parse import parse
from tests.desk import Desk, reference_in
from tests.servers import TRIAGE, triage_env
from workflow import cases
from workflow.blocks import record_block
from workflow.inbox import attachment_bytes
from workflow.learning import record_learning
from workflow.lifecycle import ComplaintLifecycle
from workflow.models import Attachment, AuditEvent, CaseBlock, ComplaintLearning, ContactPoint, Disclosure, Message, Resident
from workflow.reports import Period, build_report
from workflow.retention import PURGED

PHOTO = b"\x89PNG\r\n\x1a\n" + b"mould on the bedroom wall" * 40


def _env(desk: Desk) -> dict[str, str]:
    settings = desk.context.settings
    return triage_env(TRIAGE_DATABASE_URL=str(settings.database_url), TRIAGE_DATA_DIR=str(settings.data_dir))


def _run(desk: Desk, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRIAGE, *args], env=_env(desk), capture_output=True, text=True, timeout=120,
                          cwd=desk.context.settings.data_dir)


def _complaint_with_a_photo(desk: Desk) -> str:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Ann Jones <ann.jones@example.net>", "housing@example.org", "Mould"
    mail["Message-ID"] = "<ann-photo@example.net>"
    mail.set_content("I want to make a formal complaint: the mould in my son's bedroom is back and he has asthma.")
    mail.add_attachment(PHOTO, maintype="image", subtype="png", filename="bedroom.png")
    store_message(desk.context, parse(mail.as_bytes()))
    (logged, *_) = [m for m in desk.replies() if "complaint" in m.get_body(("plain",)).get_content().lower()]
    reference = reference_in(logged)
    with desk.context.sessions() as session:
        case = cases.by_reference(session, reference)
        assert case is not None
        life = ComplaintLifecycle(session, desk.context.calendar)
        life.acknowledge(case, desk.clock + dt.timedelta(days=1), "advisor", handler_id=None,
                         definition="Mould has returned in Ann Jones's son's bedroom; he has asthma",
                         outcomes_sought="Treat the mould for good", responsible_for="The damp and its cause")
        life.respond(case, desk.clock + dt.timedelta(days=8), "advisor", outcome="upheld",
                     decision="Upheld", reasons="The first treatment did not deal with the cause",
                     remedies=["apology"], remedy_detail="An apology to Ms Jones")
        record_learning(session, case, 1, ["cause_not_treated"], "Ms Jones had to ring three times", "advisor",
                        desk.clock + dt.timedelta(days=8))
        record_block(session, case, "Flat 2, Elm Court", "advisor", desk.clock + dt.timedelta(days=8))
        life.close(case, desk.clock + dt.timedelta(days=9), "advisor")
        resident = session.get_one(Resident, case.resident_id)
        resident.display_name = "Ann Jones"
        session.add(Disclosure(resident_id=resident.id, category="vulnerability", description="Son has asthma"))
        cases.add_note(session, case, "advisor", "Ms Jones asked us to ring after 2pm.", desk.clock)
        session.commit()
    return reference


def test_purge_removes_a_closed_case_s_personal_data_keeps_its_figures_and_leaves_recent_ones(desk: Desk) -> None:
    reference = _complaint_with_a_photo(desk)
    attachments = desk.context.settings.data_dir / "attachments"
    assert not list(attachments.rglob("*")), "the photo is read from her letter, not stored a second time"
    with desk.context.sessions() as session:
        photo = session.scalars(select(Attachment)).one()
        assert attachment_bytes(photo, attachments).startswith(b"\x89PNG")
    exported = json.loads(_run(desk, "export-resident", "Ann.Jones@example.net").stdout)
    assert exported["resident"]["display_name"] == "Ann Jones"
    assert exported["resident"]["disclosures"][0]["description"] == "Son has asthma"
    assert any("mould in my son's bedroom" in m["text"] for m in exported["messages"])
    assert any(m["direction"] == "outbound" for m in exported["messages"]), "our letters to her are hers too"
    assert exported["cases"][0]["reference"] == reference and exported["cases"][0]["stages"][0]["outcome"] == "upheld"
    assert exported["messages"][0]["attachments"][0]["filename"] == "bedroom.png"
    assert exported["messages"][0]["classification"]["kind"] == "complaint"
    assert exported["cases"][0]["learning"] == [{"stage": 1, "causes": ["cause_not_treated"],
                                                 "detail": "Ms Jones had to ring three times"}]
    assert exported["cases"][0]["block"] == "Elm Court"

    desk.clock = dt.datetime(2033, 5, 2, 10, 0, tzinfo=dt.UTC)  # six and a half years on, someone else writes
    desk.write("The street light outside 4 Elm Road is out.", sender="bob@example.net")
    desk.replies()
    period = Period(dt.date(2026, 4, 1), dt.date(2027, 3, 31))
    with desk.context.sessions() as session:
        before = build_report(session, period, desk.context.calendar, homes_owned=1000, landlord="x")
        audit_rows = session.scalar(select(func.count()).select_from(AuditEvent))

    dry = _run(desk, "purge", "--dry-run", "--now", "2033-06-01T09:00:00+00:00")
    assert dry.returncode == 0, dry.stderr
    preview = json.loads(dry.stdout)
    assert {k: v for k, v in preview.items() if k != "messages"} == {
        "ended_before": "2027-06-01", "dry_run": True, "cases": 1, "attachments": 1, "residents": 1, "files_removed": 0,
        "outgoing_removed": 0}
    outgoing = desk.context.settings.data_dir / "outgoing"
    hers = [p.name for p in outgoing.glob("*.eml") if reference in p.read_text()]
    assert hers, "our letters to her were kept as .eml copies (no outbound SMTP server in this test)"
    assert json.loads(_run(desk, "export-resident", "ann.jones@example.net").stdout)["resident"]["display_name"]

    done = _run(desk, "purge", "--now", "2033-06-01T09:00:00+00:00")
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert (counts["cases"], counts["attachments"], counts["residents"], counts["files_removed"]) == (1, 1, 1, 0)
    assert counts["messages"] == preview["messages"] >= 2  # her complaint and our letter logging it
    assert not [p for p in attachments.rglob("*") if p.is_file()]
    assert counts["outgoing_removed"] == len(hers)
    left = [p.read_text() for p in outgoing.glob("*.eml")]
    assert left and not [text for text in left if reference in text], "her letters' copies went; Bob's stays"

    with desk.context.sessions() as session:
        case = cases.by_reference(session, reference)
        assert case is not None and case.purged_at is not None
        assert (case.kind, case.status, case.stages[0].outcome, case.stages[0].remedies) == (
            "complaint", "closed", "upheld", ["apology"])
        assert "Ann" not in (case.stages[0].definition or "") and "Ms Jones" not in (case.stages[0].remedy_detail or "")
        assert [note.text for note in cases.notes_of(session, case)] == [PURGED], "staff notes name her too"
        learned = session.scalars(select(ComplaintLearning)).one()
        assert (learned.causes, learned.detail) == (["cause_not_treated"], PURGED), "the lesson's figures stay"
        assert session.scalar(select(func.count()).select_from(CaseBlock)) == 0, "where she lives goes"
        texts = session.execute(select(Message.body_text, Message.raw, Message.sender, Message.subject)
                                .where(Message.case_id == case.id)).all()
        assert texts and all(row == ("", None, None, None) for row in texts)
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0
        ann = session.get_one(Resident, case.resident_id)
        assert ann.display_name is None and ann.purged_at is not None
        assert session.scalar(select(func.count()).select_from(Disclosure)) == 0
        assert session.scalars(select(ContactPoint.address)).all() == ["bob@example.net"]
        bob = session.scalar(select(Message).where(Message.sender == "bob@example.net"))
        assert bob is not None and "street light" in bob.body_text, "a recent message is untouched"
        after = build_report(session, period, desk.context.calendar, homes_owned=1000, landlord="x")
        assert after == before, "the governing body's figures survive the purge"
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == audit_rows + 1  # one "purged" event
    gone = _run(desk, "export-resident", "ann.jones@example.net")
    assert gone.returncode == 1 and "no resident" in gone.stderr
    again = json.loads(_run(desk, "purge", "--now", "2033-06-01T09:00:00+00:00").stdout)
    assert (again["cases"], again["residents"], again["attachments"]) == (0, 0, 0)
