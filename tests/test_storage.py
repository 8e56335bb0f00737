"""Storage behaviour on SQLite and PostgreSQL: references, the append-only audit, links, datetimes."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from workflow import db
from workflow.cases import complaints_about, link, open_case, raise_complaint_about_request, set_request_status
from workflow.errors import DomainError, IllegalTransition
from workflow.models import AuditEvent, AuditTamperError, Message, Resident
from workflow.references import allocate, find_references
from workflow.residents import resident_for
from workflow.vocabulary import Kind, LinkRelation, RequestStatus

AT = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)


def test_references_are_sequential_per_kind_and_london_year(session: Session) -> None:
    refs = [open_case(session, kind, AT, "bot").reference
            for kind in (Kind.COMPLAINT, Kind.COMPLAINT, Kind.SERVICE_REQUEST, Kind.ENQUIRY)]
    assert refs == ["CMP-2026-00001", "CMP-2026-00002", "SR-2026-00001", "ENQ-2026-00001"]
    new_year = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)  # still 31 December in London (GMT)
    assert open_case(session, Kind.COMPLAINT, new_year, "bot").reference == "CMP-2026-00003"
    assert open_case(session, Kind.COMPLAINT, new_year + dt.timedelta(hours=1), "bot").reference == "CMP-2027-00001"


def test_concurrent_allocation_never_repeats_a_reference(engine: Engine) -> None:
    sessions = db.session_factory(engine)

    def take(_: int) -> str:
        with sessions.begin() as session:
            return allocate(session, "CMP", 2026)

    with ThreadPoolExecutor(max_workers=8) as pool:
        refs = list(pool.map(take, range(80)))
    assert sorted(refs) == [f"CMP-2026-{n:05d}" for n in range(1, 81)]


def test_two_processes_meeting_a_new_address_at_once_make_one_resident(engine: Engine) -> None:
    """The second writer waits on the first's uncommitted contact point, then uses its resident."""
    first = db.session_factory(engine)()
    mine = resident_for(first, "email", "New.Person@example.net", AT)
    other_engine = db.make_engine(str(engine.url.render_as_string(hide_password=False)))
    statements: list[str] = []
    event.listen(other_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    def other_process() -> int:
        with db.session_factory(other_engine)() as session:
            found = resident_for(session, "email", "new.person@example.net", AT)
            session.commit()
            return found

    with ThreadPoolExecutor(max_workers=1) as pool:
        theirs = pool.submit(other_process)
        time.sleep(1.0)  # the other writer is now waiting on this transaction
        first.commit()
        assert theirs.result(timeout=30) == mine
    first.close()
    other_engine.dispose()
    assert any(s.startswith("DELETE FROM residents") for s in statements), "the race was not exercised"
    with db.session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 1
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "resident_created")) == 1


def test_references_are_found_in_text() -> None:
    assert find_references("Re: your ref cmp-2026-00042 and SR-2025-01234.") == ["CMP-2026-00042", "SR-2025-01234"]
    assert find_references("phone 2026-00042 or XYZ-2026-00001") == []


def test_audit_events_cannot_be_changed_or_deleted(engine: Engine, session: Session) -> None:
    open_case(session, Kind.COMPLAINT, AT, "bot")
    session.commit()
    event = session.scalars(select(AuditEvent)).one()
    event.actor = "someone else"
    with pytest.raises(AuditTamperError):
        session.flush()
    session.rollback()
    session.delete(session.scalars(select(AuditEvent)).one())
    with pytest.raises(AuditTamperError):
        session.flush()
    session.rollback()
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT actor FROM audit_events")).scalars().all() == ["bot"]


def test_events_gathered_in_a_block_are_written_in_order_at_its_end_and_not_at_all_if_it_fails(
        session: Session) -> None:
    """The bot gathers a batch's events into one statement; an advisor reading the trail must still
    see them all, in the order they happened, and none from work that was rolled back."""
    from workflow import audit

    def actions() -> list[str]:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))

    with audit.gathered(session):
        case = open_case(session, Kind.SERVICE_REQUEST, AT, "bot")
        audit.record(session, "offer_choice", "bot", AT, case=case)
        assert actions() == [], "kept until the block ends"
    assert actions() == ["case_opened", "offer_choice"]
    session.commit()
    with pytest.raises(DomainError), audit.gathered(session):
        audit.record(session, "status_changed", "bot", AT, case=case)
        set_request_status(session, case, RequestStatus.OPEN, AT, "bot")  # open to open: refused
    session.rollback()
    audit.record(session, "note_added", "advisor", AT, case=case)  # outside a block: written at once
    assert actions() == ["case_opened", "offer_choice", "note_added"]


def test_a_complaint_about_a_request_leaves_the_request_running(session: Session) -> None:
    request = open_case(session, Kind.SERVICE_REQUEST, AT, "bot", theme="repairs")
    set_request_status(session, request, RequestStatus.IN_PROGRESS, AT, "advisor")
    complaint = raise_complaint_about_request(session, request, AT + dt.timedelta(days=30), "bot")
    session.commit()
    assert request.status == RequestStatus.IN_PROGRESS
    assert complaint.kind == Kind.COMPLAINT and complaint.theme == "repairs"
    assert complaints_about(session, request) == [complaint]
    set_request_status(session, request, RequestStatus.DONE, AT + dt.timedelta(days=40), "advisor")
    assert request.ended_on is not None
    with pytest.raises(IllegalTransition, match="allowed now: open"):
        set_request_status(session, request, RequestStatus.IN_PROGRESS, AT, "advisor")
    set_request_status(session, request, RequestStatus.OPEN, AT + dt.timedelta(days=41), "advisor")  # not done after all
    assert request.status == RequestStatus.OPEN and request.ended_on is None


def test_links_are_checked(session: Session) -> None:
    a, b = (open_case(session, Kind.COMPLAINT, AT, "bot") for _ in range(2))
    enquiry = open_case(session, Kind.ENQUIRY, AT, "bot")
    with pytest.raises(DomainError):
        link(session, a, a, LinkRelation.RELATED_ISSUE, AT, "advisor")
    with pytest.raises(DomainError):
        link(session, a, enquiry, LinkRelation.COMPLAINT_ABOUT_REQUEST, AT, "advisor")
    with pytest.raises(DomainError):
        set_request_status(session, a, RequestStatus.DONE, AT, "advisor")
    link(session, a, b, LinkRelation.RELATED_ISSUE, AT, "advisor")
    session.commit()


def test_message_ids_are_unique_per_channel(session: Session) -> None:
    session.add_all([Message(channel="email", direction="inbound", external_id="<a@x>", received_at=AT),
                     Message(channel="telegram", direction="inbound", external_id="<a@x>", received_at=AT)])
    session.commit()
    session.add(Message(channel="email", direction="inbound", external_id="<a@x>", received_at=AT,
                        body_text="my daughter's asthma is worse since the mould came back"))
    with pytest.raises(IntegrityError) as failure:
        session.commit()
    assert "asthma" not in str(failure.value), "a failed statement's error, which is logged, holds no resident's words"


def test_instants_come_back_aware_in_utc(session: Session) -> None:
    london_summer = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    resident = Resident(display_name="R", created_at=london_summer)
    session.add(resident)
    session.commit()
    session.expire_all()
    stored = session.get(Resident, resident.id)
    assert stored.created_at == dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC)
    assert stored.created_at.tzinfo is not None
    with pytest.raises(Exception, match="naive"):
        session.add(Resident(display_name="N", created_at=dt.datetime(2026, 7, 1)))
        session.commit()


def test_migrations_reach_head_and_are_idempotent(engine: Engine) -> None:
    db.upgrade(engine)  # a second run changes nothing
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    from alembic.script import ScriptDirectory

    newest = sorted(p.name for p in (Path(db.__file__).parent / "migrations" / "versions").glob("0*.py"))[-1]
    assert version == ScriptDirectory.from_config(db.alembic_config(engine)).get_current_head() == newest[:4]


def test_the_migrations_build_exactly_the_tables_the_models_describe(engine: Engine) -> None:
    """A column added to a model without a migration would fail on a deployed database only."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from workflow.models import Base

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_the_worker_picks_from_a_long_queue_through_the_pending_index(engine: Engine) -> None:
    """Without it, each pick sorted every waiting message: the queue slowed as it grew."""
    from bot.conversation import next_pending

    rows = [dict(channel="email", direction="inbound", external_id=f"<q{n}@example.net>", body_text="",
                 received_at=AT + dt.timedelta(seconds=n), handled_at=AT if n % 100 else None) for n in range(3000)]
    with engine.begin() as connection:
        connection.execute(Message.__table__.insert(), rows)
        connection.execute(text("ANALYZE"))
    postgres = engine.dialect.name == "postgresql"
    sql = str(next_pending(postgres).compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        plan = " ".join(str(row) for row in connection.exec_driver_sql(("EXPLAIN " if postgres else
                                                                        "EXPLAIN QUERY PLAN ") + sql))
    with db.session_factory(engine)() as session:
        picked = session.scalar(next_pending(postgres))
    assert "ix_messages_pending" in plan
    assert picked is not None and picked.external_id == "<q0@example.net>"


def test_a_writer_waiting_for_sqlite_gets_the_lock_as_soon_as_it_is_let_go(tmp_path: Path) -> None:
    """SQLite's own busy wait sleeps up to 100 ms between tries, so a writer slept through the moments a busy
    worker let the lock go, and the SMTP server stored next to nothing for seconds (bench/load.py)."""
    engine = db.make_engine(db.sqlite_url(tmp_path))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (n INTEGER)"))
    holder = sqlite3.connect(tmp_path / "triage.sqlite3", isolation_level=None)  # another process's write
    late = []
    for n in range(5):
        holder.execute("BEGIN IMMEDIATE")
        stored: list[float] = []

        def write(n: int = n) -> None:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO notes (n) VALUES (:n)"), {"n": n})
            stored.append(time.monotonic())

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.34)  # SQLite's own wait would now be in a 100 ms sleep, from 328 ms to 428 ms
        let_go = time.monotonic()
        holder.execute("COMMIT")
        writer.join(10)
        late.append(stored[0] - let_go)
    holder.close()
    engine.dispose()
    assert max(late) < 0.03, late


def test_text_postgresql_refuses_is_stored_readable_on_every_engine(session: Session, tmp_path: Path) -> None:
    """A NUL in a mail's text was accepted with 250 and then lost on PostgreSQL: its text could not be written."""
    from intake.message import InboundMessage
    from workflow.inbox import Incoming, record_inbound_batch

    incoming = Incoming(InboundMessage(channel="email", external_id="<nul@example.net>", sender="nul\x00@example.net",
                                       subject="Leak\x00", body_text="The ceiling\x00 is leaking \ud800again",
                                       new_text="x\x00y"), AT)
    ((message_id, stored),) = record_inbound_batch(session, [incoming], tmp_path)
    assert stored
    message = session.get_one(Message, message_id)
    session.refresh(message)
    assert (message.subject, message.body_text, message.new_text) == ("Leak\ufffd", "The ceiling\ufffd is leaking \ufffdagain",
                                                                      "x\ufffdy")
    message.body_text = "written again\x00 by the parser"
    session.commit()
    session.refresh(message)
    assert message.body_text == "written again\ufffd by the parser"


def test_a_message_the_database_refuses_fails_alone_and_the_others_in_its_commit_are_stored(
        database_url: str, tmp_path: Path) -> None:
    """A chat message PostgreSQL could not store took the two ordinary ones committed with it down too (500s)."""
    from bot.context import Context
    from bot.settings import Settings
    from intake.message import InboundMessage

    if database_url.startswith("sqlite"):
        pytest.skip("SQLite stores an over-long id that PostgreSQL refuses: nothing to refuse here")
    context = Context(Settings(_env_file=None, database_url=database_url, data_dir=tmp_path))
    writer = context.writer
    writer.linger = 0.5  # the three share one commit
    messages = [InboundMessage(channel="webchat", external_id=external_id, sender="v-visitor", body_text=text)
                for external_id, text in (("v-1", "Hello"), ("v-" + "9" * 1200, "too long an id"), ("v-3", "Thanks"))]
    futures = [writer.submit(message) for message in messages]
    first, third = futures[0].result(timeout=30), futures[2].result(timeout=30)
    with pytest.raises(DBAPIError):
        futures[1].result(timeout=30)
    assert first[1] and third[1]
    with context.sessions() as session:
        assert sorted(session.scalars(select(Message.body_text))) == ["Hello", "Thanks"]
    context.engine.dispose()


def test_the_senders_date_and_why_a_message_was_automatic_are_kept_and_an_impossible_date_is_dropped(
        session: Session, tmp_path: Path) -> None:
    """Both were parsed and then dropped; a date after year 9999 in UTC would have failed the batch."""
    from email.message import EmailMessage

    from intake.email.parse import parse
    from workflow.inbox import Incoming, record_inbound_batch

    away = EmailMessage()
    away["From"], away["To"], away["Subject"] = "jo@example.net", "housing@example.org", "Out of office"
    away["Message-ID"], away["Date"] = "<away@example.net>", "Tue, 01 Dec 2026 09:30:00 +0100"
    away["Auto-Submitted"] = "auto-replied"
    away.set_content("I am away until Monday.")
    odd = EmailMessage()
    odd["From"], odd["To"], odd["Subject"] = "sam@example.net", "housing@example.org", "Leak"
    odd["Message-ID"], odd["Date"] = "<odd@example.net>", "Fri, 31 Dec 9999 23:00:00 -0200"
    odd.set_content("The kitchen ceiling is leaking.")
    results = record_inbound_batch(session, [Incoming(parse(away.as_bytes()), AT), Incoming(parse(odd.as_bytes()), AT)],
                                   tmp_path)
    first, second = (session.get_one(Message, message_id) for message_id, _ in results)
    assert first.automatic and first.automatic_reason and "auto-submitted" in first.automatic_reason.lower()
    assert first.sent_at == dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC)
    assert not second.automatic and second.automatic_reason is None
    assert second.sent_at is None and second.body_text.startswith("The kitchen ceiling")
