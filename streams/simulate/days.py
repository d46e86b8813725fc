"""The simulation calendar: day indices, ISO strings and Chinese holidays.

Day ``0`` is the start date; every other module works on integer day indices
and asks the calendar for dates, weekdays and holiday offsets.

>>> cal = make_calendar(date(2025, 1, 1), months=18)
>>> cal.n_days, cal.iso[0], cal.iso[-1]
(546, '2025-01-01', '2026-06-30')
>>> int(cal.spring_festival_offset[cal.day(date(2025, 1, 29))])
0
"""

from __future__ import annotations

import calendar as _stdcal
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

# First day of the lunar new year (Spring Festival, 春节).
SPRING_FESTIVAL: dict[int, date] = {
    2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12),
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10),
    2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6),
    2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
    2031: date(2031, 1, 23), 2032: date(2032, 2, 11), 2033: date(2033, 1, 31),
    2034: date(2034, 2, 19), 2035: date(2035, 2, 8), 2036: date(2036, 1, 28),
}


def add_months(d: date, k: int) -> date:
    """The same day ``k`` months later, clamped to the month's length.

    >>> add_months(date(2025, 1, 31), 1)
    datetime.date(2025, 2, 28)
    """
    y, m = divmod(d.month - 1 + k, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, _stdcal.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Calendar:
    start: date
    n_days: int
    dates: list[date]
    iso: list[str]
    weekday: np.ndarray  # 0 = Monday
    month: np.ndarray
    dom: np.ndarray  # day of month, 1..31
    month_end: np.ndarray  # bool: last day of its month
    spring_festival_offset: np.ndarray  # days from the nearest Spring Festival
    weekdays: list[int]  # the same as plain lists, for fast scalar access
    doms: list[int]
    month_ends: list[bool]
    _season_cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def day(self, d: date) -> int:
        return (d - self.start).days


def make_calendar(start: date, months: int) -> Calendar:
    if months < 1:
        raise ValueError("months must be >= 1")
    n_days = (add_months(start, months) - start).days
    dates = [start + timedelta(days=i) for i in range(n_days)]
    for year in range(start.year - 1, dates[-1].year + 2):
        if year not in SPRING_FESTIVAL:
            raise ValueError(f"no Spring Festival date known for {year}; extend days.SPRING_FESTIVAL")
    sf_days = np.array([(SPRING_FESTIVAL[y] - start).days for y in range(start.year - 1, dates[-1].year + 2)])
    idx = np.arange(n_days)
    weekdays = [d.weekday() for d in dates]
    month_ends = [(d + timedelta(days=1)).day == 1 for d in dates]
    diffs = idx[:, None] - sf_days[None, :]
    nearest = np.abs(diffs).argmin(axis=1)
    return Calendar(
        start=start,
        n_days=n_days,
        dates=dates,
        iso=[d.isoformat() for d in dates],
        weekday=np.array(weekdays, dtype=np.int64),
        month=np.array([d.month for d in dates], dtype=np.int64),
        dom=np.array([d.day for d in dates], dtype=np.int64),
        month_end=np.array(month_ends),
        spring_festival_offset=diffs[idx, nearest],
        weekdays=weekdays,
        doms=[d.day for d in dates],
        month_ends=month_ends,
    )
