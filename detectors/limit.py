"""Credit-limit model: what a borrower's business can carry, learned online from the stream.

The recommended limit is

    capacity × (1 - risk haircut)

where *capacity* is ``revenue_months`` months of the borrower's expected
(deseasonalised) revenue, from the revenue detector's baseline, capped by
``inflow_months`` months of operating cash inflow when the account feed is
known. The *seasonal factor* says how much busier the coming ``lead_days`` are
than an average stretch of the year, from the borrower's own month profile
(after a year of history; the sector's prior before): above 1 ahead of its
peak season, back to 1 after it.

The per-borrower state only counts repayment cycles: consecutive installments
settled on time, and the installments that make up that run (the evidence).
The decisions (steps, cooling-off, review) are the policy's, in
``alerts/limits.py``.

>>> s = LimitState()
>>> for seq, late in ((1, 0), (2, -3), (3, 0)):
...     note_settled(s, seq, days_late=late, grace_days=0)
>>> s.on_time, s.first_seq, s.last_seq
(3, 1, 3)
>>> note_settled(s, 4, days_late=5, grace_days=0)
>>> s.on_time
0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec

from detectors import revenue

__all__ = ["LimitModel", "LimitState", "Capacity", "note_settled", "note_overdue", "capacity", "season_ahead"]

DAYS_PER_MONTH = 30.4


@dataclass(frozen=True, slots=True)
class LimitModel:
    """Parameters of the recommended limit."""

    revenue_months: float = 1.5  # capacity: this many months of expected revenue
    inflow_months: float = 1.5  # ... at most this many months of operating cash inflow
    max_haircut: float = 0.9  # the risk haircut never removes more than this share
    season_from_days: int = 15  # the season ahead: the stretch from this many days after today ...
    season_to_days: int = 75  # ... to this many
    min_revenue_days: int = 56  # closed revenue days before a capacity is trusted


class LimitState(msgspec.Struct, array_like=True, omit_defaults=True):
    """Per-borrower repayment cycles and limit history (a few bytes)."""

    on_time: int = 0  # consecutive installments settled on time (reset by a late one or an increase)
    first_seq: int = 0  # installment seq that began the run
    last_seq: int = 0  # installment seq that ended it
    last_change: int = 0  # day ordinal of the last applied change of the amount (0: none)
    frozen: bool = False
    uplift: str = "0"  # seasonal uplift inside the current limit (Decimal as text)
    changes: int = 0  # limit changes emitted (makes each change id unique)
    reviewed: int = 0  # day ordinal of the last full review (one a day is enough)


@dataclass(frozen=True, slots=True)
class Capacity:
    """The model's view of the business at one day; None when it does not know enough."""

    monthly_revenue: float | None  # expected revenue per month (deseasonalised)
    monthly_inflow: float | None  # operating inflow per month (cash-flow feed)
    capacity: float | None  # what the business can carry
    season: float  # month factor of the stretch ahead (1.0: an average stretch of the year)
    season_now: float  # month factor of today: still in the busy season?
    stable: bool  # revenue not in a sustained drop and its level not below its slow trend by 10%
    revenue_days: int  # closed days of revenue history behind the figures


def note_settled(state: LimitState, seq: int, *, days_late: int, grace_days: int) -> None:
    """An installment was settled in full ``days_late`` days after its due date (negative: early)."""
    if days_late <= grace_days:
        if state.on_time == 0:
            state.first_seq = seq
        state.on_time += 1
        state.last_seq = seq
    else:
        state.on_time = 0


def note_overdue(state: LimitState) -> None:
    """An installment went past its due date unpaid: the on-time run ends."""
    state.on_time = 0


def season_ahead(rev: revenue.RevenueState | None, sector: str | None, today: int,
                 model: LimitModel = LimitModel()) -> float:
    """Mean month factor of the stretch ahead (the borrower's own profile after a year, the sector's before).

    >>> import datetime as dt
    >>> aug, dec = dt.date(2026, 8, 20).toordinal(), dt.date(2026, 12, 1).toordinal()
    >>> season_ahead(None, "textile", aug) > 1.15        # textile: ahead of its autumn peak
    True
    >>> season_ahead(None, "textile", dec) < 1.05        # after it
    True
    >>> season_ahead(None, "bakery", aug)                # no season
    1.0
    """
    days = range(today + model.season_from_days, today + model.season_to_days + 1, 5)
    return round(math.fsum(revenue.month_factor(d, sector, rev) for d in days) / len(days), 4)


def capacity(rev: revenue.RevenueState | None, inflow_per_day: float | None, sector: str | None, today: int,
             model: LimitModel = LimitModel(), *, dropped: bool | None = None) -> Capacity:
    """What the business can carry, from the revenue baseline and the cash inflow.

    >>> rev = revenue.RevenueState(level=1_000_000, slow=1_000_000, days=90)   # 10,000.00 a day
    >>> c = capacity(rev, inflow_per_day=8_000.0, sector=None, today=739_000)
    >>> round(c.monthly_revenue), round(c.monthly_inflow), round(c.capacity), c.stable
    (304000, 243200, 364800, True)
    """
    monthly_inflow = inflow_per_day * DAYS_PER_MONTH if inflow_per_day and inflow_per_day > 0 else None
    season = season_ahead(rev, sector, today, model)
    now = round(revenue.month_factor(today, sector, rev), 4)
    if rev is None or rev.days < model.min_revenue_days or rev.level <= 0:
        return Capacity(None, monthly_inflow, None, season, now, False, rev.days if rev else 0)
    monthly = rev.level / 100.0 * DAYS_PER_MONTH
    cap = model.revenue_months * monthly
    if monthly_inflow is not None:
        cap = min(cap, model.inflow_months * monthly_inflow)
    if dropped is None:  # the revenue detector's own reading, unless the caller has it already
        dropped = bool(revenue.signals(rev, rev.open_day - 1, sector).dropped) if rev.open_day else False
    stable = not dropped and rev.level >= 0.9 * rev.slow
    return Capacity(monthly, monthly_inflow, cap, season, now, stable, rev.days)
