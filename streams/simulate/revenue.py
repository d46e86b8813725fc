"""Daily revenue: a compound Poisson process shaped by season, week and shocks.

Each day a borrower makes ``N ~ Poisson(lam)`` sales (tickets, orders or
invoices) of log-normal size; ``lam`` is the borrower's typical number of sales
times the sector's season, the weekday profile, a slow random wander, a growth
trend, promotions, random closures, a day-level demand shock (gamma) and the
story's multiplier. Small and invoice-based borrowers therefore have days
without sales (intermittency) and lumpy amounts; large shops sell every day.

Seasons: textile dips in summer and peaks September–November, stops around
the Spring Festival and in the National Day week; e-commerce has 618 (June 18)
and Double 11 (November 11, about seven times a normal day) with a lull after,
and a festival stop of the couriers; catering has a strong weekend, a Spring
Festival dip with closures (30 % of restaurants also rest one weekday) and
busy golden weeks; manufacturing shuts down for the festival and invoices
heavily in the last week of each quarter.

Days without a sale produce **no** ``revenue/1`` event, as in the real feed
(Olist has no row for them): the absence of revenue events is itself what a
dormancy detector must read. Weekly feeds (8 % of non-POS borrowers) report
the Monday–Sunday sum on Sunday 23:59:59 (the first one only the days since
the start) and skip weeks without sales.

Calibration (``calibration.py``, ``tests/test_simulate.py``): B2B invoice
borrowers are as intermittent as Olist sellers (about 80 % of days without a
sale, coefficient of variation ~3, ~3 % of revenue at weekends); restaurants
and web shops, going concerns with a loan, sell nearly every day.

>>> import numpy as np
>>> from datetime import date
>>> from streams.simulate.days import make_calendar
>>> cal = make_calendar(date(2025, 1, 1), months=12)
>>> s = season("ecommerce", cal)
>>> float(s[cal.day(date(2025, 11, 11))]) > 5 * float(s[cal.day(date(2025, 3, 11))])
True
"""

from __future__ import annotations

import numpy as np

from .days import Calendar
from .emit import Emitter
from .portfolio import Borrower

# Monday .. Sunday, mean 1. b2b invoices are dated on business days; the weekend
# share (~3 %) matches Olist's, whose dates are business-day shipping deadlines.
WEEKDAY = {
    "catering": np.array([0.82, 0.80, 0.85, 0.90, 1.13, 1.33, 1.17]),
    "shop": np.array([0.90, 0.88, 0.90, 0.92, 1.05, 1.22, 1.13]),
    "web": np.array([1.05, 1.02, 1.00, 0.98, 0.95, 0.97, 1.03]),
    "b2b": np.array([1.34, 1.37, 1.40, 1.40, 1.29, 0.12, 0.08]),
}

# Day-level demand shock: gamma with this shape (coefficient of variation 1/sqrt(k)).
GAMMA_SHAPE = {"catering": 14.0, "shop": 8.0, "web": 4.0, "b2b": 2.5}
# Spread of the size of one sale (log-normal sigma).
TICKET_SIGMA = {"catering": 0.5, "shop": 0.6, "web": 0.6, "b2b": 0.9}
# Chance of a random closed day (POS shops only) and promotions per year.
CLOSED_DAY = {"catering": 0.02, "shop": 0.015, "web": 0.0, "b2b": 0.0}
REST_DAY_SHARE = 0.3  # restaurants closed one weekday (mostly Monday)
PROMOTIONS_PER_YEAR = {"catering": 4.0, "shop": 4.0, "web": 6.0, "b2b": 0.0}

# Month factors (January .. December), interpolated between mid-months.
MONTHS = {
    "textile": [1.0, 0.9, 0.95, 0.95, 0.9, 0.72, 0.62, 0.72, 1.2, 1.4, 1.45, 1.15],
    "ecommerce": [1.05, 0.95, 0.95, 0.97, 1.0, 1.0, 0.95, 0.95, 0.97, 1.0, 1.05, 1.05],
    "catering": [1.05, 1.0, 0.95, 1.0, 1.0, 0.97, 0.97, 0.97, 1.0, 1.05, 1.0, 1.08],
    "manufacturing": [1.0] * 12,
}


def _window(cal: Calendar, month: int, first: int, last: int) -> np.ndarray:
    return (cal.month == month) & (cal.dom >= first) & (cal.dom <= last)


def _spring(cal: Calendar, first: int, last: int) -> np.ndarray:
    o = cal.spring_festival_offset
    return (o >= first) & (o <= last)


def season(sector: str, cal: Calendar) -> np.ndarray:
    """Multiplier on a sector's sales per day: months, festivals, shopping days."""
    cached = cal._season_cache.get(sector)
    if cached is not None:
        return cached
    pos = (cal.month - 1) + (cal.dom - 1) / 30.5 - 0.5
    m = np.interp(pos, np.arange(12), np.asarray(MONTHS[sector], dtype=float), period=12)
    if sector == "textile":  # factories and wholesale markets close around the Spring Festival
        m[_spring(cal, -10, 8)] *= 0.35
        m[_spring(cal, 9, 15)] *= 0.7
        m[_window(cal, 10, 1, 7)] *= 0.5
    elif sector == "ecommerce":  # logistics stop for the festival; 618 and Double 11
        m[_spring(cal, -25, -13)] *= 1.15
        m[_spring(cal, -12, 6)] *= 0.45
        m[_window(cal, 6, 1, 15)] *= 1.25
        m[_window(cal, 6, 16, 17)] *= 1.8
        m[_window(cal, 6, 18, 18)] *= 3.5
        m[_window(cal, 10, 21, 31)] *= 1.2
        m[_window(cal, 11, 1, 10)] *= 1.4
        m[_window(cal, 11, 11, 11)] *= 7.0
        m[_window(cal, 11, 12, 13)] *= 1.3
        m[_window(cal, 11, 14, 25)] *= 0.85
        m[_window(cal, 12, 12, 12)] *= 2.5
    elif sector == "catering":  # staff go home for the festival; holidays bring guests
        m[_spring(cal, -1, 6)] *= 0.5
        m[_window(cal, 10, 1, 7)] *= 1.25
        m[_window(cal, 5, 1, 5)] *= 1.15
    elif sector == "manufacturing":  # festival shutdown, quarter-end invoicing, golden weeks
        m[_spring(cal, -8, 12)] *= 0.03
        m[_spring(cal, 13, 20)] *= 0.6
        for month in (3, 6, 9, 12):
            m[_window(cal, month, 25, 31)] *= 2.2
        m[_window(cal, 10, 1, 7)] *= 0.15
        m[_window(cal, 5, 1, 5)] *= 0.3
    cal._season_cache[sector] = m
    return m


def _wander(rng: np.random.Generator, n: int, phi: float = 0.98, sd: float = 0.03) -> np.ndarray:
    """A slow AR(1) wander on the log scale (stationary sd ~0.15)."""
    e = rng.standard_normal(n) * sd
    k = np.arange(n)
    x = phi ** k * np.cumsum(e * phi ** (-k.astype(float)))
    return np.exp(x)


def _promotions(rng: np.random.Generator, n: int, per_year: float, low: float, high: float) -> np.ndarray:
    out = np.ones(n)
    for _ in range(int(rng.poisson(per_year * n / 365.0))):
        first = int(rng.integers(0, n))
        out[first:first + int(rng.integers(1, 4))] *= rng.uniform(low, high)
    return out


def daily_revenue(b: Borrower, cal: Calendar, story: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Revenue per day in integer cents (0 on days without a sale)."""
    n = cal.n_days
    p = b.profile
    lam = (b.size / b.ticket) * season(b.sector, cal) * WEEKDAY[p][cal.weekday]
    growth = rng.normal(0.04, 0.08)
    lam = lam * np.exp(growth * np.arange(n) / 365.0) * _wander(rng, n)
    if PROMOTIONS_PER_YEAR[p]:
        lam = lam * _promotions(rng, n, PROMOTIONS_PER_YEAR[p], 1.3, 2.2)
    if CLOSED_DAY[p]:
        closed = rng.random(n) < CLOSED_DAY[p]
        if p == "catering":  # small restaurants often shut for the festival; some rest one day a week
            closed |= _spring(cal, -1, 5) & (rng.random(n) < 0.3)
            if rng.random() < REST_DAY_SHARE:
                closed |= cal.weekday == int(rng.choice(3, p=[0.6, 0.25, 0.15]))
        lam = np.where(closed, 0.0, lam)
    k = GAMMA_SHAPE[p]
    lam = lam * story * rng.gamma(k, 1.0 / k, n)
    count = rng.poisson(lam)
    sigma = TICKET_SIGMA[p]
    safe = np.maximum(count, 1)
    spread = sigma / np.sqrt(safe)
    amount = count * b.ticket * np.exp(spread * rng.standard_normal(n) - spread**2 / 2)
    return np.rint(amount * 100).astype(np.int64)


def revenue_events(em: Emitter, b: Borrower, cal: Calendar, cents: np.ndarray) -> None:
    """Emit ``revenue/1`` events: one per sale day, or one per week with sales."""
    if b.period == "day":
        days = np.flatnonzero(cents).tolist()
        amounts = cents[days].tolist()
    else:
        week = np.cumsum(cal.weekday == 0) if len(cents) else np.zeros(0, dtype=np.int64)
        sums = np.bincount(week, weights=cents.astype(float)) if len(cents) else np.zeros(0)
        ends = np.flatnonzero(cal.weekday == 6)
        days = [d for d in ends.tolist() if sums[week[d]] > 0]
        amounts = [int(sums[week[d]]) for d in days]
    em.revenues(days, amounts, b.period, b.source)
