"""Working days as the Complaint Handling Code counts them.

"N working days after D" is the Nth working day strictly after D's date in Europe/London,
skipping weekends, the nation's bank holidays and the landlord's closure days (CODE.md).
Every deadline in the product goes through this one module so that the console, the
scheduler and the reports can never disagree about a date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")


class Nation(StrEnum):
    ENGLAND = "england"
    WALES = "wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern-ireland"


_SUBDIVISION = {
    Nation.ENGLAND: "ENG",
    Nation.WALES: "WLS",
    Nation.SCOTLAND: "SCT",
    Nation.NORTHERN_IRELAND: "NIR",
}


def london_date(moment: dt.datetime) -> dt.date:
    """The calendar date in London of an instant; naive datetimes are taken as UTC.

    A message sent at 23:30 UTC in summer arrives on the next London day, and the Code's
    clock starts from the London date.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LONDON).date()


def london_midnight(day: dt.date) -> dt.datetime:
    """The instant (in UTC) a London day begins: the other half of london_date, for turning a range
    of London dates into the instants stored in the database."""
    return dt.datetime.combine(day, dt.time(), LONDON).astimezone(dt.UTC)


def parse_closure_days(text: str) -> frozenset[dt.date]:
    """Read closure days written as ISO dates or ranges, e.g. "2026-12-29..2026-12-31, 2027-04-02".

    Raises ValueError naming the piece that could not be read, so a misconfigured landlord
    finds out at start-up rather than from a wrong deadline.
    """
    days: set[dt.date] = set()
    for piece in (p.strip() for p in text.replace(";", ",").split(",")):
        if not piece:
            continue
        try:
            if ".." in piece:
                first_text, last_text = (part.strip() for part in piece.split("..", 1))
                first, last = dt.date.fromisoformat(first_text), dt.date.fromisoformat(last_text)
                if last < first:
                    raise ValueError("range ends before it starts")
                days.update(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
            else:
                days.add(dt.date.fromisoformat(piece))
        except ValueError as error:
            raise ValueError(f"closure day {piece!r} is not YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD: {error}") from None
    return frozenset(days)


@lru_cache(maxsize=64)
def _bank_holidays(nation: Nation, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("GB", subdiv=_SUBDIVISION[nation], years=year).keys())


class WorkingCalendar:
    """Counts working days for one landlord: its nation's bank holidays and its closure days."""

    def __init__(self, nation: Nation | str = Nation.ENGLAND, closure_days: Iterable[dt.date] = ()) -> None:
        self.nation = Nation(nation)
        self.closure_days = frozenset(closure_days)

    def bank_holidays(self, year: int) -> frozenset[dt.date]:
        return _bank_holidays(self.nation, year)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.closure_days and day not in self.bank_holidays(day.year)

    def add(self, start: dt.date | dt.datetime, n: int) -> dt.date:
        """The Nth working day strictly after the (London) date of start; n >= 1."""
        if n < 1:
            raise ValueError("n must be at least 1 working day")
        day = london_date(start) if isinstance(start, dt.datetime) else start
        counted = 0
        while counted < n:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after start up to and including end; negative when end is earlier.

        Used for "working days left" and for how late a response was.
        """
        if end < start:
            return -self.between(end, start)
        return sum(1 for i in range(1, (end - start).days + 1) if self.is_working_day(start + dt.timedelta(days=i)))
