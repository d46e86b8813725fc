"""Revenue baseline per borrower: weekday rhythm, seasons, and a change detector for drops.

Learned online from ``revenue/1`` events, one borrower at a time, in a state of
about 150 bytes. Pure: the caller passes the local day (a date ordinal) and the
amount; nothing here reads the clock.

How it works
------------
* **Days.** Amounts are summed per local day. A day is *closed* (learned from)
  once a later day is known to be complete: an event for day ``D`` closes every
  day up to ``D - 2`` (``D - 1`` stays open for late events), :func:`advance` to
  ``today`` closes every day before ``today``. A closed day without events is a
  day without a sale.
* **Baseline.** ``expected(day) = level x weekday[day] x season(day)``:
  ``level`` is an EWMA of deseasonalised daily revenue (half-life
  ``level_halflife_days``), ``weekday`` seven multiplicative EWMA factors
  (learned only for borrowers that sell on most days), ``season`` the sector
  calendar's month profile (textile: June–August low, September–November peak;
  interpolated between mid-month anchors), replaced by the borrower's own
  month-of-year profile once it has a year of history.
* **Calendar events** (Spring Festival for every sector, 618 and Double 11 for
  e-commerce) are *masked*: those days carry a calendar expectation for the
  explanation, but they neither train the baseline nor count as evidence of a
  drop or a collapse. How deep a borrower's Spring Festival dip is says little
  about its health.
* **Rhythm.** Evidence is pooled in *blocks* holding enough expected sale days
  (each day for a borrower that sells on most days; ``block_sale_days`` expected
  sale days for an intermittent seller). Zero days of an intermittent seller
  are therefore measured against its own rhythm, never one by one.
* **Drop** is a one-sided CUSUM (a Page-Hinkley test with a fading reference
  mean) on the block residuals ``log(actual / expected)``, standardised by the
  borrower's own dispersion and tuned to find a sustained drop of
  ``design_drop``. It turns on at ``drop_on`` and off only after the evidence
  has stayed under ``drop_off`` for ``drop_clear_days``: that band and span are
  the detector's own hysteresis, so revenue hovering near the threshold does
  not flip the signal daily (the alert layer may add its clear span on top).
  While evidence builds up the baseline learns slower (down to 1/8 at the
  alarm level), so a drop is not absorbed before it is flagged and an alarm
  does not teach the model that the drop is normal.
* **Volatility**: the short-run variance of block residuals against the
  long-run dispersion. **Collapse**: a steady seller's revenue under
  ``collapse_share`` of expected for ``collapse_days`` days *and*
  ``collapse_sales`` expected sale days (an intermittent seller going quiet is
  left to :mod:`detectors.dormancy`).

>>> import datetime as dt
>>> start = dt.date(2026, 3, 2).toordinal()
>>> state, policy = RevenueState(), RevenuePolicy()
>>> for d in range(60):                          # a steady shop: 1000 a day
...     sig = update(state, start + d, 1000.0, "retail", policy)
>>> sig.ready, sig.dropped, round(sig.baseline)
(True, False, 1000)
>>> for d in range(60, 66):                      # then 55% of it
...     sig = update(state, start + d, 550.0, "retail", policy)
>>> sig.dropped, sig.drop_days, round(sig.value), round(sig.baseline)
(True, 4, 853, 999)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import msgspec
from river.base import AnomalyDetector
from river.base.typing import FeatureName

__all__ = [
    "RevenuePolicy", "RevenueState", "RevenueSignals", "RevenueDetector",
    "update", "advance", "skip", "signals", "season", "calendar_event", "sector_group", "SPRING_FESTIVAL",
]

# Spring Festival (正月初一), Gregorian dates. Outside this table no Spring Festival mask applies.
SPRING_FESTIVAL: dict[int, dt.date] = {
    y: dt.date(y, m, d) for y, m, d in (
        (2016, 2, 8), (2017, 1, 28), (2018, 2, 16), (2019, 2, 5), (2020, 1, 25), (2021, 2, 12),
        (2022, 2, 1), (2023, 1, 22), (2024, 2, 10), (2025, 1, 29), (2026, 2, 17), (2027, 2, 6),
        (2028, 1, 26), (2029, 2, 13), (2030, 2, 3), (2031, 1, 23), (2032, 2, 11), (2033, 1, 31),
        (2034, 2, 19), (2035, 2, 8), (2036, 1, 28),
    )
}
_SF_ORDINALS = {d.toordinal() for d in SPRING_FESTIVAL.values()}

FLAT = (1.0,) * 12
# Month-of-year priors per calendar group (multiplicative, normalised to a geometric mean of 1).
MONTH_PRIORS: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("default", FLAT),
    # textile: orders slow in the summer off-season, peak for autumn/winter goods
    ("textile", (1.0, 0.9, 1.0, 1.05, 1.0, 0.85, 0.72, 0.78, 1.15, 1.25, 1.25, 1.05)),
    ("ecommerce", FLAT),
)
SECTOR_GROUPS: tuple[tuple[str, str], ...] = (
    ("textile", "textile"), ("textiles", "textile"), ("apparel", "textile"), ("garment", "textile"),
    ("garments", "textile"), ("clothing", "textile"), ("fabric", "textile"),
    ("ecommerce", "ecommerce"), ("e-commerce", "ecommerce"), ("e_commerce", "ecommerce"),
    ("online_retail", "ecommerce"), ("online", "ecommerce"),
)

_LN2 = math.log(2.0)
_CENT = 100.0
_R = 10_000.0  # fixed-point scale of ratios and log-residual statistics
_L = 1000.0  # fixed-point scale of log factors

# state.flags bits
_DROPPED, _VOLATILE, _COARSE = 1, 2, 4
EROSION_MONTHS = 3  # slow erosion: the level now against the level this many month-ends ago
_PERIOD_DAYS = {"day": 1, "week": 7}


def _alpha(halflife: float) -> float:
    """EWMA weight of a new observation for a half-life counted in observations."""
    return 1.0 - math.exp(-_LN2 / halflife)


@dataclass(frozen=True, slots=True)
class RevenuePolicy:
    """Parameters of the revenue detector (configuration is data: all overridable).

    The defaults are chosen for SME daily revenue in general, not for one data set:
    a month of history before any signal, a baseline that forgets in about a
    month, and a change detector tuned to a 30% sustained drop.
    """

    warmup_days: int = 28  # closed days before any signal
    level_halflife_days: float = 28.0  # in sale days: a seller with a sale every third day remembers 84 days
    slow_halflife_days: float = 120.0  # the slow level behind ``trend_ratio``
    share_halflife_days: float = 30.0  # share of days with a sale
    weekday_halflife_weeks: float = 12.0
    recent_halflife_days: float = 7.0  # value / baseline shown in explanations
    dense_share: float = 0.8  # selling on at least this share of days: each day is a block
    weekday_min_share: float = 0.5  # weekday factors are learned above this share only
    block_sale_days: float = 3.0  # otherwise a block holds this many expected sale days
    design_drop: float = 0.30  # the sustained drop the change detector is tuned to find
    drop_on: float = 6.5  # CUSUM evidence (log-likelihood ratio) that turns the drop on
    drop_off: float = 1.6  # ... and below which it turns off again,
    drop_clear_days: int = 7  # ... after staying below for this many days
    z_clip: float = 2.5  # one block's residual counts at most this many standard deviations
    dense_dispersion: float = 0.3  # prior per-day dispersion of log revenue, dense sellers
    sparse_dispersion: float = 1.2  # prior dispersion per expected sale day, intermittent sellers
    dispersion_floor: float = 0.12
    prior_blocks: int = 10  # weight of the dispersion prior, in blocks
    min_blocks: int = 8  # blocks learned (dispersion, bias) before the change detector is armed
    dispersion_blocks: int = 60  # memory of the dispersion and bias estimates, in blocks
    volatility_blocks: int = 10  # memory of the short-run volatility, in blocks
    volatility_on: float = 2.0  # short-run / long-run standard deviation
    volatility_off: float = 1.5
    volatility_min_blocks: int = 20
    collapse_share: float = 0.1  # a day under 10% of expected counts as near zero
    collapse_days: int = 5
    collapse_sales: float = 6.0  # ... and the run must have held this many expected sale days
    collapse_min_share: float = 0.6  # only a seller with a sale on most days can collapse
    max_gap_days: int = 400  # a silence longer than this restarts the baseline
    own_profile_days: int = 365  # history before the borrower's own month profile replaces the prior
    month_prior_weight: float = 0.5  # each month observed moves the own profile half-way
    month_priors: tuple[tuple[str, tuple[float, ...]], ...] = MONTH_PRIORS
    sector_groups: tuple[tuple[str, str], ...] = SECTOR_GROUPS
    _priors: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)
    _groups: dict[str, str] = field(init=False, repr=False, compare=False)
    _a_level: float = field(init=False, repr=False, compare=False)
    _a_slow: float = field(init=False, repr=False, compare=False)
    _a_share: float = field(init=False, repr=False, compare=False)
    _a_weekday: float = field(init=False, repr=False, compare=False)
    _a_recent: float = field(init=False, repr=False, compare=False)
    _delta: float = field(init=False, repr=False, compare=False)
    _drop_threshold: float = field(init=False, repr=False, compare=False)
    _group_cache: dict[str | None, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        priors = {}
        for group, factors in self.month_priors:
            if len(factors) != 12 or min(factors) <= 0:
                raise ValueError(f"month prior for {group!r} needs 12 positive factors")
            logs = [math.log(f) for f in factors]
            mean = sum(logs) / 12
            priors[group] = tuple(round((v - mean) * _L) for v in logs)
        priors.setdefault("default", (0,) * 12)
        object.__setattr__(self, "_priors", priors)
        object.__setattr__(self, "_groups", dict(self.sector_groups))
        for name, halflife in (("_a_level", self.level_halflife_days), ("_a_slow", self.slow_halflife_days),
                               ("_a_share", self.share_halflife_days), ("_a_weekday", self.weekday_halflife_weeks),
                               ("_a_recent", self.recent_halflife_days)):
            object.__setattr__(self, name, _alpha(halflife))
        object.__setattr__(self, "_delta", -math.log(1.0 - self.design_drop))
        object.__setattr__(self, "_drop_threshold", math.exp(-self._delta / 2))
        object.__setattr__(self, "_group_cache", {})

    @property
    def delta(self) -> float:
        """The designed drop in log terms."""
        return self._delta


DEFAULT_POLICY = RevenuePolicy()


class RevenueState(msgspec.Struct, array_like=True, omit_defaults=True):
    """Per-borrower revenue state; fixed-point integers keep it near 150 bytes in msgpack.

    Money is in cents, ratios and log statistics in 1/10,000, log factors in 1/1,000.
    """

    open_day: int = 0  # oldest day not yet closed (0: no event yet)
    open0: int = 0  # cents booked on open_day
    open1: int = 0  # cents booked on open_day + 1
    days: int = 0  # closed days of history
    level: int = 0  # deseasonalised expected daily revenue, cents
    slow: int = 0  # slow EWMA of the same, cents
    share: int = 0  # share of days with a sale, 1/10,000
    rec_act: int = 0  # recent daily revenue (EWMA), cents
    rec_exp: int = 0  # recent expected daily revenue (EWMA), cents
    cusum: int = 0  # drop evidence, 1/10,000
    drop_since: int = 0  # day the current run of drop evidence began
    run_act: int = 0  # cents of revenue since drop_since (while there is evidence)
    run_exp: int = 0  # cents expected since drop_since
    low_run: int = 0  # consecutive (unmasked) days near zero
    low_share: int = 0  # share of sale days when that run began, 1/10,000
    block_act: int = 0  # cents
    block_exp: int = 0  # cents
    block_n: int = 0  # expected sale days in the open block, 1/10,000
    blocks: int = 0  # blocks evaluated
    disp: int = 0  # dispersion^2 of standardised block residuals, 1/10,000 (0: prior)
    bias: int = 0  # mean block log-residual, 1/10,000
    vol_mean: int = 0  # short-run mean of block residuals, 1/10,000
    vol_var: int = 0  # short-run variance (per expected sale day), 1/10,000
    month_act: int = 0  # cents, current month, unmasked days
    month_exp: int = 0  # cents, current month, expectation without the month factor
    flags: int = 0
    clear_days: int = 0  # days the drop evidence has stayed under drop_off while dropped
    last_block: int = 0  # day the last block closed
    weekday: list[int] = []  # 7 log factors, 1/1,000 (empty: flat)
    months: list[int] = []  # the borrower's own 12 log month factors, 1/1,000 (empty: none yet)
    past: list[int] = []  # log of the level (cents) at the last EROSION_MONTHS month-ends, oldest first, 1/1,000


@dataclass(frozen=True, slots=True)
class RevenueSignals:
    """What the revenue detector says after the last closed day; values come with their thresholds.

    ``value``/``baseline`` are recent (``recent_halflife_days``) actual and expected
    daily revenue, so an alert can say "8,000 a day against 13,000 expected";
    ``drop_value``/``drop_baseline`` are the same since the drop evidence began
    (``drop_days`` ago), which is what ``dropped`` is about.
    """

    day: int  # last closed day (ordinal); 0 when none
    ready: bool  # warm-up done: the other fields mean something
    value: float
    baseline: float
    drop_value: float  # daily revenue since the evidence run began (value when there is none)
    drop_baseline: float  # daily expected revenue over the same days
    drop_ratio: float  # drop_value / drop_baseline: what the drop signal is about
    drop_threshold: float  # evidence of a drop accumulates below this ratio
    drop_score: float  # evidence / drop_on; the drop turns on at 1.0
    dropped: bool
    drop_days: int  # days since the evidence run that raised the drop began (0: not dropped)
    volatility_ratio: float  # short-run / long-run dispersion of the residuals
    volatility_threshold: float
    volatile: bool
    collapsed: bool
    low_days: int  # consecutive days near zero
    collapse_days: int  # days near zero that make a collapse at this rhythm (0: an intermittent seller cannot collapse)
    trend_ratio: float  # level / slow level: slow erosion the drop detector absorbs
    erosion: float  # 1 - recent revenue (deseasonalised) / the level EROSION_MONTHS month-ends ago (0: unknown)
    level_erosion: float  # 1 - the level now / the level EROSION_MONTHS month-ends ago (0: unknown or grown)
    season: float  # seasonal factor of the day (month profile x calendar event), 1 = neutral
    sale_share: float  # share of days with a sale


# --------------------------------------------------------------------------- calendar


def sector_group(sector: str | None, policy: RevenuePolicy = DEFAULT_POLICY) -> str:
    """The calendar group of a sector code.

    >>> sector_group("Textile"), sector_group("e-commerce"), sector_group(None)
    ('textile', 'ecommerce', 'default')
    """
    cache = policy._group_cache
    group = cache.get(sector)
    if group is None:
        key = sector.strip().lower() if sector else "default"
        group = policy._groups.get(key, key)
        group = group if group in policy._priors else "default"
        if len(cache) < 1024:
            cache[sector] = group
    return group


@lru_cache(maxsize=8192)
def calendar_event(day: int, group: str) -> float | None:
    """The expected revenue factor on a calendar-event day, or ``None`` on an ordinary day.

    Spring Festival (every group): ramp-down the week before, shut the week of,
    slow restart until the Lantern Festival. National Day's Golden Week
    (October 1–7, every group): workshops and offices close, shops and
    restaurants may have their best week; the factor is a middle guess, the
    masking is what matters. E-commerce: 618 (June 1–20) and Double 11
    (November 1–15). These days are masked from learning.

    >>> sf = dt.date(2026, 2, 17).toordinal()
    >>> calendar_event(sf, "default"), calendar_event(sf + 30, "default")
    (0.35, None)
    >>> calendar_event(dt.date(2026, 11, 11).toordinal(), "ecommerce")
    3.0
    >>> calendar_event(dt.date(2026, 10, 3).toordinal(), "textile"), calendar_event(dt.date(2026, 10, 8).toordinal(), "textile")
    (0.6, None)
    >>> calendar_event(dt.date(2026, 11, 11).toordinal(), "textile") is None
    True
    """
    for offset in range(-10, 16):
        if day - offset in _SF_ORDINALS:
            if offset < -3:
                return 0.8
            if offset <= 6:
                return 0.35
            return 0.7
    d = dt.date.fromordinal(day)
    if d.month == 10 and d.day <= 7:
        return 0.6
    if group == "ecommerce":
        if d.month == 6 and d.day <= 20:
            return 2.5 if d.day == 18 else (1.3 if d.day < 18 else 0.9)
        if d.month == 11 and d.day <= 15:
            return 3.0 if d.day == 11 else (1.3 if d.day < 11 else 0.9)
    return None


@lru_cache(maxsize=65536)
def _month_position(day: int) -> tuple[int, int, float]:
    """(month index, neighbour month index, weight of the neighbour) for mid-month interpolation."""
    d = dt.date.fromordinal(day)
    m = d.month - 1
    nxt = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    length = (nxt - d.replace(day=1)).days
    pos = (d.day - 0.5) / length - 0.5  # -0.5 .. 0.5 around the middle of the month
    if pos >= 0:
        return m, (m + 1) % 12, pos
    return m, (m - 1) % 12, -pos


@lru_cache(maxsize=65536)
def _month_first(day: int) -> int:
    """The ordinal of the first day of ``day``'s month."""
    return dt.date.fromordinal(day).replace(day=1).toordinal()


def _month_log(day: int, profile: list[int] | tuple[int, ...]) -> float:
    m, n, w = _month_position(day)
    return ((1.0 - w) * profile[m] + w * profile[n]) / _L


def season(day: int, sector: str | None, state: RevenueState | None = None,
           policy: RevenuePolicy = DEFAULT_POLICY) -> float:
    """The seasonal factor of ``day``: month profile x calendar event (1.0 = an average day).

    The sector's prior month profile applies until the borrower has
    ``own_profile_days`` of history; then its own learned profile does.

    >>> jul, oct = dt.date(2026, 7, 15).toordinal(), dt.date(2026, 10, 20).toordinal()
    >>> season(jul, "textile") < 0.8 < 1.2 < season(oct, "textile")
    True
    >>> round(season(jul, "bakery"), 6)
    1.0
    """
    return _season(day, sector_group(sector, policy), state, policy)


def month_factor(day: int, sector: str | None, state: RevenueState | None = None,
                 policy: RevenuePolicy = DEFAULT_POLICY) -> float:
    """The month profile alone at ``day`` (no calendar events): the slow seasons of the trade.

    >>> oct = dt.date(2026, 10, 15).toordinal()
    >>> round(month_factor(oct, "textile"), 2)  # the prior says 1.25; centring the log profile makes it 1.26
    1.26
    """
    profile = _profile(state, sector_group(sector, policy), policy)
    return math.exp(_month_log(day, profile)) if any(profile) else 1.0  # a flat profile: no season


def _season(day: int, group: str, state: RevenueState | None, policy: RevenuePolicy) -> float:
    return math.exp(_month_log(day, _profile(state, group, policy))) * (calendar_event(day, group) or 1.0)


def _profile(state: RevenueState | None, group: str, policy: RevenuePolicy) -> list[int] | tuple[int, ...]:
    if state is not None and state.months and state.days >= policy.own_profile_days:
        return state.months
    return policy._priors[group]


# --------------------------------------------------------------------------- update


def update(state: RevenueState, day: int, amount: float, sector: str | None,
           policy: RevenuePolicy = DEFAULT_POLICY, *, period: str = "day") -> RevenueSignals:
    """Book one ``revenue/1`` event (in place) and return the signals.

    ``day`` is the local day ordinal of the period's end, ``amount`` the sales of
    the period. ``period="week"`` or ``"month"`` events are normalised to a daily
    rate and evaluated one event at a time (such a borrower's days are not
    closed by :func:`advance`). Events for a day already closed are added to the
    oldest open day.

    >>> s = RevenueState()
    >>> sig = update(s, 739000, 120.0, None)
    >>> sig.ready, s.open_day == 739000
    (False, True)
    >>> sig = update(s, 739003, 80.0, None)        # closes 739000 and the empty 739001
    >>> s.days, s.open_day
    (2, 739002)
    """
    x = max(float(amount), 0.0)
    group = sector_group(sector, policy)
    span = _PERIOD_DAYS.get(period)
    if span is None or span > 1 or state.flags & _COARSE:
        return _coarse(state, day, x, span or _month_span(day), group, policy)
    if state.open_day == 0 or day - state.open_day > policy.max_gap_days:
        _restart(state, day)
    _close_through(state, day - 2, group, policy)
    cents = round(x * _CENT)
    if day <= state.open_day:
        state.open0 += cents
    else:
        state.open1 += cents
    return _signals(state, state.open_day - 1, group, policy)


def advance(state: RevenueState, today: int, sector: str | None,
            policy: RevenuePolicy = DEFAULT_POLICY) -> RevenueSignals:
    """Time has reached the start of local day ``today``: close every earlier day.

    Days without an event count as days without a sale. Call it from the day
    timer (and hold the resulting signals back, like dormancy warnings, while
    the borrower's source is in a pipeline outage).

    >>> s = RevenueState()
    >>> _ = update(s, 739000, 50.0, None)
    >>> advance(s, 739010, None).day, s.days
    (739009, 10)
    """
    group = sector_group(sector, policy)
    if state.open_day and not state.flags & _COARSE:
        if today - state.open_day > policy.max_gap_days:
            _restart(state, today)
        else:
            _close_through(state, today - 1, group, policy)
    return _signals(state, state.open_day - 1 if state.open_day else 0, group, policy)


def skip(state: RevenueState, first: int, last: int, sector: str | None,
         policy: RevenuePolicy = DEFAULT_POLICY) -> None:
    """Days ``first`` .. ``last`` carried no news of sales (the source's pipeline was down): close the
    days before them as usual and leave these out, rather than learn them as days without a sale.

    >>> s = RevenueState()
    >>> for d in range(739000, 739030):
    ...     _ = update(s, d, 100.0, None)
    >>> skip(s, 739030, 739041, None)
    >>> sig = update(s, 739042, 100.0, None)
    >>> s.open_day, s.days, sig.dropped
    (739042, 30, False)
    """
    if not state.open_day or state.flags & _COARSE or last < state.open_day:
        return
    _close_through(state, first - 1, sector_group(sector, policy), policy)
    if state.open_day <= last:
        state.open_day, state.open0, state.open1 = last + 1, 0, 0


def signals(state: RevenueState, day: int, sector: str | None,
            policy: RevenuePolicy = DEFAULT_POLICY) -> RevenueSignals:
    """The signals as of the last closed ``day``, without changing the state.

    >>> signals(RevenueState(), 0, None).ready
    False
    """
    return _signals(state, day, sector_group(sector, policy), policy)


def _signals(state: RevenueState, day: int, group: str, policy: RevenuePolicy) -> RevenueSignals:
    p = state.share / _R
    ready = state.days >= policy.warmup_days and state.level > 0
    value, baseline = state.rec_act / _CENT, state.rec_exp / _CENT
    s2 = _dispersion(state, policy)
    vol = math.sqrt(state.vol_var / _R / s2) if state.blocks else 1.0
    dropped = bool(state.flags & _DROPPED)
    need = _collapse_days(state, policy)
    run_days = day - state.drop_since + 1 if state.cusum and state.drop_since else 0
    if run_days > 0 and state.run_exp > 0:
        drop_value, drop_baseline = state.run_act / _CENT / run_days, state.run_exp / _CENT / run_days
    else:
        drop_value, drop_baseline = value, baseline
    known = ready and len(state.past) == EROSION_MONTHS
    level_change = math.exp(math.log(state.level) - state.past[0] / _L) if known else 1.0
    return RevenueSignals(
        day=day,
        ready=ready,
        value=value,
        baseline=baseline,
        drop_value=drop_value,
        drop_baseline=drop_baseline,
        drop_ratio=drop_value / drop_baseline if drop_baseline > 0 else 1.0,
        drop_threshold=policy._drop_threshold,
        drop_score=state.cusum / _R / policy.drop_on,
        dropped=dropped and ready,
        drop_days=day - state.drop_since + 1 if dropped and state.drop_since else 0,
        volatility_ratio=vol,
        volatility_threshold=policy.volatility_on,
        # a level shift inflates the short-run variance too: volatility is only reported without one
        volatile=bool(state.flags & _VOLATILE) and ready and not dropped and not (need and state.low_run >= need),
        collapsed=ready and need > 0 and state.low_run >= need,
        low_days=state.low_run,
        collapse_days=need,
        trend_ratio=state.level / state.slow if state.slow > 0 else 1.0,
        erosion=max(0.0, 1.0 - (value / baseline if baseline > 0 else 1.0) * level_change) if known else 0.0,
        level_erosion=max(0.0, 1.0 - level_change) if known else 0.0,
        season=_season(day, group, state, policy) if day > 0 else 1.0,
        sale_share=p,
    )


# --------------------------------------------------------------------------- internals


def _month_span(day: int) -> int:
    """Days in the month that ends on ``day``."""
    d = dt.date.fromordinal(day)
    first = d.replace(day=1)
    if d.day >= 28:
        return d.day
    return (first - (first - dt.timedelta(days=1)).replace(day=1)).days


def _restart(state: RevenueState, day: int) -> None:
    fresh = RevenueState(open_day=day)
    for name in state.__struct_fields__:
        setattr(state, name, getattr(fresh, name))


def _close_through(state: RevenueState, last: int, group: str, policy: RevenuePolicy) -> None:
    while state.open_day <= last:
        _close_day(state, state.open_day, state.open0 / _CENT, group, policy)
        state.open0, state.open1 = state.open1, 0
        state.open_day += 1


def _dispersion(state: RevenueState, policy: RevenuePolicy) -> float:
    if state.disp:
        return max(state.disp / _R, policy.dispersion_floor ** 2)
    prior = policy.dense_dispersion if state.share / _R >= policy.dense_share else policy.sparse_dispersion
    return prior ** 2


def _collapse_days(state: RevenueState, policy: RevenuePolicy) -> int:
    """Days near zero that make a collapse, from the share of sale days *before* the run began.

    Only a steady seller (``collapse_min_share``) can collapse; an intermittent
    one going quiet is the dormancy detector's business. 0: cannot collapse.
    """
    p = (state.low_share if state.low_run else state.share) / _R
    if p < policy.collapse_min_share:
        return 0
    return max(policy.collapse_days, math.ceil(policy.collapse_sales / p))


def _ewma(old: float, new: float, alpha: float) -> float:
    return old + alpha * (new - old)


def _close_day(state: RevenueState, day: int, a: float, group: str, policy: RevenuePolicy) -> None:
    """Learn from one complete day with revenue ``a``."""
    state.days += 1
    n = state.days
    p_before = state.share / _R
    p = _ewma(state.share / _R, 1.0 if a > 0 else 0.0, max(1.0 / n, policy._a_share))
    state.share = round(p * _R)
    event = calendar_event(day, group)
    month_f = math.exp(_month_log(day, _profile(state, group, policy)))
    wd = state.weekday
    wd_f = math.exp(wd[day % 7] / _L) if wd else 1.0
    level = state.level / _CENT
    expected_base = level * wd_f * (event or 1.0)  # without the month factor
    expected = expected_base * month_f
    # the explanation's recent value/baseline, every day
    a_rec = policy._a_recent if n > policy.warmup_days else 1.0 / n
    state.rec_act = round(_ewma(state.rec_act / _CENT, a, a_rec) * _CENT)
    state.rec_exp = round(_ewma(state.rec_exp / _CENT, expected if level > 0 else a, a_rec) * _CENT)
    ready = n > policy.warmup_days and level > 0
    # learning slows while drop evidence builds up; using the evidence *before* this day keeps
    # the baseline unbiased (the slowdown does not depend on the day it is applied to)
    damp = max(0.125, 1.0 - state.cusum / _R / policy.drop_on)
    if ready:
        # the own month profile is learned against the slow level, which a season's swing moves less
        slow_base = state.slow / _CENT * wd_f * (event or 1.0)
        _month_roll(state, day, a, slow_base, event is not None, group, policy)
    if event is not None:
        return  # calendar events: no learning, no evidence
    if ready and wd_f >= 0.2:
        # collapse: days near zero, skipping weekdays the borrower is normally closed
        if a < policy.collapse_share * expected:
            if not state.low_run:
                state.low_share = round(p_before * _R)
            state.low_run += 1
        else:
            state.low_run = 0
    if level > 0 and n > policy.warmup_days // 2:  # blocks start half-way through the warm-up
        state.block_act += round(a * _CENT)
        state.block_exp += round(expected * _CENT)
        state.block_n += round(max(p, 0.02) * _R)
        if p >= policy.dense_share or state.block_n >= policy.block_sale_days * _R:
            big_a, big_e, big_n = state.block_act / _CENT, state.block_exp / _CENT, state.block_n / _R
            state.block_act = state.block_exp = state.block_n = 0
            _block(state, day, big_a, big_e, big_n, policy, armed=ready and state.blocks >= policy.min_blocks)
    # the baseline
    deseason = a / (wd_f * month_f)
    if ready:
        deseason = min(deseason, level * max(4.0, 3.0 / max(p, 0.05)))
    # the baseline averages about level_halflife_days *sale* days: longer in calendar days for a sparse seller
    a_level = policy._a_level if p >= 0.9 else _alpha(policy.level_halflife_days / max(p, 0.1))
    alpha = max(1.0 / n, a_level) * damp if level > 0 else 1.0
    state.level = round(_ewma(level, deseason, alpha) * _CENT)
    slow = state.slow / _CENT
    state.slow = round(_ewma(slow, deseason, max(1.0 / n, policy._a_slow) if slow > 0 else 1.0) * _CENT)
    if p >= policy.weekday_min_share and level > 0:
        _learn_weekday(state, day, a / (level * month_f), max(p, 0.05), policy)


def _learn_weekday(state: RevenueState, day: int, ratio: float, p: float, policy: RevenuePolicy) -> None:
    k = day % 7
    if not state.weekday:
        state.weekday = [0] * 7
    old = math.exp(state.weekday[k] / _L)
    alpha = max(1.0 / (state.days // 7 + 1), policy._a_weekday)
    state.weekday[k] = round(math.log(max(_ewma(old, min(ratio, 4.0 / p), alpha), 0.02)) * _L)
    if k == 6:  # renormalise once a week: the factors average 1
        factors = [math.exp(v / _L) for v in state.weekday]
        mean = sum(factors) / 7
        state.weekday = [round(math.log(max(f / mean, 0.02)) * _L) for f in factors]


def _month_roll(state: RevenueState, day: int, a: float, expected_base: float, masked: bool, group: str,
                policy: RevenuePolicy) -> None:
    """Accumulate the month; on its first day, learn the finished month into the own profile."""
    m, _, w = _month_position(day)
    if w > 0.45 and day == _month_first(day):
        act, exp_ = state.month_act / _CENT, state.month_exp / _CENT
        # learn only from a month with at least ~10 ordinary days
        if exp_ > 0 and exp_ >= 10 * state.slow / _CENT:
            prev = (m - 1) % 12
            obs = max(min(math.log((act + 0.1 * exp_) / (1.1 * exp_)), 1.5), -1.5)
            months = list(state.months) if state.months else list(policy._priors[group])
            w = policy.month_prior_weight  # each year moves the profile part of the way
            months[prev] = round((1 - w) * months[prev] + w * obs * _L)
            mean = sum(months) / 12
            state.months = [round(v - mean) for v in months]
        state.past = [*state.past, round(math.log(max(state.level, 1)) * _L)][-EROSION_MONTHS:]
        state.month_act = state.month_exp = 0
    if not masked:
        state.month_act += round(a * _CENT)
        state.month_exp += round(expected_base * _CENT)


def _block(state: RevenueState, day: int, big_a: float, big_e: float, n: float, policy: RevenuePolicy,
           armed: bool = True) -> None:
    """One block of pooled evidence: ``big_a`` actual against ``big_e`` expected, ``n`` expected sale days.

    Before ``armed`` (the second half of the warm-up) it only learns the dispersion and bias.
    """
    if big_e <= 0 or n <= 0:
        return
    c = 0.1 * big_e  # keeps log() finite on an empty block (whose residual is then clipped)
    raw = math.log((big_a + c) / (big_e + c))
    s2 = _dispersion(state, policy)
    bound = policy.z_clip * math.sqrt(s2 / n)
    r = max(min(raw - state.bias / _R, bound), -bound)
    delta = policy._delta
    before = state.cusum / _R
    g = min(max(before + n * delta / s2 * (-r - delta / 2), 0.0), 2.0 * policy.drop_on) if armed else 0.0
    state.cusum = round(g * _R)
    if g == 0.0:
        state.run_act = state.run_exp = 0
    else:
        if before == 0.0:
            state.drop_since = day
            state.run_act = state.run_exp = 0
        state.run_act += round(big_a * _CENT)
        state.run_exp += round(big_e * _CENT)
    if g >= policy.drop_on:
        state.flags |= _DROPPED
        state.clear_days = 0
    elif state.flags & _DROPPED:
        # hysteresis: the drop clears once the evidence has stayed under drop_off for drop_clear_days
        state.clear_days = state.clear_days + (day - state.last_block if state.last_block else 1) \
            if g <= policy.drop_off else 0
        if state.clear_days >= policy.drop_clear_days:
            state.flags &= ~_DROPPED
            state.clear_days = 0
    state.last_block = day
    state.blocks += 1
    k = state.blocks
    # short-run volatility against the long-run dispersion
    av = max(1.0 / k, 1.0 / policy.volatility_blocks)
    vm = _ewma(state.vol_mean / _R, r, av)
    wide = 1.5 * bound  # one wild block alone cannot make the volatility signal
    dev = max(min(raw - state.bias / _R - vm, wide), -wide)
    state.vol_mean = round(vm * _R)
    state.vol_var = round(_ewma(state.vol_var / _R, n * dev * dev, av) * _R)
    ratio = math.sqrt(state.vol_var / _R / s2)
    if k >= policy.volatility_min_blocks and ratio >= policy.volatility_on:
        state.flags |= _VOLATILE
    elif ratio <= policy.volatility_off:
        state.flags &= ~_VOLATILE
    if state.flags & (_DROPPED | _VOLATILE):
        return  # alarms do not train the dispersion or the bias
    ad = max(1.0 / (k + policy.prior_blocks), 1.0 / policy.dispersion_blocks)
    if not state.disp:
        state.disp = round(s2 * _R)
    state.disp = max(round(_ewma(state.disp / _R, n * r * r, ad) * _R), 1)
    state.bias = round((state.bias / _R + ad * r) * _R)


def _coarse(state: RevenueState, day: int, x: float, span: int, group: str,
            policy: RevenuePolicy) -> RevenueSignals:
    """A weekly or monthly total (or any event once the feed is coarse): one observation over ``span`` days."""
    if not state.flags & _COARSE:
        _restart(state, day)
        state.flags = _COARSE
    rate = x / span
    month_f = math.exp(_month_log(day - span // 2, _profile(state, group, policy)))
    level = state.level / _CENT
    state.days += span
    n = state.days
    state.share = round(_R)
    state.open_day = day + 1
    expected = level * month_f
    a_rec = min(1.0, span * policy._a_recent) if n > policy.warmup_days else min(1.0, span / n)
    state.rec_act = round(_ewma(state.rec_act / _CENT, rate, a_rec) * _CENT)
    state.rec_exp = round(_ewma(state.rec_exp / _CENT, expected, a_rec) * _CENT)
    damp = max(0.125, 1.0 - state.cusum / _R / policy.drop_on)
    if n > policy.warmup_days + span and level > 0:
        _block(state, day, x, expected * span, float(span), policy)
    alpha = max(min(1.0, span / n), min(1.0, span * policy._a_level)) * damp
    state.level = round(_ewma(level, rate / month_f, alpha) * _CENT)
    slow_alpha = max(min(1.0, span / n), min(1.0, span * policy._a_slow))
    state.slow = round(_ewma(state.slow / _CENT, rate / month_f, slow_alpha) * _CENT)
    return _signals(state, day, group, policy)


# --------------------------------------------------------------------------- river protocol


class RevenueDetector(AnomalyDetector):
    """The revenue detector behind river's anomaly-detector protocol (one borrower).

    ``x`` holds ``day`` (a day ordinal; default: the day after the last one) and
    ``amount`` (default 0). ``score_one`` is the drop evidence (``drop_score``)
    the observation would leave, plus 1 for a collapse; it does not learn.

    Parameters
    ----------
    sector
        The borrower's sector code (chooses the seasonal calendar).
    design_drop
        The sustained drop the change detector is tuned to find.

    Examples
    --------

    >>> det = RevenueDetector(sector="retail")
    >>> for d in range(60):
    ...     det.learn_one({"day": 739000 + d, "amount": 1000.0})
    >>> det.score_one({"day": 739060, "amount": 1000.0}) < 0.2
    True
    >>> for d in range(60, 68):
    ...     det.learn_one({"day": 739000 + d, "amount": 500.0})
    >>> det.score_one({"day": 739068, "amount": 500.0}) >= 1.0
    True
    """

    def __init__(self, sector: str = "default", design_drop: float = 0.30):
        self.sector = sector
        self.design_drop = design_drop
        self.policy = RevenuePolicy(design_drop=min(max(design_drop, 0.01), 0.95))
        self.state = RevenueState()

    def _day(self, x: Mapping[FeatureName, Any]) -> int:
        if "day" in x:
            return int(x["day"])
        return (self.state.open_day + 1) if self.state.open_day else 1

    def learn_one(self, x: dict[FeatureName, Any]) -> None:
        update(self.state, self._day(x), float(x.get("amount", 0.0)), self.sector, self.policy)

    def score_one(self, x: dict[FeatureName, Any]) -> float:
        trial = msgspec.msgpack.decode(msgspec.msgpack.encode(self.state), type=RevenueState)
        day = self._day(x)
        update(trial, day, float(x.get("amount", 0.0)), self.sector, self.policy)
        sig = advance(trial, day + 1, self.sector, self.policy)
        return sig.drop_score + (1.0 if sig.collapsed else 0.0)
