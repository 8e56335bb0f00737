"""Removing personal data after the retention period, keeping the figures reports need.

Residents' messages are personal data (UK GDPR, storage limitation): a landlord keeps them as
long as its retention schedule says, commonly six years after a case ends, then removes them.
The governing body's figures must survive that: a purged case keeps its kind, theme, team,
channel, dates, stages, outcomes, remedies and extensions' dates, so `triage report` gives the
same numbers before and after. Everything that identifies or describes a person goes: message
text and raw bytes, addresses, attachments, names, contact details, disclosures, adjustments,
restrictions, and the free text staff wrote about the case. Rows that the append-only audit
trail points at (messages, residents) are emptied rather than deleted, so the audit stays
whole; the audit itself holds references and actions, not what anyone wrote.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.calendar import london_midnight
from workflow.cases import notes_of
from workflow.models import (
    Adjustment,
    Attachment,
    Case,
    CaseBlock,
    Classification,
    ComplaintLearning,
    ContactPoint,
    ContactRestriction,
    Disclosure,
    Message,
    OmbudsmanFinding,
    OutboxItem,
    Resident,
)
from workflow.vocabulary import ComplaintStatus, Direction

PURGED = "(removed after the retention period)"
ACTOR = "retention"
ANSWERED = {ComplaintStatus.STAGE1_RESPONDED.value, ComplaintStatus.STAGE2_RESPONDED.value}


def cutoff(today: dt.date, years: int) -> dt.date:
    """The day `years` years before today (29 February becomes 28 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def ended_on(case: Case) -> dt.date | None:
    """When the case stopped needing anyone: its end, or an answered complaint's last answer."""
    if case.ended_on is not None:
        return case.ended_on
    if case.status in ANSWERED:
        answered = [s.responded_on for s in case.stages if s.responded_on is not None]
        return max(answered) if answered else None
    return None


@dataclass
class PurgeResult:
    cases: int = 0
    messages: int = 0
    attachments: int = 0
    residents: int = 0
    files: list[str] = field(default_factory=list)  # attachment files no row uses any more; removed after commit
    sent: list[str] = field(default_factory=list)  # outbox keys of letters sent: their folder copies go after commit

    def counts(self) -> dict[str, int]:
        return {"cases": self.cases, "messages": self.messages, "attachments": self.attachments,
                "residents": self.residents}


def _scrub_message(session: Session, message: Message, result: PurgeResult) -> None:
    for attachment in list(message.attachments):
        if attachment.path:  # a part of the raw letter goes with it
            result.files.append(attachment.path)
        session.delete(attachment)
        result.attachments += 1
    if message.direction == Direction.OUTBOUND.value and message.external_id:
        result.sent.append(message.external_id)
    message.sender, message.recipients, message.subject = None, [], None
    message.body_text, message.new_text, message.raw = "", "", None
    message.external_id, message.in_reply_to, message.references = None, None, []
    message.defects, message.options = [], []
    for item in session.scalars(select(OutboxItem).where(OutboxItem.message_id == message.id)):
        item.address, item.last_error = "", None
    for classification in session.scalars(select(Classification).where(Classification.message_id == message.id)):
        classification.flags = {}  # the cue words are the resident's words; kind, theme and scores stay
    result.messages += 1


def _scrub_case(case: Case) -> None:
    case.representative = None
    case.refusal_explanation = PURGED if case.refusal_explanation else None
    case.withdrawal_note = PURGED if case.withdrawal_note else None
    case.hazard_action = PURGED if case.hazard_action else None
    case.adjustments_requested = None
    case.adjustments_asked = None  # the choices hold a language or a person's name
    for stage in case.stages:
        for name in ("definition", "outcomes_sought", "responsible_for", "not_responsible_for", "decision",
                     "reasons", "remedy_detail"):
            if getattr(stage, name):
                setattr(stage, name, PURGED)
        for extension in stage.extensions:
            extension.reason, extension.ombudsman_details = PURGED, PURGED
            extension.good_reason = PURGED if extension.good_reason else None
    for action in case.actions:
        action.description = PURGED
    session = Session.object_session(case)
    assert session is not None
    for note in notes_of(session, case):
        note.text = PURGED
    for learned in session.scalars(select(ComplaintLearning).where(ComplaintLearning.case_id == case.id)):
        learned.detail = PURGED if learned.detail else None  # the handler's words; the causes stay for the counts
    session.execute(delete(CaseBlock).where(CaseBlock.case_id == case.id))  # where they live
    for finding in session.scalars(select(OmbudsmanFinding).where(OmbudsmanFinding.case_id == case.id)):
        finding.summary = PURGED  # the Ombudsman's words about their case; the finding and provisions stay
        finding.orders = PURGED if finding.orders else None


def purge(session: Session, before: dt.date, at: dt.datetime) -> PurgeResult:
    """Remove personal data from cases that ended before `before`, from messages received before it
    on no case, and from residents with nothing left after it. The caller commits (or, for a dry
    run, rolls back) and then deletes `result.files`."""
    result = PurgeResult()
    boundary = london_midnight(before)
    candidates = session.scalars(select(Case).where(Case.purged_at.is_(None),
                                                    or_(Case.ended_on < before, Case.status.in_(ANSWERED))))
    for case in candidates:
        end = ended_on(case)
        if end is None or end >= before:
            continue
        for message in session.scalars(select(Message).where(Message.case_id == case.id)):
            _scrub_message(session, message, result)
        _scrub_case(case)
        case.purged_at = at
        audit.record(session, "purged", ACTOR, at, case=case, ended_on=end)
        result.cases += 1
    stray = select(Message).where(Message.case_id.is_(None), Message.received_at < boundary,
                                  or_(Message.body_text != "", Message.raw.is_not(None), Message.sender.is_not(None)))
    for message in session.scalars(stray):
        _scrub_message(session, message, result)
    session.flush()
    for resident in session.scalars(select(Resident).where(Resident.purged_at.is_(None),
                                                          Resident.created_at < boundary)):
        open_cases = session.scalar(select(func.count()).select_from(Case).where(
            Case.resident_id == resident.id, Case.purged_at.is_(None)))
        recent = session.scalar(select(func.count()).select_from(Message).where(
            Message.resident_id == resident.id, Message.received_at >= boundary))
        if open_cases or recent:
            continue
        for model in (ContactPoint, Disclosure, Adjustment, ContactRestriction):
            session.execute(delete(model).where(model.resident_id == resident.id))
        resident.display_name, resident.language, resident.purged_at = None, None, at
        result.residents += 1
    session.flush()
    still_used = set(session.scalars(select(Attachment.path).where(Attachment.path.in_(result.files))))
    result.files = sorted(set(result.files) - still_used)
    return result


def remove_files(attachments_dir: Path, files: list[str]) -> int:
    removed = 0
    for relative in files:
        target = (attachments_dir / relative).resolve()
        if attachments_dir.resolve() in target.parents and target.exists():
            target.unlink()
            removed += 1
    return removed
