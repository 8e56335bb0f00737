"""Working days exactly as CODE.md counts them; holiday lists written out by hand, not from the library."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.calendar import Nation, WorkingCalendar, london_date, parse_closure_days

D = dt.date

# Weekday bank holidays in England and Wales, 2022-2027 (substitute days included).
ENGLAND_WALES = {
    2022: [D(2022, 1, 3), D(2022, 4, 15), D(2022, 4, 18), D(2022, 5, 2), D(2022, 6, 2), D(2022, 6, 3),
           D(2022, 8, 29), D(2022, 9, 19), D(2022, 12, 26), D(2022, 12, 27)],
    2023: [D(2023, 1, 2), D(2023, 4, 7), D(2023, 4, 10), D(2023, 5, 1), D(2023, 5, 8), D(2023, 5, 29),
           D(2023, 8, 28), D(2023, 12, 25), D(2023, 12, 26)],
    2024: [D(2024, 1, 1), D(2024, 3, 29), D(2024, 4, 1), D(2024, 5, 6), D(2024, 5, 27), D(2024, 8, 26),
           D(2024, 12, 25), D(2024, 12, 26)],
    2025: [D(2025, 1, 1), D(2025, 4, 18), D(2025, 4, 21), D(2025, 5, 5), D(2025, 5, 26), D(2025, 8, 25),
           D(2025, 12, 25), D(2025, 12, 26)],
    2026: [D(2026, 1, 1), D(2026, 4, 3), D(2026, 4, 6), D(2026, 5, 4), D(2026, 5, 25), D(2026, 8, 31),
           D(2026, 12, 25), D(2026, 12, 28)],
    2027: [D(2027, 1, 1), D(2027, 3, 26), D(2027, 3, 29), D(2027, 5, 3), D(2027, 5, 31), D(2027, 8, 30),
           D(2027, 12, 27), D(2027, 12, 28)],
}


def weekday_holidays(calendar: WorkingCalendar, year: int) -> list[dt.date]:
    day, found = D(year, 1, 1), []
    while day.year == year:
        if day.weekday() < 5 and not calendar.is_working_day(day):
            found.append(day)
        day += dt.timedelta(days=1)
    return found


@pytest.mark.parametrize("nation", [Nation.ENGLAND, Nation.WALES])
@pytest.mark.parametrize("year", sorted(ENGLAND_WALES))
def test_england_and_wales_bank_holidays_are_exactly_the_published_ones(nation: Nation, year: int) -> None:
    assert weekday_holidays(WorkingCalendar(nation), year) == ENGLAND_WALES[year]


def test_one_off_days_are_not_working_days() -> None:
    england = WorkingCalendar()
    for day in (D(2022, 6, 3), D(2022, 9, 19), D(2023, 5, 8)):  # jubilee, state funeral, coronation
        assert not england.is_working_day(day)


def test_scotland_differs_from_england() -> None:
    scotland, england = WorkingCalendar(Nation.SCOTLAND), WorkingCalendar()
    # 2 January (and its substitute), St Andrew's Day, the first Monday of August are holidays.
    for day in (D(2024, 1, 2), D(2023, 1, 3), D(2024, 12, 2), D(2025, 12, 1), D(2023, 11, 30), D(2025, 8, 4)):
        assert not scotland.is_working_day(day), day
        assert england.is_working_day(day), day
    # Easter Monday and the late August holiday are working days in Scotland.
    for day in (D(2025, 4, 21), D(2026, 4, 6), D(2025, 8, 25)):
        assert scotland.is_working_day(day), day
        assert not england.is_working_day(day), day


def test_northern_ireland_adds_st_patricks_day_and_the_twelfth() -> None:
    ni, england = WorkingCalendar(Nation.NORTHERN_IRELAND), WorkingCalendar()
    for day in (D(2025, 3, 17), D(2026, 3, 17), D(2025, 7, 14), D(2024, 7, 12), D(2023, 7, 12)):
        assert not ni.is_working_day(day), day
        assert england.is_working_day(day), day


def test_code_example_tuesday_before_christmas() -> None:
    assert WorkingCalendar().add(D(2025, 12, 23), 5) == D(2026, 1, 2)


def test_counting_starts_strictly_after_the_day() -> None:
    england = WorkingCalendar()
    assert england.add(D(2026, 11, 23), 1) == D(2026, 11, 24)  # Monday -> Tuesday
    assert england.add(D(2026, 11, 27), 1) == D(2026, 11, 30)  # Friday -> Monday
    assert england.add(D(2026, 11, 28), 1) == D(2026, 11, 30)  # Saturday -> Monday is day 1
    assert england.add(D(2026, 11, 23), 10) == D(2026, 12, 7)
    assert england.add(D(2026, 4, 2), 1) == D(2026, 4, 7)  # over Good Friday and Easter Monday


def test_closure_days_are_skipped() -> None:
    closed = WorkingCalendar(closure_days=parse_closure_days("2025-12-29..2025-12-31"))
    assert closed.add(D(2025, 12, 23), 5) == D(2026, 1, 7)
    assert WorkingCalendar().add(D(2025, 12, 23), 5) == D(2026, 1, 2)


def test_closure_days_parse_dates_and_ranges_and_reject_nonsense() -> None:
    assert parse_closure_days(" 2026-12-29..2026-12-31, 2027-04-01 ;") == {
        D(2026, 12, 29), D(2026, 12, 30), D(2026, 12, 31), D(2027, 4, 1)}
    assert parse_closure_days("") == frozenset()
    with pytest.raises(ValueError, match="29/12/2026"):
        parse_closure_days("29/12/2026")
    with pytest.raises(ValueError, match="ends before"):
        parse_closure_days("2026-12-31..2026-12-29")


def test_late_evening_utc_in_summer_is_the_next_london_day() -> None:
    moment = dt.datetime(2026, 7, 14, 23, 30, tzinfo=dt.UTC)
    assert london_date(moment) == D(2026, 7, 15)
    assert WorkingCalendar().add(moment, 1) == D(2026, 7, 16)
    # In winter London is on UTC, so the same clock time stays on its day.
    assert london_date(dt.datetime(2026, 1, 14, 23, 30, tzinfo=dt.UTC)) == D(2026, 1, 14)
    assert london_date(dt.datetime(2026, 7, 14, 23, 30)) == D(2026, 7, 15)  # naive means UTC


def test_between_counts_working_days_left_and_overdue() -> None:
    england = WorkingCalendar()
    assert england.between(D(2025, 12, 23), D(2026, 1, 2)) == 5
    assert england.between(D(2026, 1, 2), D(2025, 12, 23)) == -5
    assert england.between(D(2026, 3, 3), D(2026, 3, 3)) == 0


def test_n_must_be_positive() -> None:
    with pytest.raises(ValueError):
        WorkingCalendar().add(D(2026, 1, 5), 0)


@given(st.dates(min_value=D(2022, 1, 1), max_value=D(2027, 12, 1)), st.integers(min_value=1, max_value=40),
       st.sampled_from(list(Nation)))
def test_add_lands_on_a_working_day_exactly_n_working_days_on(start: dt.date, n: int, nation: Nation) -> None:
    calendar = WorkingCalendar(nation)
    due = calendar.add(start, n)
    assert calendar.is_working_day(due)
    assert calendar.between(start, due) == n
    assert calendar.add(start, n + 1) > due
