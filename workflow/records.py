"""The Code's records about a resident and a case, recorded by people from the console: what they
disclosed (5.10, 6.1), the adjustments agreed with them (5.10), restrictions on contact (5.14,
5.15), the update interval agreed when a response will be late (5.9, in the lifecycle) and the
outstanding actions a response promised (6.6, 6.17). They existed as tables the scheduler and the
conversation read, created only by tests.

Each is audited by what was done and by whom; the words themselves stay in their own rows, so
`purge` can remove them with the resident.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.calendar import london_date
from workflow.errors import DomainError
from workflow.models import Adjustment, Case, ContactPoint, ContactRestriction, Disclosure, OutstandingAction, User
from workflow.vocabulary import AdjustmentKind, RestrictionMode

CATEGORIES = ("disability", "vulnerability")
LONGEST_REVIEW = dt.timedelta(days=183)  # 5.15: a restriction is reviewed; six months at the longest


def _words(text: str, what: str) -> str:
    words = " ".join(text.split())
    if not words:
        raise DomainError(f"{what} is required")
    return words


def record_disclosure(session: Session, resident_id: int, category: str, description: str, actor: str,
                      at: dt.datetime, review_on: dt.date | None = None) -> Disclosure:
    if category not in CATEGORIES:
        raise DomainError(f"a disclosure is a {' or a '.join(CATEGORIES)}")
    row = Disclosure(resident_id=resident_id, category=category, description=_words(description, "what they told us"),
                     recorded_at=at, review_on=review_on)
    session.add(row)
    session.flush()
    audit.record(session, "disclosure_recorded", actor, at, resident_id=resident_id, disclosure_id=row.id,
                 category=category)
    return row


def agree_adjustment(session: Session, resident_id: int, description: str, review_on: dt.date | None, actor: str,
                     at: dt.datetime, kind: str = AdjustmentKind.OTHER.value, detail: str | None = None,
                     words: str | None = None) -> Adjustment:
    """An adjustment agreed (5.10): a choice letters follow (`kind`, with the language or the person
    in `detail`), what was agreed, and the resident's own words kept beside them."""
    if review_on is None or review_on <= london_date(at):
        raise DomainError("an adjustment needs a review date after today (5.10: kept under review)")
    try:
        chosen = AdjustmentKind(kind or AdjustmentKind.OTHER.value)
    except ValueError:
        raise DomainError(f"there is no adjustment called {kind}") from None
    if chosen == AdjustmentKind.INTERPRETER and not (detail or "").strip():
        raise DomainError("say which language the interpreter is for")
    if chosen == AdjustmentKind.OTHER and not description.strip():
        raise DomainError("say what was agreed")
    row = Adjustment(resident_id=resident_id, kind=chosen.value, detail=(detail or "").strip() or None,
                     description=description.strip() or chosen.value.replace("_", " "), agreed_at=at,
                     review_on=review_on, words=words)
    session.add(row)
    session.flush()
    audit.record(session, "adjustment_agreed", actor, at, resident_id=resident_id, adjustment_id=row.id,
                 review_on=review_on, kind=chosen.value)
    return row


def restrict(session: Session, resident_id: int, *, restriction: str, mode: str, contact: str, reason: str,
             starts_on: dt.date, review_on: dt.date | None, actor: str, at: dt.datetime) -> ContactRestriction:
    """5.14, 5.15: with its reason, a route the resident can still use, and a review within six months."""
    mode = RestrictionMode(mode).value
    if review_on is None or not starts_on < review_on <= starts_on + LONGEST_REVIEW:
        raise DomainError("a restriction is reviewed within six months of its start (5.15)")
    if mode == RestrictionMode.NAMED_CONTACT and not contact.strip():
        raise DomainError("say who the resident contacts instead (the named officer or route)")
    row = ContactRestriction(resident_id=resident_id, restriction=_words(restriction, "what is restricted"),
                             mode=mode, contact=" ".join(contact.split()) or None,
                             reason=_words(reason, "the reason"), starts_on=starts_on, review_on=review_on)
    session.add(row)
    session.flush()
    audit.record(session, "restriction_recorded", actor, at, resident_id=resident_id, restriction_id=row.id,
                 mode=mode, review_on=review_on)
    return row


def who_may_write(restriction: ContactRestriction | None, user: User) -> None:
    """5.14: under a named-contact restriction, staff write to the resident only as the named officer.

    The contact is free text ("Sam Patel, tenancy officer"); it names this user when their console
    name is one of its words, or their email address is in it. Anyone else is refused, told whom
    to ask, and can still add a note for them.
    """
    if restriction is None or restriction.mode != RestrictionMode.NAMED_CONTACT or not restriction.contact:
        return
    words = {word.strip(".,;:()").casefold() for word in restriction.contact.split()}
    if user.username.casefold() in words or (user.email and user.email.casefold() in words):
        return
    raise DomainError(f"a contact restriction is in force (5.14): all contact goes through {restriction.contact}. "
                      "Ask them to write, or add a note for them")


def end_restriction(session: Session, restriction_id: int, resident_id: int, actor: str, at: dt.datetime) -> None:
    row = session.get(ContactRestriction, restriction_id)
    if row is None or row.resident_id != resident_id or row.ended_at is not None:
        raise DomainError("there is no such restriction in force")
    row.ended_at = at
    audit.record(session, "restriction_ended", actor, at, resident_id=resident_id, restriction_id=row.id)


def complete_action(session: Session, case: Case, action_id: int, actor: str, at: dt.datetime) -> OutstandingAction:
    """6.6, 6.17: an action the response promised, done; it leaves the list of outstanding ones."""
    row = session.get(OutstandingAction, action_id)
    if row is None or row.case_id != case.id or row.done_on is not None:
        raise DomainError("there is no such outstanding action on this case")
    row.done_on = london_date(at)
    audit.record(session, "action_completed", actor, at, case=case, action_id=row.id)
    return row


@dataclass(frozen=True)
class ResidentPanel:
    """What a handler needs to see about the person beside every case."""

    contact_points: list[ContactPoint]
    other_cases: list[Case]
    disclosures: list[Disclosure]
    adjustments: list[Adjustment]
    restrictions: list[ContactRestriction]


def panel(session: Session, case: Case, on: dt.date) -> ResidentPanel | None:
    if case.resident_id is None:
        return None
    rid = case.resident_id
    return ResidentPanel(
        contact_points=list(session.scalars(select(ContactPoint).where(ContactPoint.resident_id == rid)
                                            .order_by(ContactPoint.id))),
        other_cases=list(session.scalars(select(Case).where(Case.resident_id == rid, Case.id != case.id)
                                         .order_by(Case.opened_at.desc()).limit(20))),
        disclosures=list(session.scalars(select(Disclosure).where(Disclosure.resident_id == rid)
                                         .order_by(Disclosure.id))),
        adjustments=list(session.scalars(select(Adjustment).where(Adjustment.resident_id == rid,
                                                                  Adjustment.ended_at.is_(None))
                                         .order_by(Adjustment.id))),
        restrictions=list(session.scalars(select(ContactRestriction).where(
            ContactRestriction.resident_id == rid, ContactRestriction.ended_at.is_(None),
            ContactRestriction.starts_on <= on).order_by(ContactRestriction.id))),
    )
