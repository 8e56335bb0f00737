"""Everything held about a resident, for a subject access request (UK GDPR article 15).

A landlord has one month to answer. The export gathers the resident's record (contact points,
disclosed disabilities and vulnerabilities, agreed adjustments, contact restrictions with their
reasons), every case with its stages and letters' substance, and every message to and from
them with attachments listed and the classification the product made of each, since automated
suggestions about a person are part of what is held about them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.models import Case, CaseBlock, Classification, ComplaintLearning, ContactPoint, Message, Resident


def _when(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def find_residents(session: Session, address: str) -> list[Resident]:
    """Residents with this contact point: an email address (any case), a phone number as the text
    message channel writes it (E.164), a Telegram or web chat id."""
    return list(session.scalars(
        select(Resident).join(ContactPoint).where(func.lower(ContactPoint.address) == address.strip().lower())
        .distinct().order_by(Resident.id)))


def _case(case: Case) -> dict[str, Any]:
    return {
        "reference": case.reference, "kind": case.kind, "theme": case.theme, "team": case.team,
        "status": case.status, "channel": case.channel, "opened_at": _when(case.opened_at),
        "received_on": _when(case.received_on), "ended_on": _when(case.ended_on),
        "representative": case.representative, "hazard": case.hazard, "vulnerable": case.vulnerable,
        "hazard_action": case.hazard_action, "adjustments_requested": case.adjustments_requested,
        "adjustments_asked": case.adjustments_asked,
        "choice_offered_at": _when(case.choice_offered_at), "choice_answer": case.choice_answer,
        "refusal_reason": case.refusal_reason, "refusal_explanation": case.refusal_explanation,
        "withdrawal_note": case.withdrawal_note, "purged_at": _when(case.purged_at),
        "stages": [{
            "number": s.number, "requested_on": _when(s.requested_on), "acknowledged_on": _when(s.acknowledged_on),
            "definition": s.definition, "outcomes_sought": s.outcomes_sought, "responsible_for": s.responsible_for,
            "not_responsible_for": s.not_responsible_for, "response_due": _when(s.response_due),
            "responded_on": _when(s.responded_on), "outcome": s.outcome, "decision": s.decision,
            "reasons": s.reasons, "remedies": list(s.remedies), "remedy_detail": s.remedy_detail,
            "extensions": [{"agreed_on": _when(e.agreed_on), "days": e.days, "reason": e.reason,
                            "new_due": _when(e.new_due)} for e in s.extensions],
        } for s in case.stages],
        "outstanding_actions": [{"description": a.description, "due_on": _when(a.due_on), "done_on": _when(a.done_on)}
                                for a in case.actions],
        **_learning(case),
    }


def _learning(case: Case) -> dict[str, Any]:
    """What the handler recorded went wrong, in their words about this resident's complaint, and the block."""
    session = Session.object_session(case)
    assert session is not None
    rows = session.scalars(select(ComplaintLearning).where(ComplaintLearning.case_id == case.id)
                           .order_by(ComplaintLearning.stage_number))
    block = session.get(CaseBlock, case.id)
    return {"learning": [{"stage": r.stage_number, "causes": list(r.causes), "detail": r.detail} for r in rows],
            "block": block.block if block is not None else None}


def export(session: Session, resident: Resident, at: dt.datetime) -> dict[str, Any]:
    messages = list(session.scalars(select(Message).where(Message.resident_id == resident.id)
                                    .order_by(Message.received_at, Message.id)))
    case_ids = {m.case_id for m in messages if m.case_id is not None}
    cases = list(session.scalars(select(Case).where((Case.resident_id == resident.id) | Case.id.in_(case_ids))
                                 .order_by(Case.id)))
    references = {c.id: c.reference for c in cases}
    classified = {c.message_id: c for c in session.scalars(
        select(Classification).where(Classification.message_id.in_([m.id for m in messages])))}
    return {
        "exported_at": _when(at),
        "resident": {
            "id": resident.id, "display_name": resident.display_name, "language": resident.language,
            "created_at": _when(resident.created_at), "purged_at": _when(resident.purged_at),
            "contact_points": [{"channel": p.channel, "address": p.address} for p in resident.contact_points],
            "disclosures": [{"category": d.category, "description": d.description,
                             "recorded_at": _when(d.recorded_at), "review_on": _when(d.review_on)}
                            for d in resident.disclosures],
            "adjustments": [{"kind": a.kind, "detail": a.detail, "description": a.description, "words": a.words,
                             "agreed_at": _when(a.agreed_at),
                             "review_on": _when(a.review_on), "ended_at": _when(a.ended_at)}
                            for a in resident.adjustments],
            "contact_restrictions": [{"restriction": r.restriction, "reason": r.reason, "contact": r.contact,
                                      "starts_on": _when(r.starts_on), "review_on": _when(r.review_on),
                                      "ended_at": _when(r.ended_at)} for r in resident.restrictions],
        },
        "cases": [_case(c) for c in cases],
        "messages": [{
            "case": references.get(m.case_id or -1), "channel": m.channel, "direction": m.direction,
            "received_at": _when(m.received_at), "sender": m.sender, "recipients": list(m.recipients),
            "subject": m.subject, "text": m.body_text,
            "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                             "sha256": a.sha256} for a in m.attachments],
            "classification": None if m.id not in classified else {
                "kind": classified[m.id].kind, "theme": classified[m.id].theme,
                "offered_the_choice_to_complain": classified[m.id].offer_choice, "flags": classified[m.id].flags},
        } for m in messages],
    }
