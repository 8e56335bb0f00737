"""Self-assessment evidence from the rest of the record: the choice to complain (1.3), requests
(1.4, 1.5), refusals (2.1, 2.4, 5.11, 6.12), channels and representatives (3.1, 3.6), definitions
(5.6, 5.7), adjustments and restrictions (5.10, 5.14), the full record (5.12), remedies (5.13, 7.1),
the two stages (5.2, 5.3), what responses record (6.9, 6.19), outstanding actions (6.6, 6.17), stage 2
handlers (6.13) and learning (9.1).

Each function reads workflow.assessment_facts.Facts and returns its Evidence. A case is named by
its reference; an adjustment or restriction, which belongs to a resident and not a case, by the
resident's number, as the scheduler's notices name them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from workflow import improvements, learning
from workflow.assessment_facts import Evidence, Facts, Listed, plural, suggest
from workflow.calendar import london_date, london_midnight
from workflow.models import (
    Adjustment,
    Attachment,
    Case,
    CaseLink,
    CaseNote,
    ComplaintStage,
    ContactRestriction,
    Disclosure,
    Message,
    OutstandingAction,
)
from workflow.record_reviews import Reviewed, reviews_due
from workflow.report_formats import day
from workflow.reports import UNRECORDED
from workflow.vocabulary import ComplaintStatus, Direction, Kind, LinkRelation, Outcome, Remedy

POLICY_TOO = "What the complaints policy says about this is for a person to evidence."


def _counts(values: list[str | None]) -> dict[str, int]:
    return dict(sorted(Counter(v or UNRECORDED for v in values).items(), key=lambda item: (-item[1], item[0])))


def _bounds(facts: Facts) -> tuple[dt.datetime, dt.datetime]:
    return london_midnight(facts.period.start), london_midnight(facts.period.end + dt.timedelta(days=1))


def choice_to_complain(facts: Facts) -> Evidence:
    """1.3: every resident who sounded dissatisfied was given the choice to complain."""
    unhappy = [m for m in facts.inbound if (c := facts.classified.get(m.id)) is not None
               and (c.offer_choice or bool((c.flags or {}).get("explicit_complaint")))]
    ids = list(dict.fromkeys(m.case_id for m in unhappy if m.case_id is not None))
    cases = {c.id: c for c in facts.session.scalars(select(Case).where(Case.id.in_(ids)))}
    first: dict[int, Message] = {}
    for message in unhappy:
        if message.case_id is not None:
            first.setdefault(message.case_id, message)
    offered = [cases[i] for i in ids if cases[i].choice_offered_at is not None]
    answered = [c for c in offered if c.choice_answer]
    stated = [cases[i] for i in ids if cases[i].choice_offered_at is None and cases[i].stage >= 1]
    missed = [cases[i] for i in ids if cases[i].choice_offered_at is None and cases[i].stage == 0
              and cases[i].status != ComplaintStatus.REFUSED]
    listed = [Listed(c.reference, f"sounded dissatisfied on {day(london_date(first[c.id].received_at))} and was not "
                                  "offered the choice to complain") for c in missed]
    chose = Counter(c.choice_answer for c in answered)
    loose = sum(1 for m in unhappy if m.case_id is None)
    lines = [f"{plural(len(unhappy), 'message')} from residents in the year sounded dissatisfied or asked to "
             f"complain (as the product read them), on {plural(len(ids), 'case')}.",
             f"{len(offered)} of those residents were offered the choice to complain and {len(answered)} answered "
             f"({chose.get('complaint', 0)} chose a complaint, {chose.get('request', 0)} to have it dealt with as a "
             f"request); {len(offered) - len(answered)} have not answered yet.",
             f"{len(stated)} made a complaint themselves or were already complaining; "
             f"{len(missed)} were not offered the choice."]
    if loose:
        lines.append(f"{plural(loose, 'message')} not yet on a case (waiting in the console's attention list).")
    figures = {"dissatisfied_messages": len(unhappy), "cases": len(ids), "offered": len(offered),
               "answered": len(answered), "chose_complaint": chose.get("complaint", 0),
               "chose_request": chose.get("request", 0), "complained_without_offer": len(stated),
               "not_offered": len(missed), "not_on_a_case": loose}
    return Evidence(suggest(len(listed), len(offered) + len(stated)), lines, figures, listed)


def service_requests(facts: Facts) -> Evidence:
    """1.4: service requests recorded apart from complaints, and monitored (the annual report counts them)."""
    requests = [c for c in facts.opened if c.kind == Kind.SERVICE_REQUEST]
    by_team = _counts([c.team for c in requests])
    lines = [f"{plural(len(requests), 'service request')} recorded in the year as requests, not complaints, each "
             "routed to its team and counted in the annual report.", POLICY_TOO]
    return Evidence(suggest(0, len(requests)), lines, {"recorded": len(requests), "by_team": by_team})


def requests_become_complaints(facts: Facts) -> Evidence:
    """1.5: dissatisfaction with a service request raised a complaint, and the request went on."""
    start, end = _bounds(facts)
    links = list(facts.session.execute(
        select(CaseLink.from_case_id, CaseLink.to_case_id)
        .where(CaseLink.relation == LinkRelation.COMPLAINT_ABOUT_REQUEST.value, CaseLink.created_at >= start,
               CaseLink.created_at < end)).all())
    requests = {c.id: c for c in facts.session.scalars(select(Case).where(Case.id.in_([r for _, r in links])))}
    statuses = _counts([requests[r].status for _, r in links if r in requests])
    opened = [c for c in facts.opened if c.kind == Kind.SERVICE_REQUEST]
    became = set(facts.session.scalars(select(CaseLink.to_case_id).where(
        CaseLink.relation == LinkRelation.COMPLAINT_ABOUT_REQUEST.value,
        CaseLink.to_case_id.in_([c.id for c in opened]), CaseLink.created_at < end)))
    lines = [f"{plural(len(links), 'complaint')} raised in the year about {plural(len(requests), 'service request')}; "
             "each request stays its own record, linked to the complaint, and goes on being worked: now "
             + ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in statuses.items()) + "." if links else
             "No complaint was raised about a service request in the year.",
             f"Of {plural(len(opened), 'service request')} recorded in the year, {len(became)} became complaints."]
    figures = {"complaints_about_requests": len(links), "requests": len(requests), "request_status_now": statuses,
               "requests_recorded": len(opened), "requests_became_complaints": len(became)}
    return Evidence(suggest(0, len(links)), lines, figures)


def _refusals(facts: Facts) -> list[Case]:
    return list(facts.session.scalars(
        select(Case).where(Case.kind == Kind.COMPLAINT.value, Case.status == ComplaintStatus.REFUSED.value,
                           Case.ended_on >= facts.period.start, Case.ended_on <= facts.period.end)
        .order_by(Case.ended_on, Case.id)))


def refusal_reasons(facts: Facts) -> Evidence:
    """2.1: a complaint not accepted has its reason and evidence on record."""
    refused = _refusals(facts)
    missing = [c for c in refused if not c.refusal_reason or not (c.refusal_explanation or "").strip()]
    listed = [Listed(c.reference, "refused with no reason or evidence recorded") for c in missing]
    lines = [f"{plural(len(refused), 'complaint')} not accepted in the year; {len(refused) - len(missing)} record "
             "the reason under section 2 and the evidence for it.", POLICY_TOO]
    return Evidence(suggest(len(listed), len(refused)), lines,
                    {"refused": len(refused), "by_reason": _counts([c.refusal_reason for c in refused])}, listed)


def refusal_letters(facts: Facts) -> Evidence:
    """2.4: the resident told why, and of the right to take the decision to the Ombudsman."""
    refused = _refusals(facts)
    told = set()
    for case in refused:
        assert case.ended_on is not None
        letters = facts.session.scalars(select(Message.body_text).where(
            Message.case_id == case.id, Message.direction == Direction.OUTBOUND.value,
            Message.received_at >= london_midnight(case.ended_on)))
        if any("ombudsman" in (text or "").lower() for text in letters):
            told.add(case.id)
    listed = [Listed(c.reference, f"refused {day(c.ended_on)} ({(c.refusal_reason or UNRECORDED).replace('_', ' ')}): "
                                  "no letter naming the Ombudsman in the record") for c in refused
              if c.id not in told and c.ended_on is not None]
    by_reason = _counts([c.refusal_reason for c in refused])
    lines = [f"{plural(len(refused), 'complaint')} not accepted in the year ("
             + ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in by_reason.items()) + ")." if refused else
             "No complaint was refused in the year.",
             f"{len(told)} of them have a letter in the record, sent on or after the refusal, giving the reasons and "
             "the right to take the decision to the Ombudsman."]
    return Evidence(suggest(len(listed), len(refused)), lines,
                    {"refused": len(refused), "by_reason": by_reason, "letter_with_ombudsman": len(told)}, listed)


def _escalations_refused(facts: Facts) -> tuple[list[ComplaintStage], list[Case]]:
    escalations = facts.received(2)
    refused = [c for c in _refusals(facts) if c.stage >= 2]
    return escalations, refused


def escalations_refused(facts: Facts) -> Evidence:
    """6.12: a stage 2 request is taken on the resident's word; refusals of escalation should be none."""
    escalations, refused = _escalations_refused(facts)
    listed = [Listed(c.reference, f"escalation refused {day(c.ended_on)} "
                                  f"({(c.refusal_reason or UNRECORDED).replace('_', ' ')})")
              for c in refused if c.ended_on is not None]
    lines = [f"{plural(len(escalations), 'escalation')} to stage 2 requested in the year; the product logs a "
             "request on the resident's word and asks for no reason.",
             f"{len(refused)} escalations refused in the year."]
    return Evidence(suggest(len(listed), len(escalations)), lines,
                    {"escalations": len(escalations), "refused": len(refused)}, listed)


def escalation_refusal_reasons(facts: Facts) -> Evidence:
    """5.11: an escalation refused only with a valid section 2 reason, set out; a person judges the reasons."""
    escalations, refused = _escalations_refused(facts)
    listed = [Listed(c.reference, f"escalation refused: {(c.refusal_reason or UNRECORDED).replace('_', ' ')}")
              for c in refused]
    lines = [f"{plural(len(escalations), 'escalation')} requested in the year, {len(refused)} refused, each with its "
             "section 2 reason and evidence recorded."]
    if refused:
        lines.append("Whether each reason was valid is for a person to judge.")
    return Evidence(None if refused else suggest(0, len(escalations)), lines,
                    {"escalations": len(escalations), "refused": len(refused)}, listed)


def channels(facts: Facts) -> Evidence:
    """3.1: several channels to complain through, and contacts through each."""
    by_case = _counts([c.channel for c in facts.opened])
    by_message = _counts([m.channel for m in facts.inbound])
    used = sorted({c for c in [*by_case, *by_message] if c != UNRECORDED})
    lines = [f"{plural(len(used), 'channel')} in use in the year: {', '.join(used) or 'none'}.",
             "Contacts opened by channel: " + (", ".join(f"{k} {v}" for k, v in by_case.items()) or "none") + ".",
             "Messages from residents by channel: " + (", ".join(f"{k} {v}" for k, v in by_message.items()) or "none")
             + ".", POLICY_TOO]
    return Evidence("Yes" if len(used) > 1 else None, lines,
                    {"channels": used, "contacts_by_channel": by_case, "messages_by_channel": by_message})


def representatives(facts: Facts) -> Evidence:
    """3.6: complaints made by a representative or third party, handled as complaints."""
    stages = facts.received(1)
    represented = [s for s in stages if s.case.representative]
    lines = [f"{plural(len(represented), 'stage 1 complaint')} of {len(stages)} in the year were made by a "
             "representative or third party and logged as complaints, with who they were recorded on the case.",
             POLICY_TOO]
    return Evidence(suggest(0, len(represented)), lines, {"complaints": len(stages), "by_representative": len(represented)})


def _acknowledged(facts: Facts) -> list[ComplaintStage]:
    return [s for s in facts.stages if s.acknowledged_on in facts.period]


def definitions(facts: Facts) -> Evidence:
    """5.6: at each acknowledgement, the landlord's understanding of the complaint and the outcomes sought."""
    stages = _acknowledged(facts)
    missing = [s for s in stages if not (s.definition or "").strip() or not (s.outcomes_sought or "").strip()]
    auto = sum(1 for s in stages if s.auto_acknowledged)
    listed = [Listed(s.case.reference, f"stage {s.number} acknowledged without a definition and outcomes sought")
              for s in missing]
    lines = [f"{plural(len(stages), 'acknowledgement')} in the year; {len(stages) - len(missing)} set out the "
             "complaint definition and the outcomes the resident wants.",
             f"{auto} were sent automatically on the last day with the resident's own words as the definition and a "
             "request to correct it."]
    return Evidence(suggest(len(listed), len(stages)), lines,
                    {"acknowledged": len(stages), "with_definition": len(stages) - len(missing),
                     "automatic": auto}, listed)


def responsibilities(facts: Facts) -> Evidence:
    """5.7: at each acknowledgement, what the landlord is, and is not, responsible for."""
    stages = _acknowledged(facts)
    missing = [s for s in stages if not (s.responsible_for or "").strip()]
    says_not = sum(1 for s in stages if (s.not_responsible_for or "").strip())
    listed = [Listed(s.case.reference, f"stage {s.number} acknowledged without saying what we are responsible for")
              for s in missing]
    lines = [f"{len(stages) - len(missing)} of {plural(len(stages), 'acknowledgement')} in the year say what the "
             f"landlord is responsible for; {says_not} also say what it is not."]
    return Evidence(suggest(len(listed), len(stages)), lines,
                    {"acknowledged": len(stages), "with_responsibilities": len(stages) - len(missing),
                     "with_not_responsible_for": says_not}, listed)


def _review_listing(kind: Reviewed, facts: Facts) -> tuple[list[Listed], dict[str, int]]:
    due = reviews_due(facts.session, kind, facts.period.start, facts.period.end, facts.as_of)
    listed = [Listed(f"resident {r.resident_id}",
                     f"{kind.value} {r.record_id}: review due {day(r.due_on)}, "
                     + (f"reviewed {day(r.reviewed_on)} (late)" if r.reviewed_on else "not reviewed"))
              for r in due if not r.on_time]
    states = Counter(r.state for r in due)
    return listed, {"reviews_due": len(due), "on_time": states.get("on_time", 0), "late": states.get("late", 0),
                    "not_reviewed": states.get("not_reviewed", 0)}


def adjustments(facts: Facts) -> Evidence:
    """5.10: reasonable adjustments and disclosed disabilities recorded, and adjustments kept under review."""
    start, end = _bounds(facts)
    agreed = facts.session.scalar(select(func.count()).select_from(Adjustment)
                                  .where(Adjustment.agreed_at >= start, Adjustment.agreed_at < end)) or 0
    disclosed = facts.session.scalar(select(func.count()).select_from(Disclosure)
                                     .where(Disclosure.recorded_at >= start, Disclosure.recorded_at < end)) or 0
    asked = sum(1 for c in facts.opened if (c.adjustments_requested or "").strip())
    listed, reviews = _review_listing(Reviewed.ADJUSTMENT, facts)
    lines = [f"{plural(agreed, 'reasonable adjustment')} agreed and {plural(disclosed, 'disclosure')} of a disability "
             f"or vulnerability recorded in the year; residents asked for help on {plural(asked, 'case')}.",
             f"{plural(reviews['reviews_due'], 'review')} of adjustments fell due: {reviews['on_time']} done on time, "
             f"{reviews['late']} late, {reviews['not_reviewed']} not done.", POLICY_TOO]
    figures = {"adjustments_agreed": agreed, "disclosures": disclosed, "asked_for_on_cases": asked, **reviews}
    return Evidence(suggest(len(listed), agreed + reviews["on_time"]), lines, figures, listed)


def restrictions(facts: Facts) -> Evidence:
    """5.14: restrictions for unacceptable behaviour recorded with reasons and kept under regular review."""
    recorded = list(facts.session.scalars(select(ContactRestriction).where(
        ContactRestriction.starts_on >= facts.period.start, ContactRestriction.starts_on <= facts.period.end)))
    with_reason = sum(1 for r in recorded if (r.reason or "").strip())
    listed, reviews = _review_listing(Reviewed.RESTRICTION, facts)
    lines = [f"{plural(len(recorded), 'contact restriction')} put in place in the year, {with_reason} with the "
             "reason recorded.",
             f"{plural(reviews['reviews_due'], 'review')} of restrictions fell due: {reviews['on_time']} done on time, "
             f"{reviews['late']} late, {reviews['not_reviewed']} not done.", POLICY_TOO]
    figures = {"recorded": len(recorded), "with_reason": with_reason, **reviews}
    return Evidence(suggest(len(listed) + len(recorded) - with_reason, len(recorded) + reviews["on_time"]),
                    lines, figures, listed)


def full_record(facts: Facts) -> Evidence:
    """5.12: the original complaint and date received, all correspondence, documents, each stage's outcome."""
    stages = facts.received(1)
    ids = [s.case_id for s in stages]
    session = facts.session
    directions = dict(session.execute(select(Message.direction, func.count()).where(Message.case_id.in_(ids))
                                      .group_by(Message.direction)).all())
    with_message = set(session.scalars(select(Message.case_id).where(
        Message.case_id.in_(ids), Message.direction == Direction.INBOUND.value).distinct()))
    attachments = session.scalar(select(func.count()).select_from(Attachment).join(Message)
                                 .where(Message.case_id.in_(ids))) or 0
    notes = session.scalar(select(func.count()).select_from(CaseNote).where(CaseNote.case_id.in_(ids))) or 0
    spoken = [s for s in stages if s.case_id not in with_message and (s.definition or "").strip()]
    missing = [s for s in stages if s.case_id not in with_message and not (s.definition or "").strip()]
    answered = [t for s in stages for t in s.case.stages if t.responded_on is not None
                and t.responded_on <= facts.period.end]
    with_outcome = sum(1 for t in answered if t.outcome)
    listed = [Listed(s.case.reference, "neither the resident's message nor a complaint definition is on the record")
              for s in missing]
    lines = [f"{plural(len(stages), 'complaint')} received in the year, each with its date received; "
             f"{len(with_message)} keep the resident's original message, {len(spoken)} made by phone or in person "
             f"keep the complaint definition, {len(missing)} keep neither.",
             f"{directions.get(Direction.INBOUND.value, 0)} messages in and {directions.get(Direction.OUTBOUND.value, 0)} "
             f"out recorded on them, {plural(attachments, 'document')} attached, {plural(notes, 'note')}; every "
             "change to them is in an audit trail that cannot be changed.",
             f"{with_outcome} of {plural(len(answered), 'stage')} answered record the outcome."]
    figures = {"complaints": len(stages), "with_original_message": len(with_message), "by_phone_or_in_person":
               len(spoken), "without_original": len(missing),
               "messages_in": directions.get(Direction.INBOUND.value, 0),
               "messages_out": directions.get(Direction.OUTBOUND.value, 0), "attachments": attachments,
               "notes": notes, "stages_answered": len(answered),
               "with_outcome": with_outcome}
    return Evidence(suggest(len(listed) + len(answered) - with_outcome, len(stages)), lines, figures, listed)


def _responses(facts: Facts, numbers: tuple[int, ...] = (1, 2)) -> list[ComplaintStage]:
    return [s for s in facts.stages if s.number in numbers and s.responded_on in facts.period]


def remedies_any_stage(facts: Facts) -> Evidence:
    """5.13: remedies offered at stage 1, without the resident having to escalate."""
    first = _responses(facts, (1,))
    remedied = [s for s in first if s.remedies]
    lines = [f"{len(remedied)} of {plural(len(first), 'stage 1 response')} in the year offered a remedy."]
    return Evidence(suggest(0, len(remedied)), lines, {"stage1_responses": len(first), "with_remedy": len(remedied)})


def remedies(facts: Facts) -> Evidence:
    """7.1: where something went wrong, it is acknowledged and put right; remedies by type."""
    answered = _responses(facts)
    upheld = [s for s in answered if s.outcome in (Outcome.UPHELD.value, Outcome.PARTLY_UPHELD.value)]
    bare = [s for s in upheld if not s.remedies]
    counted = Counter(r for s in answered for r in s.remedies)
    by_type = {r.value: counted.get(r.value, 0) for r in Remedy}
    listed = [Listed(s.case.reference, f"stage {s.number} {s.outcome.replace('_', ' ')} with no remedy recorded")
              for s in bare if s.outcome]
    lines = [f"{plural(len(upheld), 'response')} in the year upheld or partly upheld the complaint; "
             f"{len(upheld) - len(bare)} recorded a remedy, {len(bare)} none.",
             "Remedies by type: " + (", ".join(f"{k.replace('_', ' ')} {v}" for k, v in by_type.items() if v)
                                     or "none") + "."]
    return Evidence(suggest(len(listed), len(upheld)), lines,
                    {"responses": len(answered), "upheld_or_partly": len(upheld), "without_remedy": len(bare),
                     "by_type": by_type}, listed)


def outstanding_actions(facts: Facts, number: int) -> Evidence:
    """6.6 / 6.17: the response given when the answer is known; promised actions tracked until done."""
    answered = _responses(facts, (number,))
    ids = [s.case_id for s in answered]
    actions = list(facts.session.scalars(select(OutstandingAction).where(
        OutstandingAction.case_id.in_(ids), OutstandingAction.stage_number == number).order_by(OutstandingAction.id)))
    refs = {s.case_id: s.case.reference for s in answered}
    done = [a for a in actions if a.done_on is not None]
    overdue = [a for a in actions if a.done_on is None and a.due_on is not None and a.due_on < facts.as_of]
    listed = [Listed(refs[a.case_id], f"stage {number} action due {day(a.due_on)} not done") for a in overdue
              if a.due_on is not None]
    lines = [f"{plural(len(actions), 'action')} promised in stage {number} responses in the year: {len(done)} done, "
             f"{len(actions) - len(done)} still open, {len(overdue)} of them past the date promised." if actions else
             f"No stage {number} response in the year promised an action to follow it."]
    return Evidence(suggest(len(listed), len(actions)), lines,
                    {"actions": len(actions), "done": len(done), "overdue": len(overdue)}, listed)


def stage2_handlers(facts: Facts) -> Evidence:
    """6.13: the person considering stage 2 is never the person who considered stage 1."""
    stages = [s for s in facts.received(2) if s.handler_id is not None]
    same = [s for s in stages if (first := s.case.stage_record(1)) is not None and first.handler_id == s.handler_id]
    unassigned = sum(1 for s in facts.received(2) if s.handler_id is None and s.acknowledged_on is not None)
    listed = [Listed(s.case.reference, "stage 2 handled by the person who handled stage 1") for s in same]
    lines = [f"{plural(len(stages), 'stage 2 complaint')} in the year with a handler recorded; {len(same)} handled by "
             "the stage 1 handler. The product refuses to give stage 2 to the person who handled stage 1.",
             f"{unassigned} acknowledged at stage 2 with no handler recorded yet."]
    return Evidence(suggest(len(listed), len(stages)), lines,
                    {"with_handler": len(stages), "same_as_stage1": len(same), "no_handler_yet": unassigned}, listed)


def learning_and_improvements(facts: Facts) -> Evidence:
    """9.1: beyond the single complaint, the learning recorded and the service improvements it led to."""
    summary = learning.summarise(facts.session, facts.period.start, facts.period.end)
    made = improvements.made_and_planned(facts.session, facts.period.start, facts.period.end)
    listed = [Listed(reference, f"stage {stage} upheld with no learning recorded") for reference, stage in summary.missing]
    themes = ", ".join(f"{t.theme.replace('_', ' ')} {t.stages}" for t in summary.by_theme)
    lines = [f"{plural(summary.upheld_stages, 'response')} in the year upheld or partly upheld the complaint; what went "
             f"wrong is recorded on {summary.recorded}" + (f" (by theme: {themes})." if themes else "."),
             f"{plural(len(made.made), 'service improvement')} made in the year"
             + (": " + "; ".join(f"{v.reference} {v.title} (from {', '.join(v.complaints) or 'no complaint'})"
                                 for v in made.made) if made.made else "") + ".",
             f"{len(made.planned)} planned or in progress at the year's end."]
    figures = {"upheld_stages": summary.upheld_stages, "learning_recorded": summary.recorded,
               "improvements_made": [v.reference for v in made.made],
               "improvements_planned": [v.reference for v in made.planned]}
    return Evidence(suggest(len(listed), summary.recorded), lines, figures, listed)


def annual_report(facts: Facts, non_compliance: int) -> Evidence:
    """8.1: the annual report's contents come from the product; publishing it is the landlord's."""
    made = improvements.made_and_planned(facts.session, facts.period.start, facts.period.end)
    refused = len(_refusals(facts))
    lines = ["The annual complaints performance and service improvement report (`triage report`) gives, from the "
             f"record: the figures for b, with the {plural(refused, 'complaint')} refused by type; for c, "
             f"{plural(non_compliance, 'finding')} of non-compliance by the Ombudsman entered for the year; for d, "
             f"{plural(len(made.made), 'service improvement')} made and {len(made.planned)} planned.",
             "Publishing it, and the governing body's response, is for a person to evidence."]
    return Evidence(None, lines, {"refused": refused, "ombudsman_non_compliance": non_compliance,
                                  "improvements_made": len(made.made)})


def two_stages(facts: Facts) -> Evidence:
    """5.2 / 5.3: exactly two stages, no "stage 0" or "informal complaint"; the lifecycle has no other."""
    numbers = Counter(s.number for s in facts.stages if s.requested_on in facts.period)
    other = [s for s in facts.stages if s.requested_on in facts.period and s.number not in (1, 2)]
    listed = [Listed(s.case.reference, f"a stage {s.number} is recorded") for s in other]
    lines = [f"The product's complaint process has exactly two stages: in the year {numbers.get(1, 0)} complaints "
             f"were logged at stage 1 and {numbers.get(2, 0)} escalated to stage 2; "
             f"{plural(len(other), 'record')} of any other stage.", POLICY_TOO]
    return Evidence(suggest(len(listed), numbers.get(1, 0)), lines,
                    {"stage1": numbers.get(1, 0), "stage2": numbers.get(2, 0), "other": len(other)}, listed)


def response_contents(facts: Facts, number: int) -> Evidence:
    """6.9 / 6.19: the response confirms the stage, the definition, the decision, its reasons, any remedy,
    outstanding actions and the next step. The record holds a. to f.; the letter adds g. to every response."""
    answered = _responses(facts, (number,))
    gaps: dict[int, tuple[ComplaintStage, list[str]]] = {}
    for s in answered:
        missing = [what for what, present in (("definition", (s.definition or "").strip()),
                                              ("decision", (s.decision or "").strip()),
                                              ("reasons", (s.reasons or "").strip()),
                                              ("remedy detail", not s.remedies or (s.remedy_detail or "").strip()))
                   if not present]
        if missing:
            gaps[s.id] = (s, missing)
    listed = [Listed(s.case.reference, f"stage {number} response without its {', '.join(missing)}")
              for s, missing in gaps.values()]
    step = "stage 2" if number == 1 else "the Ombudsman"
    lines = [f"{len(answered) - len(gaps)} of {plural(len(answered), f'stage {number} response')} in the year record "
             f"the complaint definition, the decision, the reasons and the detail of any remedy; the response letter "
             f"sets them out with any outstanding actions and how to go to {step}." if answered else
             f"No stage {number} response in the year."]
    return Evidence(suggest(len(listed), len(answered)), lines,
                    {"responses": len(answered), "complete": len(answered) - len(gaps)}, listed)
