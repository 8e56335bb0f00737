"""What staff do to a case from its page, and the letter each action sends.

Each action is one lifecycle call (which checks the Code's rules and refuses anything out of
turn) and, where the resident must be told, one letter from the templates through the outbox,
in the same transaction. Letters say exactly what the Code asks: the acknowledgement 5.6 and
6.2, the response 6.9 a-g or 6.19 a-g, the extension 6.5 and 6.16, the refusal 2.4. Every case,
whatever its kind, can be replied to (in the channel the resident last wrote from, threaded to
their message) and noted privately; service requests, enquiries, compliments and feedback are
started, finished (the resident told in plain words unless the handler says not to) and reopened.
On a complaint the handler also records what went wrong, the block it came from and the service
improvements it prompted (Code 9.1), and reviews agreed adjustments and restrictions (5.10, 5.14).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import audit, blocks, improvements, learning, outbox, ownership, record_reviews, records
from workflow.calendar import WorkingCalendar, london_date
from workflow.cases import REQUEST_EVENTS, add_note, request_events, set_request_status
from workflow.corrections import Changed
from workflow.correspondence import CHOICE_OPTIONS, own_words, residents_words, write_to_resident
from workflow.errors import DomainError
from workflow.hazards import record_made_safe
from workflow.letters import Letters, with_article
from workflow.lifecycle import RESPOND_WITHIN, TRANSITIONS, ActionPlan, ComplaintLifecycle, Event
from workflow.models import AuditEvent, Case, User
from workflow.residents import active_restriction
from workflow.vocabulary import Awaiting, Kind, Remedy, row_id

ACTIONS = ("acknowledge", "extend", "respond", "escalate", "refuse", "withdraw", "close")
EVENTS = {"acknowledge": (Event.ACKNOWLEDGE_STAGE1, Event.ACKNOWLEDGE_STAGE2),
          "extend": (Event.EXTEND_STAGE1, Event.EXTEND_STAGE2),
          "respond": (Event.RESPOND_STAGE1, Event.RESPOND_STAGE2),
          "escalate": (Event.REQUEST_ESCALATION,), "refuse": (Event.REFUSE,), "withdraw": (Event.WITHDRAW,),
          "close": (Event.CLOSE,)}


EVERY_CASE = ("reply", "note", "take", "assign", "team")
WRITES = ("acknowledge", "extend", "respond", "escalate", "refuse", "withdraw")  # the complaint actions that send a letter
RESIDENT_RECORDS = ("disclose", "adjust", "restrict", "end_restriction", "review_adjustment",
                    "review_restriction")  # need a known resident
# a complaint's, checked by the lifecycle, records, learning, blocks and improvements
CASE_RECORDS = ("agree_updates", "complete_action", "learn", "block", "new_improvement", "link_improvement")
PASSED_ON = (Kind.COMPLIMENT, Kind.FEEDBACK)  # finished by passing them to the team they are about
WHAT = {Kind.SERVICE_REQUEST: "request", Kind.ENQUIRY: "enquiry", Kind.COMPLIMENT: "compliment",
        Kind.FEEDBACK: "feedback", Kind.COMPLAINT: "complaint"}


def allowed(case: Case) -> list[str]:
    """The actions allowed on this case now, for the forms the page shows."""
    if case.purged_at is not None:
        return []
    records = RESIDENT_RECORDS if case.resident_id is not None else ()
    if case.kind != Kind.COMPLAINT:
        return [*request_events(case), *EVERY_CASE, *records]
    return [*(name for name in ACTIONS if any(case.status in TRANSITIONS[e][0] for e in EVENTS[name])), *EVERY_CASE,
            *records, *CASE_RECORDS]


def form_date(text: str, what: str) -> dt.date | None:
    """A date typed into a console form, None when left blank; this century only (a year 9999
    overflowed the working-day calendar)."""
    if not text.strip():
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(f"{what} is a date written like 2026-12-31") from None
    if not 2000 <= day.year <= 2099:
        raise DomainError(f"{what} is too far off")
    return day


def _records(session: Session, calendar: WorkingCalendar, case: Case, user: User, action: str,
             form: Mapping[str, str], at: dt.datetime) -> str:
    """The Code's records, made by a person (workflow/records.py); each audited."""
    field = lambda name: (form.get(name) or "").strip()  # noqa: E731 - a local shorthand
    if action not in allowed(case):
        raise DomainError(f"{case.reference} has no resident or is not a complaint: {action.replace('_', ' ')} "
                          "cannot be recorded here")
    if action in RESIDENT_RECORDS:
        assert case.resident_id is not None
    if action == "disclose":
        records.record_disclosure(session, case.resident_id, field("category"), field("description"), user.username,
                                  at, review_on=form_date(field("review_on"), "the review date"))
        return "Recorded what they told us."
    if action == "adjust":
        records.agree_adjustment(session, case.resident_id, field("description"),
                                 form_date(field("review_on"), "the review date"), user.username, at,
                                 kind=field("kind"), detail=field("detail"), words=case.adjustments_requested)
        return "Recorded the adjustment; it comes up for review on its date."
    if action == "restrict":
        records.restrict(session, case.resident_id, restriction=field("restriction"), mode=field("mode"),
                         contact=field("contact"), reason=field("reason"),
                         starts_on=form_date(field("starts_on"), "the start date") or london_date(at),
                         review_on=form_date(field("review_on"), "the review date"), actor=user.username, at=at)
        return "Recorded the restriction. The bot follows it from now on."
    if action == "end_restriction":
        records.end_restriction(session, row_id(field("restriction_id")) or 0, case.resident_id, user.username, at)
        return "The restriction has ended."
    if action in ("review_adjustment", "review_restriction"):
        return _review(session, case, action, form, user, at)
    if action in ("learn", "block", "new_improvement", "link_improvement"):
        return _learning(session, case, action, form, user, at)
    if action == "agree_updates":
        try:
            days = int(field("every"))
        except ValueError:
            raise DomainError("say every how many working days") from None
        stage = ComplaintLifecycle(session, calendar).agree_updates(case, at, user.username, every_working_days=days)
        return f"Updates agreed every {days} working days; the first is due by {stage.next_update_on:%d %B %Y}."
    records.complete_action(session, case, row_id(field("action_id")) or 0, user.username, at)
    return "Marked done."


def _review(session: Session, case: Case, action: str, form: Mapping[str, str], user: User,
            at: dt.datetime) -> str:
    """5.10 and 5.14: a review kept with its next date, or ending the adjustment or restriction.
    Ending is its own choice: an empty date box must not end an adjustment a resident relies on."""
    field = lambda name: (form.get(name) or "").strip()  # noqa: E731 - a local shorthand
    assert case.resident_id is not None
    ending = field("decision") == "end"
    next_review = None if ending else form_date(field("next_review_on"), "the next review date")
    if not ending and next_review is None:
        raise DomainError("give the next review date, or choose to end it")
    if action == "review_adjustment":
        record_reviews.review_adjustment(session, row_id(field("adjustment_id")) or 0, case.resident_id,
                                         next_review_on=next_review, actor=user.username, at=at)
        what = "adjustment"
    else:
        record_reviews.review_restriction(session, row_id(field("restriction_id")) or 0, case.resident_id,
                                          next_review_on=next_review, actor=user.username, at=at)
        what = "restriction"
    if next_review is None:
        return f"Reviewed: the {what} has ended."
    return f"Reviewed: the {what} stays, and comes up for review again on {next_review:%d %B %Y}."


def _learning(session: Session, case: Case, action: str, form: Mapping[str, str], user: User,
              at: dt.datetime) -> str:
    """What went wrong, the block it came from, and the improvements it prompted (Code 9.1, 9.2)."""
    field = lambda name: (form.get(name) or "").strip()  # noqa: E731 - a local shorthand
    if action == "learn":
        stage = row_id(field("stage")) or 0
        causes = [c for c in field("causes").split(",") if c]
        learning.record_learning(session, case, stage, causes, field("detail"), user.username, at)
        return f"Recorded what went wrong at stage {stage}. The annual report counts it by theme."
    if action == "block":
        name = blocks.record_block(session, case, field("block"), user.username, at).block
        return f"Recorded the block: {name}. Supervisors see repeat complaints from one block under Patterns."
    if action == "new_improvement":
        due = form_date(field("due_on"), "the due date")
        if due is None:
            raise DomainError("say by when the improvement is due")
        if due < london_date(at):
            raise DomainError("the due date is today or later")
        owner = row_id(field("owner")) if field("owner") else None
        if field("owner") and owner is None:
            raise DomainError("there is no such user")
        item = improvements.create(session, title=field("title"), team=field("team") or case.team or "",
                                   owner_id=owner, due_on=due, actor=user.username, at=at, complaints=[case])
        return f"Recorded the service improvement {item.reference}, prompted by this complaint."
    found = improvements.by_reference(session, field("improvement"))
    if found is None:
        raise DomainError("choose an improvement")
    if not improvements.link(session, found, case, user.username, at):
        return f"{case.reference} was already linked to {found.reference}."
    return f"Linked to the service improvement {found.reference}."


def tell_about_change(session: Session, calendar: WorkingCalendar, letters: Letters, case: Case, changed: Changed,
                      at: dt.datetime) -> str:
    """The letter a correction of kind owes the resident (corrections.Changed), sent; what to tell the advisor."""
    if changed.offered:
        case.awaiting = Awaiting.CHOICE.value  # their next words are read as the answer, as when the bot offers
        write_to_resident(session, letters, case, "choice", at, f"Your message {case.reference}", automatic=False,
                          options=CHOICE_OPTIONS, hazard=case.hazard, asked_how=False)
        return "Corrected to a complaint: the resident has been offered the choice (Code 1.3)."
    if changed.logged:
        stage = case.stage_record(1)
        assert stage is not None
        case.awaiting = Awaiting.OUTCOME.value
        write_to_resident(session, letters, case, "complaint_logged", at, f"Your complaint {case.reference}",
                          automatic=False, acknowledgement_due=stage.acknowledgement_due,
                          response_due=calendar.add(stage.acknowledgement_due, RESPOND_WITHIN[1]),
                          request_reference=None, hazard=case.hazard)
        return "Corrected to a complaint and logged at stage 1: they had asked to complain."
    if changed.ended_complaint_told:
        write_to_resident(session, letters, case, "not_a_complaint", at, f"Your message {case.reference}",
                          automatic=False, what=WHAT[Kind(case.kind)])
        return "Corrected: the complaint has ended and the resident has been told."
    return ""


def _may_write(session: Session, case: Case, user: User, at: dt.datetime) -> None:
    """5.14: under a named-contact restriction only the named officer sends a person's letters."""
    if case.resident_id is not None:
        records.who_may_write(active_restriction(session, case.resident_id, london_date(at)), user)


def _tell(session: Session, letters: Letters, case: Case, user: User, letter: str, at: dt.datetime, subject: str,
          **values: object) -> None:
    """A letter a person sends."""
    _may_write(session, case, user, at)
    if write_to_resident(session, letters, case, letter, at, subject, automatic=False, **values) is None:
        raise DomainError("the resident has not written from an address we can answer here: phone or write to them,"
                          " and note what was said")


def _everyday(session: Session, letters: Letters, case: Case, user: User, action: str, form: Mapping[str, str],
              at: dt.datetime, teams: Collection[str]) -> str:
    """Replies, notes and the request lifecycle: what every helpdesk does with a case."""
    field = lambda name: (form.get(name) or "").strip()  # noqa: E731 - a local shorthand
    what = WHAT[Kind(case.kind)]
    subject = f"Your {what} {case.reference}"
    if action not in allowed(case):
        raise DomainError(f"{case.reference} cannot be {action.replace('_', ' ')} now; allowed: "
                          f"{', '.join(allowed(case)) or 'nothing'}")
    if action == "reply":
        if not field("text"):
            raise DomainError("write the reply first")
        _tell(session, letters, case, user, "handler_reply", at, subject, text=field("text"))
        audit.record(session, "replied", user.username, at, case=case)
        return "Sent to the resident."
    if action == "note":
        add_note(session, case, user.username, field("text"), at)
        return "Noted. Notes are never sent."
    if action == "take":
        ownership.assign(session, case, user, user.username, at)
        return "It is yours."
    if action == "assign":
        chosen = field("owner")
        known = row_id(chosen)
        owner = session.get(User, known) if known is not None else None
        if chosen and owner is None:
            raise DomainError("there is no such user")
        ownership.assign(session, case, owner, user.username, at)
        return f"Given to {owner.username}." if owner is not None else "Nobody owns it now."
    if action == "team":
        ownership.change_team(session, case, field("team"), user.username, at, teams)
        return f"Moved to {case.team}."
    set_request_status(session, case, REQUEST_EVENTS[action], at, user.username)
    if action == "start":
        return "Started."
    if action == "reopen":
        return "Opened again."
    passed = _pass_to_team(session, letters, case, user, at) if case.kind in PASSED_ON else ""
    if form.get("tell", "yes") == "no":
        return f"Done.{passed} The resident was not told, as you asked."
    _tell(session, letters, case, user, "request_done", at, subject, what=what, summary=field("summary"))
    return f"Done.{passed} The resident has been told."


def _pass_to_team(session: Session, letters: Letters, case: Case, user: User, at: dt.datetime) -> str:
    """A compliment or feedback is finished by passing the resident's words to the team it is about:
    its supervisors (every supervisor's, when the team has none), by email like other notices."""
    team = case.team or "our housing service"
    if session.scalar(select(AuditEvent.id).where(AuditEvent.case_id == case.id,
                                                  AuditEvent.action == "passed_to_team").limit(1)) is not None:
        return f" It had already been passed to {team}."  # finished again after reopening: not sent twice
    own = ownership.team_supervisors(session, case.team)
    recipients = own or ownership.supervisors(session, None)
    headline = f"{with_article(WHAT[Kind(case.kind)]).capitalize()} for {team}: {case.reference}"
    text = letters.render("staff_notice", headline=headline, reference=case.reference,
                          details=f"The resident wrote: {residents_words(session, case)}")
    for address in recipients:
        outbox.enqueue(session, channel="email", address=address, text=text, at=at, case=case, subject=headline,
                       to_staff=True)
    audit.record(session, "passed_to_team", user.username, at, case=case, team=team, recipients=len(recipients))
    if not recipients:
        return f" Nobody in {team} has an email address here: tell them yourself."
    people = f"{len(recipients)} {'person' if len(recipients) == 1 else 'people'}"
    if not own:
        return f" {team} has no supervisor with an address here, so it went to every supervisor ({people})."
    return f" Passed to {team} ({people})."


def perform(session: Session, calendar: WorkingCalendar, letters: Letters, case: Case, user: User, action: str,
            form: Mapping[str, str], at: dt.datetime, *, teams: Collection[str]) -> str:
    """Do one action; returns what to tell the advisor. DomainError when the Code does not allow it.
    teams are the configured teams, the only ones a case may be moved to."""
    lifecycle = ComplaintLifecycle(session, calendar)
    field = lambda name: (form.get(name) or "").strip()  # noqa: E731 - a local shorthand
    subject = f"Your complaint {case.reference}"
    if action == "made_safe":
        record_made_safe(session, case, at, user.username, field("action"))
        return "Recorded what was done about the hazard."
    if action in EVERY_CASE or action in REQUEST_EVENTS:
        return _everyday(session, letters, case, user, action, form, at, teams)
    if action in RESIDENT_RECORDS or action in CASE_RECORDS:
        return _records(session, calendar, case, user, action, form, at)
    if action not in ACTIONS:
        raise DomainError(f"unknown action {action}")
    if action in WRITES:  # the Code's letters too
        _may_write(session, case, user, at)
    if action == "acknowledge":
        stage = lifecycle.acknowledge(case, at, user.username, handler_id=user.id, definition=field("definition"),
                                      outcomes_sought=field("outcomes_sought"),
                                      responsible_for=field("responsible_for"),
                                      not_responsible_for=field("not_responsible_for"))
        if case.owner_id is None:  # whoever acknowledges it handles it, until someone reassigns it
            ownership.assign(session, case, user, user.username, at)
        assert stage.response_due is not None and stage.definition is not None
        write_to_resident(session, letters, case, "acknowledgement", at, subject, automatic=False, stage=stage.number,
                          definition=stage.definition, own_words=own_words(session, case, stage.definition),
                          outcomes_sought=stage.outcomes_sought, responsible_for=stage.responsible_for,
                          not_responsible_for=stage.not_responsible_for, auto=False, response_due=stage.response_due)
        return f"Acknowledged. The response is due by {stage.response_due:%d %B %Y}."
    if action == "extend":
        try:
            days = int(field("days"))
        except ValueError:
            raise DomainError("say how many working days the extension is") from None
        extension = lifecycle.extend(case, at, user.username, days=days, reason=field("reason"),
                                     ombudsman_details=letters.letterhead.ombudsman_details(),
                                     good_reason=field("good_reason") or None)
        write_to_resident(session, letters, case, "extension", at, subject, automatic=False, reason=extension.reason,
                          new_due=extension.new_due)
        return f"Extended to {extension.new_due:%d %B %Y}; the resident has been told why."
    if action == "respond":
        remedies = [r for r in form.get("remedies", "").split(",") if r]
        plans = [ActionPlan(line.strip()) for line in field("actions").splitlines() if line.strip()]
        stage = lifecycle.respond(case, at, user.username, outcome=field("outcome") or "", decision=field("decision"),
                                  reasons=field("reasons"), remedies=remedies, remedy_detail=field("remedy_detail"),
                                  actions=plans, handler_id=user.id)
        write_to_resident(session, letters, case, "response", at, subject, automatic=False, stage=stage.number,
                          definition=stage.definition or "", outcome=stage.outcome,
                          decision=stage.decision, reasons=stage.reasons,
                          remedies=[Remedy(r).value for r in stage.remedies], remedy_detail=stage.remedy_detail or "",
                          actions=[p.description for p in plans])
        return "The response has been sent."
    if action == "escalate":
        stage = lifecycle.request_escalation(case, at, user.username)
        write_to_resident(session, letters, case, "escalation_logged", at, subject, automatic=False,
                          acknowledgement_due=stage.acknowledgement_due)
        return "Escalated to stage 2."
    if action == "refuse":
        lifecycle.refuse(case, at, user.username, reason=field("reason"), explanation=field("explanation"))
        write_to_resident(session, letters, case, "refusal", at, subject, automatic=False,
                          explanation=field("explanation"))
        return "Refused; the resident has been told why and about the Ombudsman."
    if action == "withdraw":
        lifecycle.withdraw(case, at, user.username, note=field("note"))
        if write_to_resident(session, letters, case, "withdrawn", at, subject, automatic=False) is None:
            return "Recorded as withdrawn. The resident has no address we can write to here: tell them by phone or post."
        return "Recorded as withdrawn; the resident has been told it is closed and how to complain again."
    lifecycle.close(case, at, user.username)
    return "Closed."
