"""What happens to a borrower: healthy, a benign shock, or trouble with an onset.

Trouble develops as it does in practice and is visible only through its
effects on revenue, cash and repayments, never by name:

* ``slow_decline``: revenue falls 2–5 % a week from the onset;
* ``sudden_shock``: revenue drops 50–80 % overnight (a lost customer, a ban);
* ``multi_lending``: ever larger disbursements from other lenders (36 % a
  year), soon spent, then growing monthly repayments to them eat the cash,
  while revenue erodes slowly;
* ``seasonal_squeeze`` (textile): the summer off-season is about twice as
  deep as usual and cash runs out before the autumn peak.

In stress, fixed costs go on while sales fall, payments to us become late
(more often as months pass; some in two parts), a revolving line gets drawn
to the limit and the owner no longer tops the account up. Each story ends in

* default: the owner moves cash out to related parties at month ends, then
  payments to us stop for good (days past due pass 90); half of the
  defaulters close 2 weeks to 4 months later and their feeds go quiet; or
* recovery: revenue comes back (to 80–100 % of before, or the autumn peak),
  the arrears are caught up in one payment and payments are on time again.

Onsets fall after the loan is booked; a late onset may end after the window
(neither defaulted nor recovered yet). Healthy borrowers may have a benign
shock that must not alarm: a holiday week (no sales for 5–9 days), a
promotion spike (2.5–4 times the sales for 2–5 days), a one-off supplier
payment of 1.5–3 months of purchases.

>>> s = Story("sudden_shock", onset=100, outcome="default", stop=150)
>>> s.phase(99), s.phase(100), s.phase(150)
('normal', 'stress', 'stopped')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .days import Calendar

TROUBLE = ("slow_decline", "sudden_shock", "multi_lending", "seasonal_squeeze")
BENIGN = ("holiday_week", "promotion_spike", "big_supplier_payment")
STORIES = ("healthy", *BENIGN, *TROUBLE)

TROUBLE_SHARE = 0.22
BENIGN_SHARE = 0.30
TROUBLE_MIX = {
    "textile": {"seasonal_squeeze": 0.35, "slow_decline": 0.25, "sudden_shock": 0.2, "multi_lending": 0.2},
    "other": {"slow_decline": 0.4, "sudden_shock": 0.3, "multi_lending": 0.3},
}
DEFAULT_SHARE = {"slow_decline": 0.6, "sudden_shock": 0.55, "multi_lending": 0.65, "seasonal_squeeze": 0.45}
# Days from onset until payments to us stop (default) or recovery starts.
STOP_AFTER = {"slow_decline": (70, 170), "sudden_shock": (20, 70), "multi_lending": (60, 160),
              "seasonal_squeeze": (30, 70)}
RECOVER_AFTER = {"slow_decline": (45, 120), "sudden_shock": (30, 90), "multi_lending": (60, 150)}
CLOSURE_SHARE = 0.5


@dataclass(frozen=True)
class Story:
    name: str
    onset: int | None = None
    outcome: str | None = None  # "default" | "recover" | None
    stop: int | None = None  # first day payments to us stop
    recover: int | None = None  # first day of recovery
    closure: int | None = None  # business closes: no sales, no costs
    benign_day: int | None = None
    rate: float = 0.0  # weekly decline
    depth: float = 1.0  # level after a shock / extra seasonal factor
    level: float = 1.0  # level reached after recovery
    length: int = 0  # days of a benign shock

    def phase(self, day: int) -> str:
        """normal, stress, stopped (paying us nothing) or recovered."""
        if self.onset is None or day < self.onset:
            return "normal"
        if self.outcome == "default":
            return "stopped" if self.stop is not None and day >= self.stop else "stress"
        return "recovered" if self.recover is not None and day >= self.recover else "stress"


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.array([weights[n] for n in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _between(rng: np.random.Generator, low: int, high: int) -> int:
    return int(rng.integers(low, high + 1))


def _june_first(cal: Calendar, earliest: int, latest: int) -> tuple[int, int] | None:
    for year in range(cal.start.year, cal.dates[-1].year + 1):
        d = cal.day(date(year, 6, 1))
        if earliest <= d <= latest:
            return d, cal.day(date(year, 9, 1))
    return None


def draw_story(sector: str, cal: Calendar, rng: np.random.Generator, loan_day: int) -> Story:
    """A borrower's story; trouble starts after its loan is booked."""
    n = cal.n_days
    roll = rng.random()
    earliest, latest = loan_day + 45, n - 30
    if roll < TROUBLE_SHARE and earliest <= latest:
        name = _pick(rng, TROUBLE_MIX["textile" if sector == "textile" else "other"])
        summer = _june_first(cal, earliest, latest - 30) if name == "seasonal_squeeze" else None
        if name == "seasonal_squeeze" and summer is None:
            name = "slow_decline"
        outcome = "default" if rng.random() < DEFAULT_SHARE[name] else "recover"
        if name == "seasonal_squeeze":
            assert summer is not None
            onset, autumn = summer
            recover = autumn + _between(rng, 0, 25)
        else:
            onset = _between(rng, earliest, latest)
            recover = onset + _between(rng, *RECOVER_AFTER[name])
        stop = onset + _between(rng, *STOP_AFTER[name])
        closure = stop + _between(rng, 15, 120) if outcome == "default" and rng.random() < CLOSURE_SHARE else None
        return Story(
            name=name, onset=onset, outcome=outcome,
            stop=stop if outcome == "default" else None,
            recover=recover if outcome == "recover" else None,
            closure=closure,
            rate=float(rng.uniform(0.02, 0.05) if name == "slow_decline" else rng.uniform(0.005, 0.015)),
            depth=float(rng.uniform(0.2, 0.5) if name == "sudden_shock" else rng.uniform(0.45, 0.6)),
            level=float(rng.uniform(0.8, 1.0)),
        )
    if rng.random() < BENIGN_SHARE and loan_day + 30 <= n - 15:
        name = _pick(rng, {b: 1.0 for b in BENIGN})
        return Story(name=name, benign_day=_between(rng, loan_day + 30, n - 15),
                     length=_between(rng, 5, 9) if name == "holiday_week" else _between(rng, 2, 5),
                     depth=float(rng.uniform(2.5, 4.0)))
    return Story("healthy")


def _ramp(m: np.ndarray, start: int, days: int, target: float) -> None:
    """From ``start`` move linearly from the level there to ``target`` and stay."""
    n = len(m)
    if start >= n:
        return
    base = m[start]
    steps = np.minimum(np.arange(n - start) / days, 1.0)
    m[start:] = base + (target - base) * steps


def revenue_multiplier(story: Story, cal: Calendar) -> np.ndarray:
    """The story's effect on the number of sales per day."""
    n = cal.n_days
    m = np.ones(n)
    days = np.arange(n)
    if story.benign_day is not None:
        window = slice(story.benign_day, story.benign_day + story.length)
        m[window] = 0.0 if story.name == "holiday_week" else (story.depth if story.name == "promotion_spike" else 1.0)
        return m
    if story.onset is None:
        return m
    after = days >= story.onset
    weeks = np.maximum(days - story.onset, 0) / 7.0
    if story.name == "slow_decline":
        m = np.where(after, np.maximum((1 - story.rate) ** weeks, 0.1), 1.0)
    elif story.name == "sudden_shock":
        m = np.where(after, story.depth * (0.99 ** weeks if story.outcome == "default" else 1.0), 1.0)
    elif story.name == "multi_lending":
        m = np.where(after, np.maximum((1 - story.rate) ** weeks, 0.5), 1.0)
    elif story.name == "seasonal_squeeze":
        m = np.where(after, story.depth, 1.0)
    if story.outcome == "recover" and story.recover is not None:
        if story.name == "multi_lending":
            if story.recover < n:
                m[story.recover:] = m[story.recover]
        elif story.name == "seasonal_squeeze":
            _ramp(m, story.recover, 20, 1.0)
        else:
            _ramp(m, story.recover, 42 if story.name == "slow_decline" else 30, story.level)
    if story.closure is not None and story.closure < n:
        m[story.closure:] = 0.0
    return m


@dataclass(frozen=True)
class OtherLoan:
    """A loan from another lender, seen only as cash flows on the account."""

    lender_id: str
    disbursed_day: int | None  # None: booked before the window
    amount: int
    payment_days: list[int]
    payment: int


def spiral_loans(story: Story, monthly_revenue: float, rng: np.random.Generator,
                 lenders: list[str]) -> list[OtherLoan]:
    """Multi-lending: ever larger loans from other lenders (``lenders[i]``), each repaid monthly (cents)."""
    if story.name != "multi_lending" or story.onset is None:
        return []
    count = _between(rng, 4, 6) if story.outcome == "default" else _between(rng, 2, 3)
    out, day = [], story.onset
    base = monthly_revenue * float(rng.uniform(0.3, 0.6))
    for i in range(count):
        amount = int(round(base * 1.3**i / 100_00)) * 100_00  # cents, whole hundreds of CNY
        term = _between(rng, 3, 6)
        payment = int(round(amount * (1 / term + 0.03)))  # online lenders: ~36 % a year
        out.append(OtherLoan(lenders[i % len(lenders)], day, amount, [day + 30 * (k + 1) for k in range(term)], payment))
        day += _between(rng, 15, 40)
    return out
