"""The stored record (Code 5.12): residents, messages, cases, stages, reviews and the audit trail.

Instants are stored as UTC and come back timezone-aware on every database; dates that the
Code counts from (received, acknowledged, responded, due) are stored as London dates so a
deadline never shifts with the server's zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def storable(value: str) -> str:
    """Text every engine keeps: PostgreSQL refuses NUL in text and lone surrogates are not UTF-8.

    A mail with a NUL in it was stored raw, then failed as its text was written, and no person
    ever saw it. Such characters become U+FFFD, the mark for a character that could not be read."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
    return value


class StorableText(TypeDecorator[str]):
    """Text columns, made storable on every engine before they are written (see storable)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return storable(value) if isinstance(value, str) else value


class StorableString(StorableText):
    impl = String
    cache_ok = True


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        dt.date: Date(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
        list[Any]: JSON(),
        bytes: LargeBinary(),
        str: StorableString(),
    }


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(StorableString(80), unique=True)
    password_hash: Mapped[str] = mapped_column(StorableString(255))
    role: Mapped[str] = mapped_column(StorableString(20))
    email: Mapped[str | None] = mapped_column(StorableString(320))  # where reminders and alerts go
    team: Mapped[str | None] = mapped_column(StorableString(80))  # for "my team" and the team's supervisors
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str | None] = mapped_column(StorableString(200))
    language: Mapped[str | None] = mapped_column(StorableString(20))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[dt.datetime | None]  # personal details removed after the retention period

    contact_points: Mapped[list[ContactPoint]] = relationship(back_populates="resident")
    disclosures: Mapped[list[Disclosure]] = relationship(back_populates="resident")
    adjustments: Mapped[list[Adjustment]] = relationship(back_populates="resident")
    restrictions: Mapped[list[ContactRestriction]] = relationship(back_populates="resident")


class ContactPoint(Base):
    """An address on one channel (an email address, a Telegram chat id, a web chat visitor)."""

    __tablename__ = "contact_points"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    channel: Mapped[str] = mapped_column(StorableString(20))
    address: Mapped[str] = mapped_column(StorableString(320))

    resident: Mapped[Resident] = relationship(back_populates="contact_points")


class Disclosure(Base):
    """A disability or vulnerability the resident told us about (Code 5.10, 6.1)."""

    __tablename__ = "disclosures"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    category: Mapped[str] = mapped_column(StorableString(20))  # disability | vulnerability
    description: Mapped[str] = mapped_column(StorableText)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    review_on: Mapped[dt.date | None]

    resident: Mapped[Resident] = relationship(back_populates="disclosures")


class Adjustment(Base):
    """A reasonable adjustment agreed with the resident, kept under review (Code 5.10)."""

    __tablename__ = "adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)  # read for every letter
    description: Mapped[str] = mapped_column(StorableText)
    kind: Mapped[str] = mapped_column(StorableString(20), default="other")  # AdjustmentKind: what letters follow
    detail: Mapped[str | None] = mapped_column(StorableText)  # the language, or who the contact or supporter is
    words: Mapped[str | None] = mapped_column(StorableText)  # what the resident asked, as they asked it
    agreed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    review_on: Mapped[dt.date]
    ended_at: Mapped[dt.datetime | None]

    resident: Mapped[Resident] = relationship(back_populates="adjustments")


class ContactRestriction(Base):
    """A restriction for unacceptable behaviour: recorded with reasons and reviewed (Code 5.14, 5.15)."""

    __tablename__ = "contact_restrictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    restriction: Mapped[str] = mapped_column(StorableText)
    mode: Mapped[str] = mapped_column(StorableString(30), default="named_contact")  # RestrictionMode
    contact: Mapped[str | None] = mapped_column(StorableText)  # the named officer or route the resident was given
    reason: Mapped[str] = mapped_column(StorableText)
    starts_on: Mapped[dt.date]
    review_on: Mapped[dt.date]
    ended_at: Mapped[dt.datetime | None]

    resident: Mapped[Resident] = relationship(back_populates="restrictions")


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(StorableString(20), unique=True)
    kind: Mapped[str] = mapped_column(StorableString(20))
    theme: Mapped[str | None] = mapped_column(StorableString(40))
    team: Mapped[str | None] = mapped_column(StorableString(80))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # workflow/ownership.py
    status: Mapped[str] = mapped_column(StorableString(30), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    channel: Mapped[str | None] = mapped_column(StorableString(20))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    received_on: Mapped[dt.date | None]  # when the complaint was made, the stage 1 clock's start
    representative: Mapped[str | None] = mapped_column(StorableText)  # who wrote on the resident's behalf (1.3, 3.6)
    language: Mapped[str | None] = mapped_column(StorableString(20))
    hazard: Mapped[str] = mapped_column(StorableString(20), default="none")
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False)  # a message on it raised the flag (6.1)
    hazard_due_at: Mapped[dt.datetime | None]  # Awaab's Law: made safe (24 h) or inspected (10 working days) by
    hazard_made_safe_at: Mapped[dt.datetime | None]
    hazard_action: Mapped[str | None] = mapped_column(StorableText)  # what was done, recorded by an advisor
    choice_offered_at: Mapped[dt.datetime | None]
    choice_answer: Mapped[str | None] = mapped_column(StorableString(20))  # complaint | request
    choice_answered_at: Mapped[dt.datetime | None]
    refusal_reason: Mapped[str | None] = mapped_column(StorableString(40))
    refusal_explanation: Mapped[str | None] = mapped_column(StorableText)
    withdrawal_note: Mapped[str | None] = mapped_column(StorableText)
    ended_on: Mapped[dt.date | None]
    awaiting: Mapped[str | None] = mapped_column(StorableString(20))  # the question the bot asked and waits on (Awaiting)
    adjustments_requested: Mapped[str | None] = mapped_column(StorableText)  # in the resident's words (5.10)
    adjustments_asked: Mapped[list[Any] | None]  # the same, read as choices: [{"kind": ..., "detail": ...}]
    purged_at: Mapped[dt.datetime | None]  # personal data removed; the figures reports need are kept

    resident: Mapped[Resident | None] = relationship()
    stages: Mapped[list[ComplaintStage]] = relationship(
        back_populates="case", order_by="ComplaintStage.number", cascade="all, delete-orphan"
    )
    actions: Mapped[list[OutstandingAction]] = relationship(
        back_populates="case", order_by="OutstandingAction.id", cascade="all, delete-orphan"
    )

    @property
    def stage(self) -> int:
        """0 before a complaint is logged, then the highest stage reached (Code 5.2: exactly two)."""
        return max((s.number for s in self.stages), default=0)

    def stage_record(self, number: int) -> ComplaintStage | None:
        return next((s for s in self.stages if s.number == number), None)


class ComplaintStage(Base):
    """One stage of a complaint with its clock, definition (5.6, 5.7) and response (6.9, 6.19)."""

    __tablename__ = "complaint_stages"
    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    number: Mapped[int] = mapped_column(Integer)
    requested_on: Mapped[dt.date]
    acknowledgement_due: Mapped[dt.date]
    acknowledged_on: Mapped[dt.date | None]
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    definition: Mapped[str | None] = mapped_column(StorableText)
    outcomes_sought: Mapped[str | None] = mapped_column(StorableText)
    responsible_for: Mapped[str | None] = mapped_column(StorableText)
    not_responsible_for: Mapped[str | None] = mapped_column(StorableText)
    response_due: Mapped[dt.date | None]
    responded_on: Mapped[dt.date | None]
    outcome: Mapped[str | None] = mapped_column(StorableString(20))
    decision: Mapped[str | None] = mapped_column(StorableText)
    reasons: Mapped[str | None] = mapped_column(StorableText)
    remedies: Mapped[list[str]] = mapped_column(default=list)
    remedy_detail: Mapped[str | None] = mapped_column(StorableText)
    auto_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)  # by the scheduler on the last day
    update_every_days: Mapped[int | None] = mapped_column(Integer)  # agreed update interval, working days (5.9)
    next_update_on: Mapped[dt.date | None]

    case: Mapped[Case] = relationship(back_populates="stages")
    extensions: Mapped[list[Extension]] = relationship(
        back_populates="stage", order_by="Extension.id", cascade="all, delete-orphan"
    )

    @property
    def extension_days(self) -> int:
        return sum(e.days for e in self.extensions)


class Extension(Base):
    """An agreed extension of a stage's response deadline (Code 6.4, 6.5, 6.15, 6.16)."""

    __tablename__ = "extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("complaint_stages.id"))
    agreed_on: Mapped[dt.date]
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(StorableText)
    good_reason: Mapped[str | None] = mapped_column(StorableText)  # needed beyond the Code's bound
    ombudsman_details: Mapped[str] = mapped_column(StorableText)  # what the resident was told
    previous_due: Mapped[dt.date]
    new_due: Mapped[dt.date]

    stage: Mapped[ComplaintStage] = relationship(back_populates="extensions")


class CaseNote(Base):
    """A private note on a case by a member of staff: part of the record (5.12), never sent."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[dt.datetime]
    author: Mapped[str] = mapped_column(StorableString(120))
    text: Mapped[str] = mapped_column(StorableText)


class SavedReply(Base):
    """Words handlers send again and again, kept by an admin; plain text, never a template."""

    __tablename__ = "saved_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(StorableString(80), unique=True)
    text: Mapped[str] = mapped_column(StorableText)
    updated_by: Mapped[str] = mapped_column(StorableString(80))
    updated_at: Mapped[dt.datetime]


class OutstandingAction(Base):
    """Something promised in a response and tracked until done (Code 6.6, 6.17)."""

    __tablename__ = "outstanding_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    stage_number: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(StorableText)
    due_on: Mapped[dt.date | None]
    done_on: Mapped[dt.date | None]

    case: Mapped[Case] = relationship(back_populates="actions")


class CaseLink(Base):
    """A complaint about a service request (1.5) or a related issue added to a complaint (6.8)."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("from_case_id", "to_case_id", "relation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    to_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    relation: Mapped[str] = mapped_column(StorableString(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReferenceCounter(Base):
    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(StorableString(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class Message(Base):
    """One message in or out, on any channel, with the raw bytes for email (Code 5.12)."""

    __tablename__ = "messages"
    __table_args__ = (
        # One message per channel, id and content: a mailer that reuses a Message-ID for another letter
        # does not lose it as a duplicate (an empty digest: stored before digests, or not mail).
        UniqueConstraint("channel", "external_id", "content_digest", name="uq_messages_identity"),
        # The worker's queue: the oldest unhandled message, found without reading the whole backlog.
        Index("ix_messages_pending", "received_at", "id", sqlite_where=text("handled_at IS NULL"),
              postgresql_where=text("handled_at IS NULL")),
        # The console's "needs attention" page and its count on every queue page.
        Index("ix_messages_failed", "received_at", "id", sqlite_where=text("failure IS NOT NULL"),
              postgresql_where=text("failure IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(StorableString(20))
    direction: Mapped[str] = mapped_column(StorableString(10))
    external_id: Mapped[str | None] = mapped_column(StorableString(998))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    sender: Mapped[str | None] = mapped_column(StorableString(320))
    recipients: Mapped[list[str]] = mapped_column(default=list)
    subject: Mapped[str | None] = mapped_column(StorableText)
    body_text: Mapped[str] = mapped_column(StorableText, default="")
    # Loaded only when read: a worker's batch of messages, or a page listing them, does not carry
    # every 25 MB letter's bytes along (bot/inbound.py reads the head of one when that is all it needs).
    raw: Mapped[bytes | None] = mapped_column(deferred=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    in_reply_to: Mapped[str | None] = mapped_column(StorableString(998))
    references: Mapped[list[str]] = mapped_column(default=list)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)  # auto-reply or bounce (RFC 3834)
    automatic_reason: Mapped[str | None] = mapped_column(StorableString(200))  # what showed it was automatic
    sent_at: Mapped[dt.datetime | None]  # what the sender's clock said (an email's Date): shown, never a deadline's start
    defects: Mapped[list[str]] = mapped_column(default=list)
    new_text: Mapped[str] = mapped_column(StorableText, default="")  # without quoted history or signature
    options: Mapped[list[str]] = mapped_column(default=list)  # answers offered as buttons on chat channels
    quiet: Mapped[bool] = mapped_column(Boolean, default=False)  # imported from an archive: never answered
    handled_at: Mapped[dt.datetime | None]  # when the conversation dealt with it (see ix_messages_pending)
    parsed: Mapped[bool] = mapped_column(Boolean, default=True)  # False: raw stored at once, read before handling
    content_digest: Mapped[str] = mapped_column(StorableString(64), default="", server_default="")
    failure: Mapped[str | None] = mapped_column(StorableString(500))  # why the bot could not handle it

    attachments: Mapped[list[Attachment]] = relationship(back_populates="message", cascade="all, delete-orphan")


class Attachment(Base):
    """Metadata of a stored file. An email's attachment is read from the raw letter it came in
    (`part`: its place in a walk of the MIME tree), so a 25 MB letter is not stored twice; a chat
    or Telegram file, which has no raw letter, lives under the data directory, named by its hash."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    filename: Mapped[str] = mapped_column(StorableString(255))
    content_type: Mapped[str] = mapped_column(StorableString(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(StorableString(64))
    path: Mapped[str] = mapped_column(StorableString(500))  # "" for a part of the raw letter
    part: Mapped[int | None]  # index in email's walk() of the message's raw bytes; None: a file at path

    message: Mapped[Message] = relationship(back_populates="attachments")


class AutomaticReply(Base):
    """An automatic reply the bot sent, by mailbox: the memory behind the flood and loop limits
    (workflow/reply_limits.py). Kept for days, not years: forgotten by the scheduler after a week."""

    __tablename__ = "automatic_replies"
    __table_args__ = (Index("ix_automatic_replies_mailbox", "mailbox", "at"),
                      Index("ix_automatic_replies_domain", "domain", "at"),
                      Index("ix_automatic_replies_case", "case_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(StorableString(20))
    mailbox: Mapped[str] = mapped_column(StorableString(320))  # plus-tags and case folded: victim+1@ is victim@
    domain: Mapped[str | None] = mapped_column(StorableString(255))  # email only
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    letter: Mapped[str] = mapped_column(StorableString(40))


class Classification(Base):
    """What the model suggested for a message, kept to compare with what an advisor confirmed."""

    __tablename__ = "classifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    model_version: Mapped[str] = mapped_column(StorableString(80))
    kind: Mapped[str] = mapped_column(StorableString(20))
    kind_scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    theme: Mapped[str] = mapped_column(StorableString(40))
    theme_scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    offer_choice: Mapped[bool] = mapped_column(Boolean)
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Review(Base):
    """An advisor's confirmation or correction of a suggestion: the supervisor's training signal."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    classification_id: Mapped[int] = mapped_column(ForeignKey("classifications.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    suggested_kind: Mapped[str] = mapped_column(StorableString(20))
    suggested_theme: Mapped[str] = mapped_column(StorableString(40))
    confirmed_kind: Mapped[str] = mapped_column(StorableString(20))
    confirmed_theme: Mapped[str] = mapped_column(StorableString(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class AuditEvent(Base):
    """Append-only: every change to a case or resident, who made it and when (Code 5.12).

    The database refuses UPDATE and DELETE on this table (triggers in the migration), and the
    ORM refuses them before they reach it.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(StorableString(120))
    action: Mapped[str] = mapped_column(StorableString(60))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditTamperError(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditTamperError("audit events are append-only")


class MailboxCursor(Base):
    """How far an IMAP mailbox has been read: its UIDVALIDITY and the last UID stored."""

    __tablename__ = "mailbox_cursors"

    mailbox: Mapped[str] = mapped_column(StorableString(500), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxItem(Base):
    """Delivery state of one outgoing message; the message itself is the correspondence record (5.12).

    A worker claims an item by setting claimed_until (a lease), so an item whose worker died is
    claimed again once the lease runs out; the message's external_id is its idempotency key.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    channel: Mapped[str] = mapped_column(StorableString(20))
    address: Mapped[str] = mapped_column(StorableString(320))
    status: Mapped[str] = mapped_column(StorableString(20), default="pending", index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    claimed_by: Mapped[str | None] = mapped_column(StorableString(120))
    claimed_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(StorableText)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]

    message: Mapped[Message] = relationship()


class Notice(Base):
    """A scheduled message that has been queued, by key, so it is queued once by any number of workers."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(StorableString(200), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ConsoleSession(Base):
    """A signed-in console user. Only a hash of the cookie's token is stored; the CSRF token goes in every form."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(StorableString(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(StorableString(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]  # the idle time after its last use, never past 10 hours after sign-in (auth.py)
    flash: Mapped[str | None] = mapped_column(StorableText)  # what the last action did, shown once on the next page


class SignInFailure(Base):
    """A wrong password given at the console, counted against a name and against a client address.

    Kept in the database so every web process sees the same count; rows older than the throttle's
    window are deleted as new ones come. `subject` is a hash of the case-folded name or the address,
    so its width is fixed whatever was typed (the audit trail keeps what was tried).
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_subject_at", "subject", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(StorableString(64))
    at: Mapped[dt.datetime] = mapped_column(index=True)


# -- Learning from complaints, service improvements, the Ombudsman's findings, the self-assessment --
# (workflow/learning.py, improvements.py, findings.py, record_reviews.py, blocks.py, self_assessment.py)


class ComplaintLearning(Base):
    """What went wrong on a stage upheld or partly upheld (Code 9.1): choices by theme, and the handler's words.

    One per stage: a stage 2 that upholds what stage 1 did not has its own learning. The theme and
    team are kept as they were when it was recorded, so "learning by theme" does not move when a
    case is later given another theme."""

    __tablename__ = "complaint_learning"
    __table_args__ = (UniqueConstraint("case_id", "stage_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    stage_number: Mapped[int] = mapped_column(Integer)
    theme: Mapped[str | None] = mapped_column(StorableString(40))
    team: Mapped[str | None] = mapped_column(StorableString(80))
    causes: Mapped[list[str]] = mapped_column(default=list)  # workflow/learning.py CAUSES
    detail: Mapped[str | None] = mapped_column(StorableText)  # the handler's own words
    recorded_by: Mapped[str] = mapped_column(StorableString(120))
    recorded_at: Mapped[dt.datetime]

    case: Mapped[Case] = relationship()


class Improvement(Base):
    """A service improvement: what, which team, who owns it, by when, how far it has got and, when
    done, the evidence (Code 9.1, 8.1 d). Several complaints can prompt one improvement."""

    __tablename__ = "improvements"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(StorableString(20), unique=True)  # IMP-2026-00001
    title: Mapped[str] = mapped_column(StorableText)
    team: Mapped[str] = mapped_column(StorableString(80))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    due_on: Mapped[dt.date]
    status: Mapped[str] = mapped_column(StorableString(20), index=True)  # ImprovementStatus
    evidence: Mapped[str | None] = mapped_column(StorableText)
    done_on: Mapped[dt.date | None]
    created_by: Mapped[str] = mapped_column(StorableString(120))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    links: Mapped[list[ImprovementComplaint]] = relationship(
        back_populates="improvement", order_by="ImprovementComplaint.id", cascade="all, delete-orphan")


class ImprovementComplaint(Base):
    """A complaint that prompted an improvement."""

    __tablename__ = "improvement_complaints"
    __table_args__ = (UniqueConstraint("improvement_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    improvement_id: Mapped[int] = mapped_column(ForeignKey("improvements.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    linked_by: Mapped[str] = mapped_column(StorableString(120))
    linked_at: Mapped[dt.datetime]

    improvement: Mapped[Improvement] = relationship(back_populates="links")
    case: Mapped[Case] = relationship()


class OmbudsmanFinding(Base):
    """A determination or finding of the Ombudsman, entered by a supervisor (Code 8.1 c, 9.7 c)."""

    __tablename__ = "ombudsman_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ombudsman_reference: Mapped[str] = mapped_column(StorableString(40))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    decided_on: Mapped[dt.date] = mapped_column(index=True)
    finding: Mapped[str] = mapped_column(StorableString(40))  # workflow/findings.py Finding
    provisions: Mapped[list[str]] = mapped_column(default=list)  # the Code provisions found not complied with
    summary: Mapped[str] = mapped_column(StorableText)
    orders: Mapped[str | None] = mapped_column(StorableText)
    recorded_by: Mapped[str] = mapped_column(StorableString(120))
    recorded_at: Mapped[dt.datetime]


class AssessmentEntry(Base):
    """A person's own answer, evidence and commentary for one provision in one year's self-assessment."""

    __tablename__ = "self_assessment_entries"
    __table_args__ = (UniqueConstraint("year", "provision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)  # the financial year starting 1 April of this year
    provision: Mapped[str] = mapped_column(StorableString(10))
    comply: Mapped[str | None] = mapped_column(StorableString(3))  # Yes | No; None: take the suggestion
    evidence: Mapped[str | None] = mapped_column(StorableText)
    commentary: Mapped[str | None] = mapped_column(StorableText)
    updated_by: Mapped[str] = mapped_column(StorableString(120))
    updated_at: Mapped[dt.datetime]


class RecordReview(Base):
    """A review of an agreed adjustment (5.10) or a contact restriction (5.14): the review date it
    answered, the day it was done, and the next one (None: the review ended it)."""

    __tablename__ = "record_reviews"
    __table_args__ = (Index("ix_record_reviews_record", "record", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record: Mapped[str] = mapped_column(StorableString(20))  # adjustment | restriction
    record_id: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[dt.date]
    reviewed_on: Mapped[dt.date]
    next_review_on: Mapped[dt.date | None]
    reviewed_by: Mapped[str] = mapped_column(StorableString(120))
    at: Mapped[dt.datetime]


class CaseBlock(Base):
    """The block or street a case is about (never the flat number), to find repeat complaints from one place."""

    __tablename__ = "case_blocks"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    block: Mapped[str] = mapped_column(StorableString(200), index=True)
    recorded_by: Mapped[str] = mapped_column(StorableString(120))
    recorded_at: Mapped[dt.datetime]


class CaseViewer(Base):
    """Who has a case's page open in the console (workflow/presence.py): one row per person and case,
    its time renewed while the page stays open, so a second advisor sees who else is working it."""

    __tablename__ = "case_viewers"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(index=True)


class SavedView(Base):
    """A queue an advisor keeps coming back to (filters, order and view), saved under their own name."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(StorableString(60))
    query: Mapped[str] = mapped_column(StorableText)  # the queue's query string, known keys only
    created_at: Mapped[dt.datetime]
