"""Self-assessment evidence for the Code's clocks: acknowledgements (6.2, 6.11), responses (6.3,
6.14), extensions (6.4, 6.5, 6.15, 6.16) and agreed updates when a response is late (5.9).

Each function reads workflow.assessment_facts.Facts and returns its Evidence; the rules for late
and missed deadlines are in that module, once.
"""

from __future__ import annotations

from workflow.assessment_facts import Clock, Evidence, Facts, Listed, plural, suggest
from workflow.lifecycle import EXTENSION_BOUND, RESPOND_WITHIN
from workflow.models import ComplaintStage
from workflow.report_formats import day


def acknowledgements(facts: Facts, number: int) -> Evidence:
    """6.2 / 6.11: acknowledged, defined and logged within five working days of receipt."""
    stages = facts.received(number)
    clocks = {s.id: facts.acknowledgement(s) for s in stages}
    count = {clock: sum(1 for s in stages if clocks[s.id] == clock) for clock in Clock}
    listed = []
    for s in stages:
        if clocks[s.id] == Clock.LATE:
            assert s.acknowledged_on is not None
            listed.append(Listed(s.case.reference, f"stage {number} acknowledged {day(s.acknowledged_on)}, due "
                                                   f"{day(s.acknowledgement_due)}: "
                                                   f"{facts.late_by(s.acknowledgement_due, s.acknowledged_on)} late"))
        elif clocks[s.id] == Clock.MISSED:
            listed.append(Listed(s.case.reference, f"stage {number} not acknowledged; it was due "
                                                   f"{day(s.acknowledgement_due)}"))
    taken = [facts.calendar.between(s.requested_on, s.acknowledged_on) for s in stages if s.acknowledged_on]
    average = round(sum(taken) / len(taken), 1) if taken else None
    what = "stage 1 complaints received" if number == 1 else "escalations to stage 2 requested"
    lines = [f"{len(stages)} {what} in the year: {count[Clock.ON_TIME]} acknowledged within 5 working days, "
             f"{count[Clock.LATE]} acknowledged late, {count[Clock.MISSED]} not acknowledged by the due date."]
    if count[Clock.NOT_OWED]:
        lines.append(f"{count[Clock.NOT_OWED]} refused or withdrawn before an acknowledgement was due.")
    if count[Clock.NOT_YET]:
        lines.append(f"{count[Clock.NOT_YET]} not yet due at the end of the period counted.")
    if average is not None:
        lines.append(f"Average time to acknowledge: {average} working days.")
    figures = {"received": len(stages), "on_time": count[Clock.ON_TIME], "late": count[Clock.LATE],
               "not_acknowledged": count[Clock.MISSED], "ended_before_due": count[Clock.NOT_OWED],
               "not_yet_due": count[Clock.NOT_YET], "average_working_days": average}
    return Evidence(suggest(len(listed), count[Clock.ON_TIME]), lines, figures, listed)


def responses(facts: Facts, number: int) -> Evidence:
    """6.3 / 6.14: the response within 10 / 20 working days of acknowledgement, or of an agreed extension."""
    stages = facts.answered_or_due(number)
    clocks = {s.id: facts.response(s) for s in stages}
    answered = [s for s in stages if s.responded_on is not None]
    within_code = sum(1 for s in answered if facts.within_code(s))
    on_time = sum(1 for s in answered if clocks[s.id] == Clock.ON_TIME)
    listed = []
    for s in stages:
        assert s.response_due is not None
        extended = " (extended)" if s.extensions else ""
        if clocks[s.id] == Clock.LATE:
            assert s.responded_on is not None
            listed.append(Listed(s.case.reference, f"stage {number} answered {day(s.responded_on)}, due "
                                                   f"{day(s.response_due)}{extended}: "
                                                   f"{facts.late_by(s.response_due, s.responded_on)} late"))
        elif clocks[s.id] == Clock.MISSED:
            listed.append(Listed(s.case.reference, f"stage {number} not answered; it was due "
                                                   f"{day(s.response_due)}{extended}"))
    missed = sum(1 for s in stages if clocks[s.id] == Clock.MISSED)
    late = len(answered) - on_time
    lines = [f"{plural(len(answered), 'stage ' + str(number) + ' response')} in the year: {within_code} within "
             f"{RESPOND_WITHIN[number]} working days of acknowledgement, {on_time} by the deadline counting agreed "
             f"extensions, {late} late.",
             f"{missed} not answered by a deadline that passed in the year."]
    figures = {"answered": len(answered), "within_code_timescale": within_code,
               "within_extended_deadline": on_time, "answered_late": late, "not_answered_by_deadline": missed}
    return Evidence(suggest(len(listed), on_time), lines, figures, listed)


def _extensions(facts: Facts, number: int) -> tuple[list[ComplaintStage], int]:
    agreed = [(s, e) for s in facts.stages if s.number == number for e in s.extensions if e.agreed_on in facts.period]
    stages = list({s.id: s for s, _ in agreed}.values())
    return stages, len(agreed)


def extensions(facts: Facts, number: int) -> Evidence:
    """6.4 / 6.15: no more than 10 / 20 working days without good reason, the reasons explained, and
    the resident then answered by the new date they were told."""
    stages, agreed = _extensions(facts, number)
    bound = EXTENSION_BOUND[number]
    listed = []
    without_reason = [s for s in stages if any(not (e.reason or "").strip() for e in s.extensions)]
    beyond = [s for s in stages if s.extension_days > bound]
    beyond_unexplained = [s for s in beyond if not any((e.good_reason or "").strip() for e in s.extensions)]
    broken = [s for s in stages if facts.response(s) in (Clock.LATE, Clock.MISSED)]
    for s in without_reason:
        listed.append(Listed(s.case.reference, f"stage {number} extension with no reason recorded"))
    for s in beyond_unexplained:
        listed.append(Listed(s.case.reference, f"stage {number} extended by {s.extension_days} working days "
                                               "with no good reason recorded"))
    for s in broken:
        assert s.response_due is not None
        when = f"answered {day(s.responded_on)}" if s.responded_on else "not answered"
        listed.append(Listed(s.case.reference, f"stage {number} {when}, after the extended deadline of "
                                               f"{day(s.response_due)} the resident was given"))
    reasons = (f"{len(without_reason)} without a reason recorded" if without_reason
               else "each records its reason and what the resident was told")
    lines = [f"{plural(agreed, 'extension')} agreed at stage {number} in the year, on "
             f"{plural(len(stages), 'complaint')}; {reasons}.",
             f"{len(beyond)} extended beyond {bound} working days in all, "
             f"{len(beyond) - len(beyond_unexplained)} of them with a good reason recorded.",
             f"{len(broken)} answered after the extended deadline, or not answered by it."] if stages else [
        f"No extension was agreed at stage {number} in the year."]
    figures = {"extensions": agreed, "complaints_extended": len(stages), "without_reason": len(without_reason),
               "beyond_bound": len(beyond), "beyond_bound_without_good_reason": len(beyond_unexplained),
               "late_after_extension": len(broken)}
    return Evidence(suggest(len(listed), len(stages)), lines, figures, listed)


def ombudsman_on_extension(facts: Facts, number: int) -> Evidence:
    """6.5 / 6.16: the Ombudsman's contact details given with every extension."""
    agreed = [(s, e) for s in facts.stages if s.number == number for e in s.extensions if e.agreed_on in facts.period]
    missing = [(s, e) for s, e in agreed if not (e.ombudsman_details or "").strip()]
    listed = [Listed(s.case.reference, f"stage {number} extension agreed {day(e.agreed_on)} without the Ombudsman's "
                                       "details recorded") for s, e in missing]
    lines = [f"{len(agreed) - len(missing)} of {plural(len(agreed), 'extension')} agreed at stage {number} in the "
             "year record the Ombudsman's contact details as given to the resident." if agreed else
             f"No extension was agreed at stage {number} in the year."]
    return Evidence(suggest(len(listed), len(agreed)), lines, {"extensions": len(agreed),
                                                               "with_ombudsman_details": len(agreed) - len(missing)},
                    listed)


def updates_when_late(facts: Facts) -> Evidence:
    """5.9: where a response falls outside the Code's timescales, update intervals agreed with the resident."""
    late = [s for n in (1, 2) for s in facts.answered_or_due(n) if facts.response(s) in (Clock.LATE, Clock.MISSED)]
    agreed = [s for s in late if s.update_every_days is not None]
    listed = [Listed(s.case.reference, f"stage {s.number} response late with no update interval agreed")
              for s in late if s.update_every_days is None]
    every = [s for s in facts.stages if s.update_every_days is not None and s.requested_on in facts.period]
    lines = [f"{plural(len(late), 'response')} fell outside the Code's timescales in the year (counting agreed "
             f"extensions); update intervals were agreed on {len(agreed)} of them.",
             f"Update intervals agreed in all on {plural(len(every), 'stage')} requested in the year."]
    if not late:
        lines.append("With no late response there was nothing to agree: a person decides.")
    figures = {"late_responses": len(late), "with_update_interval": len(agreed), "intervals_agreed": len(every)}
    return Evidence(suggest(len(listed), len(agreed)), lines, figures, listed)
