"""Silent feeds: a borrower whose events stop, measured against its own rhythm.

Per borrower and feed (revenue, account movements, ...) the state keeps the
last day with an event and an EWMA of the gaps between event days with its mean
absolute deviation, about 15 bytes. A borrower is *silent* when the days since
its last event exceed a threshold made of three parts:

* **missed reports**: ``multiple`` (2.5) typical gaps, but for a slow reporter
  no more than ``cap_days`` (20) or ``cap_multiple`` (1.5) typical gaps: a
  weekly reporter is silent after 17.5 days, a monthly one after 45;
* **a rare silence**: gaps are read as a fixed part plus an exponential part
  whose size the mean deviation gives (``e/2`` x the deviation: exact for
  exponential gaps), and the borrower is silent when a quiet spell this long
  would come, under its own rhythm, less than once in ``rare_years`` (10)
  years: a seller with a sale every 2 days at random after about 15 days, one
  with a sale a week at random after about six weeks;
* **never sooner** than ``floor_days`` (7): a daily seller is silent after a
  quiet week.

A borrower whose rhythm is not known yet (fewer than ``new_gaps`` (5) gaps
seen) is measured against a prior rhythm (``prior_gap``, blended away as gaps
are observed) and is silent after ``cap_days`` (20) quiet days at the latest,
whatever its first gaps were: among real marketplace sellers (Olist), a new
seller quiet for three weeks sold nothing in the following month more often
than not, and new sellers are most of those that stop for good.

Public holidays (Spring Festival and National Day's Golden Week, the windows
of :func:`detectors.revenue.calendar_event` every sector shares) do not count:
their days are not silence, gaps are
learnt in ordinary days, and the reported ``threshold`` is lengthened by the
festival days the silence spans, so ``days_silent > threshold`` stays the test
and the feed still turns silent on day ``last_day + floor(threshold) + 1``.

The state only changes when an event is noted, so the check is a pure function
of ``(state, today)``: the same in live mode (the wall clock's day) and in
replay (event time).

When many borrowers of one source go quiet together, that is a pipeline
problem rather than many borrowers in trouble: the partition's feed board
(:mod:`detectors.outage`, judged in :mod:`streams.core.feeds`) finds those
days, and ``silent_since(..., excused=)`` does not count them as the
borrower's silence.

>>> state, policy = DormancyState(), DormancyPolicy()
>>> for day in range(739000, 739030):           # a daily seller (April-May 2024)
...     note_event(state, day, policy)
>>> silent_since(state, 739036, policy)
Silence(is_silent=False, days_silent=7, typical_gap=1.39, threshold=7.0)
>>> silent_since(state, 739037, policy).is_silent
True
>>> sf = DormancyState()                         # a daily seller in 2026, last sale on 02-06
>>> for day in range(739617, 739654):
...     note_event(sf, day, policy)
>>> silent_since(sf, 739654 + 19, policy)        # 20 quiet days, all in the festival window (02-07 .. 03-04)
Silence(is_silent=False, days_silent=20, typical_gap=1.32, threshold=33.0)
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec
from river.base import AnomalyDetector
from river.base.typing import FeatureName

from detectors.revenue import SPRING_FESTIVAL, calendar_event

__all__ = [
    "DormancyPolicy", "DormancyState", "Silence", "DormancyDetector",
    "note_event", "silent_since", "PERIOD_DAYS",
]

_S = 100  # fixed point: gaps in 1/100 day
_EXP_SCALE = math.e / 2  # scale of an exponential gap per unit of its mean absolute deviation


@dataclass(frozen=True, slots=True)
class DormancyPolicy:
    """Parameters of the silent-feed detector.

    The defaults are general, not fitted to one data set: a regular reporter is
    silent after two and a half missed reports (a monthly one after 1.5
    months), an irregular one when its quiet spell would come less than once in
    ten years of its own rhythm, never sooner than a week; a new borrower is
    assumed to report about weekly and is silent after three quiet weeks at the
    latest until five gaps have been seen.
    """

    multiple: float = 2.5  # a regular reporter is silent after this many typical gaps (missed reports) ...
    cap_days: float = 20.0  # ... or this many quiet days if fewer (and a new borrower at the latest), ...
    cap_multiple: float = 1.5  # ... unless 1.5 typical gaps are longer (a monthly reporter)
    rare_years: float = 10.0  # an irregular one when a quiet spell this long comes less than once in this many years
    floor_days: float = 7.0  # never silent sooner
    new_gaps: int = 5  # until this many gaps are seen: silent after cap_days at the latest
    prior_gap: float = 7.0  # the rhythm assumed before the borrower's own is known
    prior_weight: float = 2.0  # weight of the prior, in observed gaps
    alpha: float = 0.15  # EWMA weight of a new gap
    holidays: bool = True  # public-holiday days (Spring Festival, National Day) are not silence


DEFAULT_POLICY = DormancyPolicy()


class DormancyState(msgspec.Struct, array_like=True, omit_defaults=True):
    """Per-borrower, per-feed rhythm: last event day and gap statistics (1/100 day, festival days left out)."""

    last_day: int = 0  # day ordinal of the latest event (0: none yet)
    gap: int = 0  # EWMA of gaps between event days, 1/100 day
    dev: int = 0  # EWMA of |gap - mean|, 1/100 day
    gaps: int = 0  # gaps observed (saturates at 255)
    period: int = 0  # the reporting period the feed declares, in days (0: daily)


PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}  # a declared reporting period (revenue/1 ``period``), in days


class Silence(NamedTuple):
    """The answer of :func:`silent_since`."""

    is_silent: bool
    days_silent: int  # days since the last event day
    typical_gap: float  # the borrower's typical gap between event days (prior-blended)
    threshold: float  # days of silence that make it silent (festival days included)


def _festival_windows() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(first days, last days) of the public-holiday windows every sector shares in the revenue calendar
    (Spring Festival, National Day), over the years the calendar knows."""
    runs: list[tuple[int, int]] = []
    years = sorted(SPRING_FESTIVAL)
    for day in range(dt.date(years[0], 1, 1).toordinal(), dt.date(years[-1], 12, 31).toordinal() + 1):
        if calendar_event(day, "default") is None:
            continue
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return tuple(r[0] for r in runs), tuple(r[1] for r in runs)


_FESTIVAL_FIRST, _FESTIVAL_LAST = _festival_windows()


def _festival_days(a: int, b: int) -> int:
    """Public-holiday days in ``(a, b]``."""
    n = 0
    i = bisect.bisect_right(_FESTIVAL_LAST, a)  # the first window ending after a
    while i < len(_FESTIVAL_FIRST) and _FESTIVAL_FIRST[i] <= b:
        n += min(b, _FESTIVAL_LAST[i]) - max(a + 1, _FESTIVAL_FIRST[i]) + 1
        i += 1
    return n


def _quiet_days(a: int, b: int, policy: DormancyPolicy) -> int:
    """Days in ``(a, b]`` that count as silence."""
    return b - a - (_festival_days(a, b) if policy.holidays else 0)


def note_event(state: DormancyState, day: int, policy: DormancyPolicy = DEFAULT_POLICY, *,
               period: str = "day") -> None:
    """An event of this feed happened on local day ``day`` (in place).

    Several events on one day count once; a late event for an earlier day
    changes nothing. A gap is learnt in days that count (public-holiday days
    left out); a gap wholly inside the festival teaches nothing. ``period``:
    the reporting period the event declares (``day``, ``week``, ``month``):
    until the borrower's own rhythm is known it is the prior rhythm, and a
    borrower is never silent sooner than one period (a monthly VAT filer is
    not silent after three quiet weeks).

    >>> s = DormancyState()
    >>> for day in (10, 10, 15, 21, 19):
    ...     note_event(s, day)
    >>> s.last_day, s.gaps, s.gap / 100
    (21, 2, 5.5)
    """
    span = PERIOD_DAYS.get(period, 1)
    state.period = span if span > 1 else 0
    if day <= state.last_day:
        return
    if state.last_day:
        gap = float(_quiet_days(state.last_day, day, policy))
        if gap <= 0:
            state.last_day = day
            return
        if state.gaps:
            mean, dev = state.gap / _S, state.dev / _S
            # one long holiday should not redefine the rhythm: winsorise at the current threshold x 1.5
            gap = min(gap, 1.5 * _threshold(state, policy)[1])
            a = max(policy.alpha, 1.0 / (state.gaps + 1))
            dev += a * (abs(gap - mean) - dev)
            mean += a * (gap - mean)
        else:
            mean, dev = gap, 0.0
        state.gap, state.dev = round(mean * _S), round(dev * _S)
        state.gaps = min(state.gaps + 1, 255)
    state.last_day = day


def _threshold(state: DormancyState, policy: DormancyPolicy) -> tuple[float, float]:
    """(typical gap, threshold in days that count) with the prior blended in for short histories."""
    w = state.gaps / (state.gaps + policy.prior_weight)
    prior = max(policy.prior_gap, state.period)
    typical = w * state.gap / _S + (1 - w) * prior
    dev = w * state.dev / _S + (1 - w) * prior / 2
    missed = min(policy.multiple * typical, max(policy.cap_days, policy.cap_multiple * typical))
    # gap = fixed part + exponential(scale): P(gap > d) = p at d = typical + scale x (ln(1/p) - 1)
    p = min(0.5, typical / (365.0 * policy.rare_years))  # once in rare_years years of gaps this size
    rare = typical + _EXP_SCALE * dev * (math.log(1.0 / p) - 1.0)
    threshold = max(missed, rare)
    if state.gaps < policy.new_gaps:
        threshold = min(threshold, max(policy.cap_days, policy.cap_multiple * state.period))
    return typical, max(threshold, policy.floor_days, state.period)


def _with_festival(state: DormancyState, threshold: float, policy: DormancyPolicy) -> float:
    """The threshold in calendar days after ``last_day``: lengthened by the festival days the silence spans."""
    if not policy.holidays:
        return threshold
    need = math.floor(threshold) + 1  # the first silent day is the need-th day that counts
    end = state.last_day + need
    while True:  # the least end with `need` days that count in (last_day, end]
        nxt = state.last_day + need + _festival_days(state.last_day, end)
        if nxt == end:
            return threshold + (end - state.last_day - need)
        end = nxt


def silent_since(state: DormancyState, today: int, policy: DormancyPolicy = DEFAULT_POLICY, *,
                 excused: int = 0) -> Silence:
    """Is the feed silent on local day ``today``, against its own rhythm?

    ``threshold`` depends on the state only (not on ``today``): the feed turns
    silent on day ``last_day + floor(threshold) + 1``. ``excused`` days of the
    silence were not the borrower's (a pipeline outage of its source,
    :mod:`detectors.outage`): the threshold is lengthened by them.

    >>> s = DormancyState()
    >>> for day in (0, 6, 14, 19, 28, 35, 41, 50, 57, 64):   # gaps of 5-10 days
    ...     note_event(s, 739000 + day)
    >>> silent_since(s, 739064 + 8)
    Silence(is_silent=False, days_silent=8, typical_gap=7.1, threshold=17.81)
    >>> silent_since(DormancyState(), 739000).is_silent   # never heard of: not silent
    False
    """
    if not state.last_day:
        return Silence(False, 0, policy.prior_gap, policy.cap_days)
    typical, threshold = _threshold(state, policy)
    threshold = _with_festival(state, threshold, policy) + max(excused, 0)
    days = today - state.last_day
    return Silence(days > threshold, max(days, 0), round(typical, 2), round(threshold, 2))


class DormancyDetector(AnomalyDetector):
    """The silent-feed detector behind river's anomaly-detector protocol (one borrower, one feed).

    ``learn_one({"day": d})`` notes an event on day ``d`` (default: the day
    after the last one); ``score_one({"day": today})`` is days of silence over
    the threshold (above 1.0: silent). Scoring does not learn.

    Parameters
    ----------
    floor_days
        Never silent sooner than this many days.
    multiple
        A regular reporter is silent after this many typical gaps.
    rare_years
        An irregular one when a quiet spell this long would come less than
        once in this many years of its own rhythm.

    Examples
    --------

    >>> det = DormancyDetector()
    >>> for d in range(30):
    ...     det.learn_one({"day": 739000 + d})
    >>> det.score_one({"day": 739031}) < 1.0 < det.score_one({"day": 739040})
    True
    """

    def __init__(self, floor_days: float = 7.0, multiple: float = 2.5, rare_years: float = 10.0):
        self.floor_days = floor_days
        self.multiple = multiple
        self.rare_years = rare_years
        self.policy = DormancyPolicy(floor_days=floor_days, multiple=multiple, rare_years=rare_years)
        self.state = DormancyState()

    def _day(self, x: Mapping[FeatureName, Any]) -> int:
        return int(x["day"]) if "day" in x else self.state.last_day + 1

    def learn_one(self, x: dict[FeatureName, Any]) -> None:
        note_event(self.state, self._day(x), self.policy)

    def score_one(self, x: dict[FeatureName, Any]) -> float:
        silence = silent_since(self.state, self._day(x), self.policy)
        return silence.days_silent / silence.threshold if silence.threshold > 0 else 0.0
