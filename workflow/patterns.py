"""Patterns across complaints, found for people with the figures behind them (Code 9.2, 9.4, 9.7 b).

The Code asks the lead person to "assess any themes or trends to identify potential systemic
issues". Each pattern here is a plain count over a chosen period, beside the count it is compared
with, so a supervisor can check it and a governing body can be told why it was raised:

- themes and teams whose stage 1 complaints rose against the period of the same length just before;
- residents, and blocks (workflow/blocks.py), with more than one complaint in the period;
- the teams and themes whose service requests most often became complaints (1.5).

Complaints are counted as the annual report counts them: a stage 1 received in the period.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow.blocks import same_block
from workflow.calendar import london_midnight
from workflow.models import Case, CaseBlock, CaseLink, ComplaintStage
from workflow.reports import UNRECORDED, Period
from workflow.vocabulary import Kind, LinkRelation


@dataclass(frozen=True)
class Trend:
    name: str
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous

    @property
    def rising(self) -> bool:
        return self.current > self.previous


@dataclass(frozen=True)
class Repeat:
    """Several complaints from one resident or one block in the period."""

    key: str  # "resident 12", or the block's name
    complaints: list[str]  # references, the earliest first


@dataclass(frozen=True)
class Conversion:
    """Service requests of one team or theme opened in the period, and how many a complaint was made about."""

    name: str
    requests: int
    became_complaints: int

    @property
    def share(self) -> float | None:
        return round(self.became_complaints / self.requests, 4) if self.requests else None


@dataclass(frozen=True)
class Patterns:
    period: Period
    previous: Period
    complaints: int
    previous_complaints: int
    themes: list[Trend]  # every theme seen in either period, the greatest rise first
    teams: list[Trend]
    repeat_residents: list[Repeat]
    repeat_blocks: list[Repeat]
    complaints_without_block: int  # complaints in the period with no block recorded: the blocks' coverage
    requests_by_team: list[Conversion]  # the most complaints first
    requests_by_theme: list[Conversion]

    @property
    def rising_themes(self) -> list[Trend]:
        return [t for t in self.themes if t.rising]

    @property
    def rising_teams(self) -> list[Trend]:
        return [t for t in self.teams if t.rising]


def before(period: Period) -> Period:
    """The period of the same number of days that ends the day before this one starts."""
    days = (period.end - period.start).days
    end = period.start - dt.timedelta(days=1)
    return Period(end - dt.timedelta(days=days), end)


def _first_stages(session: Session, period: Period) -> list[ComplaintStage]:
    return list(session.scalars(
        select(ComplaintStage).join(Case)
        .where(ComplaintStage.number == 1, ComplaintStage.requested_on >= period.start,
               ComplaintStage.requested_on <= period.end)
        .options(selectinload(ComplaintStage.case)).order_by(ComplaintStage.requested_on, ComplaintStage.id)))


def _trends(now: Counter[str], then: Counter[str]) -> list[Trend]:
    trends = [Trend(name, now.get(name, 0), then.get(name, 0)) for name in set(now) | set(then)]
    return sorted(trends, key=lambda t: (-t.change, -t.current, t.name))


def _repeats(groups: dict[str, list[str]]) -> list[Repeat]:
    found = [Repeat(key, refs) for key, refs in groups.items() if len(refs) > 1]
    return sorted(found, key=lambda r: (-len(r.complaints), r.key))


def _conversions(requests: list[Case], became: set[int], attribute: str) -> list[Conversion]:
    groups: dict[str, list[Case]] = {}
    for case in requests:
        groups.setdefault(getattr(case, attribute) or UNRECORDED, []).append(case)
    found = [Conversion(name, len(rows), sum(1 for c in rows if c.id in became)) for name, rows in groups.items()]
    return sorted(found, key=lambda c: (-c.became_complaints, -(c.share or 0), c.name))


def find_patterns(session: Session, period: Period, previous: Period | None = None) -> Patterns:
    """The patterns of one period against another (by default the one just before it)."""
    previous = previous or before(period)
    now, then = _first_stages(session, period), _first_stages(session, previous)
    themes = _trends(Counter(s.case.theme or UNRECORDED for s in now), Counter(s.case.theme or UNRECORDED for s in then))
    teams = _trends(Counter(s.case.team or UNRECORDED for s in now), Counter(s.case.team or UNRECORDED for s in then))

    residents: dict[str, list[str]] = {}
    for stage in now:
        if stage.case.resident_id is not None:
            residents.setdefault(f"resident {stage.case.resident_id}", []).append(stage.case.reference)
    blocks_of = dict(session.execute(select(CaseBlock.case_id, CaseBlock.block)
                                     .where(CaseBlock.case_id.in_([s.case_id for s in now]))).all())
    blocks: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for stage in now:
        name = blocks_of.get(stage.case_id)
        if name is not None:
            key = same_block(name)
            names.setdefault(key, name)
            blocks.setdefault(key, []).append(stage.case.reference)

    start, end = london_midnight(period.start), london_midnight(period.end + dt.timedelta(days=1))
    requests = list(session.scalars(select(Case).where(Case.kind == Kind.SERVICE_REQUEST.value,
                                                       Case.opened_at >= start, Case.opened_at < end)))
    became = set(session.scalars(
        select(CaseLink.to_case_id).where(CaseLink.relation == LinkRelation.COMPLAINT_ABOUT_REQUEST.value,
                                          CaseLink.to_case_id.in_([c.id for c in requests]), CaseLink.created_at < end)))
    return Patterns(
        period=period, previous=previous, complaints=len(now), previous_complaints=len(then), themes=themes,
        teams=teams, repeat_residents=_repeats(residents),
        repeat_blocks=_repeats({names[key]: refs for key, refs in blocks.items()}),
        complaints_without_block=sum(1 for s in now if s.case_id not in blocks_of),
        requests_by_team=_conversions(requests, became, "team"),
        requests_by_theme=_conversions(requests, became, "theme"))
