"""Silent feeds: a borrower whose events stop, measured against its own rhythm.

Per borrower and feed (revenue, account movements, ...) the state keeps the
last day with an event and an EWMA of the gaps between event days with its mean
absolute deviation, about 15 bytes. A borrower is *silent* when the days since
its last event exceed

    rhythm    = max(floor_days, multiple x typical_gap + deviations x gap_deviation)
    threshold = min(rhythm, max(cap_days, cap_multiple x typical_gap))

so a daily seller is silent after ``floor_days`` (7) quiet days, a seller with
a sale every few days after two to three weeks, and anyone after ``cap_days``
(20) quiet days, unless its own rhythm is that slow (a monthly reporter is
silent after 1.5 months without a report). A borrower with
little history is measured against a prior rhythm (``prior_gap``), blended
away as gaps are observed. The state only changes when an event is noted, so
the check is a pure function of ``(state, today)``: the same in live mode (the
wall clock's day) and in replay (event time).

When many borrowers of one source go quiet together, that is a pipeline
problem rather than many borrowers in trouble: :func:`pipeline_outage` names
those sources so the alert layer raises one ops alert and holds the
per-borrower dormancy warnings back. :func:`overdue` is the quick, per-borrower
"a report is late against the rhythm" test to tally for it: it turns within a
day or two for daily reporters, long before anyone is silent.

>>> state, policy = DormancyState(), DormancyPolicy()
>>> for day in range(739000, 739030):           # a daily seller
...     note_event(state, day, policy)
>>> silent_since(state, 739035, policy)
Silence(is_silent=False, days_silent=6, typical_gap=1.39, threshold=7.0)
>>> silent_since(state, 739039, policy).is_silent
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec
from river.base import AnomalyDetector
from river.base.typing import FeatureName

__all__ = [
    "DormancyPolicy", "DormancyState", "Silence", "DormancyDetector",
    "note_event", "silent_since", "overdue", "pipeline_outage",
]

_S = 100  # fixed point: gaps in 1/100 day


@dataclass(frozen=True, slots=True)
class DormancyPolicy:
    """Parameters of the silent-feed detector.

    The defaults are general, not fitted to one data set: silent after two and
    a half typical gaps plus three mean deviations (a regular weekly reporter
    after about 18 days, a seller with a sale on a third of days at random after
    about 13), never sooner than a week; three
    quiet weeks are always worth a look unless the borrower's own rhythm is
    that slow (then 1.5 typical gaps); a new borrower is assumed to report
    about weekly until a couple of gaps have been seen.
    """

    multiple: float = 2.5  # silent after this many typical gaps ...
    deviations: float = 3.0  # ... plus this many mean absolute deviations of the gap
    floor_days: float = 7.0  # never silent sooner
    cap_days: float = 20.0  # silent after this many quiet days whatever the rhythm ...
    cap_multiple: float = 1.5  # ... unless 1.5 typical gaps are longer
    prior_gap: float = 7.0  # the rhythm assumed before the borrower's own is known
    prior_weight: float = 2.0  # weight of the prior, in observed gaps
    alpha: float = 0.15  # EWMA weight of a new gap
    outage_min_borrowers: int = 50  # a source needs this many borrowers to judge an outage
    outage_share: float = 0.3  # ... and this share of them overdue at once
    overdue_slack_days: float = 1.0


DEFAULT_POLICY = DormancyPolicy()


class DormancyState(msgspec.Struct, array_like=True, omit_defaults=True):
    """Per-borrower, per-feed rhythm: last event day and gap statistics (1/100 day)."""

    last_day: int = 0  # day ordinal of the latest event (0: none yet)
    gap: int = 0  # EWMA of gaps between event days, 1/100 day
    dev: int = 0  # EWMA of |gap - mean|, 1/100 day
    gaps: int = 0  # gaps observed (saturates at 255)


class Silence(NamedTuple):
    """The answer of :func:`silent_since`."""

    is_silent: bool
    days_silent: int  # days since the last event day
    typical_gap: float  # the borrower's typical gap between event days (prior-blended)
    threshold: float  # days of silence that make it silent


def note_event(state: DormancyState, day: int, policy: DormancyPolicy = DEFAULT_POLICY) -> None:
    """An event of this feed happened on local day ``day`` (in place).

    Several events on one day count once; a late event for an earlier day
    changes nothing.

    >>> s = DormancyState()
    >>> for day in (10, 10, 15, 21, 19):
    ...     note_event(s, day)
    >>> s.last_day, s.gaps, s.gap / 100
    (21, 2, 5.5)
    """
    if day <= state.last_day:
        return
    if state.last_day:
        gap = float(day - state.last_day)
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
    """(typical gap, threshold) with the prior blended in for short histories."""
    w = state.gaps / (state.gaps + policy.prior_weight)
    typical = w * state.gap / _S + (1 - w) * policy.prior_gap
    dev = w * state.dev / _S + (1 - w) * policy.prior_gap / 2
    rhythm = max(policy.floor_days, policy.multiple * typical + policy.deviations * dev)
    return typical, min(rhythm, max(policy.cap_days, policy.cap_multiple * typical))


def silent_since(state: DormancyState, today: int, policy: DormancyPolicy = DEFAULT_POLICY) -> Silence:
    """Is the feed silent on local day ``today``, against its own rhythm?

    >>> s = DormancyState()
    >>> for day in (0, 6, 14, 19, 28, 35, 41, 50, 57, 64):   # gaps of 5-10 days
    ...     note_event(s, 739000 + day)
    >>> silent_since(s, 739064 + 8)
    Silence(is_silent=False, days_silent=8, typical_gap=7.1, threshold=20.0)
    >>> silent_since(DormancyState(), 739000).is_silent   # never heard of: not silent
    False
    """
    if not state.last_day:
        return Silence(False, 0, policy.prior_gap, policy.cap_days)
    typical, threshold = _threshold(state, policy)
    days = today - state.last_day
    return Silence(days > threshold, max(days, 0), round(typical, 2), round(threshold, 2))


def overdue(state: DormancyState, today: int, policy: DormancyPolicy = DEFAULT_POLICY) -> bool:
    """Is the next event late against the rhythm (typical gap + 2 deviations + slack)?

    Meant for the per-source tally behind :func:`pipeline_outage`: a daily
    reporter is overdue after about two quiet days. Borrowers without a known
    rhythm (fewer than 3 gaps) are never overdue.

    >>> s = DormancyState()
    >>> for day in range(100, 130):
    ...     note_event(s, day)
    >>> overdue(s, 131), overdue(s, 133)
    (False, True)
    """
    if state.gaps < 3:
        return False
    late_after = state.gap / _S + 2 * state.dev / _S + policy.overdue_slack_days
    return today - state.last_day > late_after


def pipeline_outage(silent_by_source: Mapping[str, tuple[int, int]],
                    policy: DormancyPolicy = DEFAULT_POLICY) -> list[str]:
    """The sources where many borrowers went quiet at once: ``{source: (quiet, total)}`` in, names out.

    ``quiet`` is best the count of borrowers :func:`overdue` on the day (or
    silent, if that is what the caller tallies), ``total`` the borrowers of the
    source with a known rhythm. A source qualifies with at least
    ``outage_min_borrowers`` borrowers of which at least ``outage_share`` are
    quiet. Sorted, so the result is deterministic.

    >>> pipeline_outage({"pos": (480, 500), "ecommerce": (3, 900), "tax": (20, 30)})
    ['pos']
    """
    return sorted(
        source for source, (quiet, total) in silent_by_source.items()
        if total >= policy.outage_min_borrowers and quiet >= policy.outage_share * total
    )


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
        Silent after this many typical gaps (plus one deviation).

    Examples
    --------

    >>> det = DormancyDetector()
    >>> for d in range(30):
    ...     det.learn_one({"day": 739000 + d})
    >>> det.score_one({"day": 739031}) < 1.0 < det.score_one({"day": 739040})
    True
    """

    def __init__(self, floor_days: float = 7.0, multiple: float = 2.5):
        self.floor_days = floor_days
        self.multiple = multiple
        self.policy = DormancyPolicy(floor_days=floor_days, multiple=multiple)
        self.state = DormancyState()

    def _day(self, x: Mapping[FeatureName, Any]) -> int:
        return int(x["day"]) if "day" in x else self.state.last_day + 1

    def learn_one(self, x: dict[FeatureName, Any]) -> None:
        note_event(self.state, self._day(x), self.policy)

    def score_one(self, x: dict[FeatureName, Any]) -> float:
        silence = silent_since(self.state, self._day(x), self.policy)
        return silence.days_silent / silence.threshold if silence.threshold > 0 else 0.0
