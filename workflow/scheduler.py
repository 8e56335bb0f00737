"""The work that falls due by the calendar, done by `triage run` every minute and by `triage tick`.

- The automatic acknowledgement (DESIGN.md step 5): a complaint nobody has acknowledged is
  acknowledged on the last working day it can be (6.2, 6.11), at a configured London hour, with
  the resident's own words as the definition and a request to correct it.
- Reminders to the case's owner (else its stage handler, else the team's supervisors) a
  configured number of working days before each deadline, and overdue alerts to the owner and
  the team's supervisors once a deadline has passed (workflow/ownership.py).
- Agreed update intervals (5.9), review dates of adjustments and restrictions (5.10, 5.14), and
  hazard clocks (Awaab's Law).
- Service improvements (9.1, workflow/improvements.py): their owners are reminded before the due
  date as handlers are of deadlines, and the owner and the team's supervisors are told once it has
  passed with the improvement not done.

Every notice has a key and is recorded in `notices` in the same transaction as its message, so
any number of schedulers on one PostgreSQL queue it once; a pass can be repeated safely.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow import improvements, outbox, ownership, reply_limits
from workflow.calendar import LONDON, WorkingCalendar, london_date
from workflow.correspondence import SPOKEN, residents_words, write_to_resident
from workflow.deadlines import WAITING_FOR_ACKNOWLEDGEMENT, WAITING_FOR_RESPONSE, open_deadlines
from workflow.letters import Letters, long_date, with_article
from workflow.lifecycle import ComplaintLifecycle
from workflow.models import Adjustment, Case, ComplaintStage, ContactRestriction, Improvement, Notice, User

ACTOR = "scheduler"


@dataclass(frozen=True)
class Timing:
    acknowledge_at_hour: int = 15  # London hour on the last day at which an unacknowledged complaint is acknowledged
    remind_working_days: int = 2  # how long before a deadline the handler is reminded


class Scheduler:
    def __init__(self, session: Session, calendar: WorkingCalendar, letters: Letters, timing: Timing) -> None:
        self.session = session
        self.calendar = calendar
        self.letters = letters
        self.timing = timing

    def run(self, now: dt.datetime) -> dict[str, int]:
        """One pass; commits after each piece of work so one failure does not undo the rest."""
        counts = {
            "acknowledged": self.acknowledge_due(now),
            "reminders": self.remind(now),
            "overdue": self.overdue(now),
            "hazards": self.hazards(now),
            "updates": self.updates(now),
            "reviews": self.reviews(now),
            "improvements": self.improvements(now),
            "replies_forgotten": self.forget_replies(now),
        }
        return counts

    def forget_replies(self, now: dt.datetime) -> int:
        """The flood limits' memory of addresses lasts a week, not the retention period."""
        forgotten = reply_limits.forget(self.session, now)
        self.session.commit()
        return forgotten

    # -- the automatic acknowledgement ----------------------------------------------------------

    def acknowledge_due(self, now: dt.datetime) -> int:
        today = london_date(now)
        late_in_the_day = now.astimezone(LONDON).hour >= self.timing.acknowledge_at_hour
        query = (select(ComplaintStage).join(Case)
                 .where(Case.status.in_(WAITING_FOR_ACKNOWLEDGEMENT), ComplaintStage.acknowledged_on.is_(None),
                        ComplaintStage.acknowledgement_due <= today)
                 .order_by(ComplaintStage.id))
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=ComplaintStage)
        done = 0
        for stage in list(self.session.scalars(query)):
            if stage.acknowledgement_due == today and not late_in_the_day:
                continue
            if stage.number != stage.case.stage:
                continue
            self._acknowledge(stage, now)
            self.session.commit()
            done += 1
        return done

    def _acknowledge(self, stage: ComplaintStage, now: dt.datetime) -> None:
        case = stage.case
        words = residents_words(self.session, case)
        outcomes = stage.outcomes_sought or "You have not told us yet. Please reply and tell us what would put things right."
        ComplaintLifecycle(self.session, self.calendar).acknowledge(
            case, now, ACTOR, handler_id=None, definition=words, outcomes_sought=outcomes,
            responsible_for=case.team or "Our housing service")
        stage.auto_acknowledged = True
        assert stage.response_due is not None
        write_to_resident(self.session, self.letters, case, "acknowledgement", now, f"Your complaint {case.reference}",
                          stage=stage.number, definition=words, own_words=words != SPOKEN,
                          outcomes_sought=outcomes,
                          responsible_for=case.team or "Our housing service",
                          not_responsible_for=stage.not_responsible_for, auto=True, response_due=stage.response_due)

    # -- notices to staff -------------------------------------------------------------------------

    def _notice(self, key: str, case: Case | None, recipients: list[str], now: dt.datetime, headline: str,
                details: str, reference: str | None = None) -> bool:
        """Queue one notice to staff, once for its key across every worker; True when queued now."""
        if not recipients:
            return False
        try:
            with self.session.begin_nested():
                self.session.add(Notice(key=key, case_id=case.id if case is not None else None, created_at=now))
                self.session.flush()
        except IntegrityError:
            return False
        text = self.letters.render("staff_notice", headline=headline, details=details,
                                   reference=case.reference if case is not None else reference or "none")
        for address in recipients:
            outbox.enqueue(self.session, channel="email", address=address, text=text, at=now, case=case,
                           subject=headline, to_staff=True)
        self.session.commit()
        return True

    def _supervisors(self) -> list[str]:
        return ownership.supervisors(self.session, None)

    def _handler_or_supervisors(self, stage: ComplaintStage) -> list[str]:
        """The case's owner (or the stage's handler), else the team's supervisors."""
        address = ownership.owner_address(self.session, stage.case, stage.handler_id)
        return [address] if address else ownership.supervisors(self.session, stage.case.team)

    def _owner_and_supervisors(self, case: Case) -> list[str]:
        address = ownership.owner_address(self.session, case)
        return list(dict.fromkeys([*([address] if address else []), *ownership.supervisors(self.session, case.team)]))

    def remind(self, now: dt.datetime) -> int:
        today = london_date(now)
        horizon = self.calendar.add(today, self.timing.remind_working_days)
        sent = 0
        for deadline in open_deadlines(self.session):
            stage, what, due = deadline.stage, deadline.what, deadline.due
            if today <= due <= horizon:
                sent += self._notice(
                    f"remind:{stage.id}:{what}:{due.isoformat()}", stage.case, self._handler_or_supervisors(stage),
                    now, f"Due {long_date(due)}: stage {stage.number} {what} for {stage.case.reference}",
                    f"The stage {stage.number} {what} for complaint {stage.case.reference} is due by {long_date(due)}. "
                    f"If it will be late, agree an extension with the resident and tell them why.")
        return sent

    def overdue(self, now: dt.datetime) -> int:
        today = london_date(now)
        sent = 0
        for deadline in open_deadlines(self.session):
            stage, what, due = deadline.stage, deadline.what, deadline.due
            if due < today:
                sent += self._notice(
                    f"overdue:{stage.id}:{what}:{due.isoformat()}", stage.case, self._owner_and_supervisors(stage.case),
                    now,
                    f"Overdue: stage {stage.number} {what} for {stage.case.reference}",
                    f"The stage {stage.number} {what} for complaint {stage.case.reference} was due by "
                    f"{long_date(due)} and has not been recorded.")
        return sent

    def hazards(self, now: dt.datetime) -> int:
        sent = 0
        for case in self.session.scalars(select(Case).where(Case.hazard_due_at.is_not(None),
                                                            Case.hazard_made_safe_at.is_(None),
                                                            Case.hazard_due_at < now).order_by(Case.id)):
            assert case.hazard_due_at is not None
            sent += self._notice(
                f"hazard:{case.id}:{case.hazard_due_at.isoformat()}", case, self._supervisors(), now,
                f"Hazard not made safe: {case.reference} ({case.hazard})",
                f"{with_article(case.hazard + ' hazard').capitalize()} reported on {case.reference} was due to be "
                f"{'made safe' if case.hazard == 'emergency' else 'inspected'} by "
                f"{case.hazard_due_at.astimezone(LONDON):%H:%M on %d %B %Y} and nothing has been recorded.")
        return sent

    def updates(self, now: dt.datetime) -> int:
        today = london_date(now)
        sent = 0
        for stage in self.session.scalars(select(ComplaintStage).join(Case).where(
                ComplaintStage.next_update_on.is_not(None), ComplaintStage.next_update_on <= today,
                ComplaintStage.responded_on.is_(None), Case.status.in_(WAITING_FOR_RESPONSE + WAITING_FOR_ACKNOWLEDGEMENT))):
            assert stage.next_update_on is not None and stage.update_every_days is not None
            due = stage.next_update_on
            sent += self._notice(
                f"update:{stage.id}:{due.isoformat()}", stage.case, self._handler_or_supervisors(stage), now,
                f"Update due to the resident: {stage.case.reference}",
                f"You agreed to update the resident on complaint {stage.case.reference} every "
                f"{stage.update_every_days} working days (Code 5.9). The next update is due {long_date(due)}.")
            stage.next_update_on = self.calendar.add(due, stage.update_every_days)
            self.session.commit()
        return sent

    def reviews(self, now: dt.datetime) -> int:
        today = london_date(now)
        sent = 0
        for adjustment in self.session.scalars(select(Adjustment).where(
                Adjustment.ended_at.is_(None), Adjustment.review_on <= today)):
            sent += self._notice(f"review-adjustment:{adjustment.id}:{adjustment.review_on.isoformat()}", None,
                                 self._supervisors(), now, "A reasonable adjustment is due for review",
                                 f"The adjustment agreed with resident {adjustment.resident_id} is due for review "
                                 f"on {long_date(adjustment.review_on)} (Code 5.10).")
        for restriction in self.session.scalars(select(ContactRestriction).where(
                ContactRestriction.ended_at.is_(None), ContactRestriction.review_on <= today)):
            sent += self._notice(f"review-restriction:{restriction.id}:{restriction.review_on.isoformat()}", None,
                                 self._supervisors(), now, "A contact restriction is due for review",
                                 f"The contact restriction on resident {restriction.resident_id} is due for review "
                                 f"on {long_date(restriction.review_on)} (Code 5.14, 5.15).")
        return sent

    def _improvement_owner(self, improvement: Improvement) -> list[str]:
        owner = self.session.get(User, improvement.owner_id) if improvement.owner_id is not None else None
        return [owner.email] if owner is not None and owner.active and owner.email else []

    def improvements(self, now: dt.datetime) -> int:
        """Reminders of service improvements coming due (to the owner, else the team's supervisors),
        and alerts once one is overdue (to the owner and the team's supervisors)."""
        today = london_date(now)
        horizon = self.calendar.add(today, self.timing.remind_working_days)
        sent = 0
        for item in improvements.open_improvements(self.session):
            owner = self._improvement_owner(item)
            if today <= item.due_on <= horizon:
                sent += self._notice(
                    f"remind-improvement:{item.id}:{item.due_on.isoformat()}", None,
                    owner or ownership.supervisors(self.session, item.team), now,
                    f"Due {long_date(item.due_on)}: service improvement {item.reference}",
                    f"The service improvement {item.reference} for {item.team} is due by {long_date(item.due_on)} "
                    "(Code 9.1). When it is done, record the evidence; if it will be late, agree a new date.",
                    reference=item.reference)
            elif item.due_on < today:
                recipients = list(dict.fromkeys([*owner, *ownership.supervisors(self.session, item.team)]))
                sent += self._notice(
                    f"overdue-improvement:{item.id}:{item.due_on.isoformat()}", None, recipients, now,
                    f"Overdue: service improvement {item.reference}",
                    f"The service improvement {item.reference} for {item.team} was due by {long_date(item.due_on)} "
                    "and is not recorded as done.", reference=item.reference)
        return sent
