"""Repayment behaviour per borrower: late and partial payments, consecutive lateness, bucket rolls.

Fed by the core from what its ledgers already know, through four calls:

* :func:`went_overdue` once per installment, when it first passes its due date
  (plus grace) unpaid;
* :func:`settled` once per installment, when it is paid in full (``days_late``
  is the settlement day minus the due date);
* :func:`partial_payment` when a payment leaves a due or overdue installment
  partly unpaid;
* :func:`dpd_changed` whenever the borrower's worst DPD is re-evaluated (any
  reconcile); it is cheap and idempotent for an unchanged bucket.

Buckets follow the usual collection convention (``M0`` current, ``M1`` 1–30 DPD,
``M2`` 31–60, ``M3`` 61–90, ``M4+`` beyond; the edges are configuration). A
*roll* is a move to a worse bucket, a *cure* a move to a better one.

>>> s, p = RepaymentState(), RepaymentPolicy()
>>> for days_late in (0, -2, 0):                  # three installments on time
...     sig = settled(s, days_late, p)
>>> _ = went_overdue(s, p); _ = went_overdue(s, p)  # then two missed in a row
>>> sig = dpd_changed(s, 35, p)
>>> sig.consecutive_late, sig.repeated_late, sig.bucket_label, sig.rolled_forward
(2, True, 'M2', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from river.base import AnomalyDetector
from river.base.typing import FeatureName

__all__ = ["RepaymentPolicy", "RepaymentState", "RepaymentSignals", "RepaymentDetector",
           "went_overdue", "settled", "partial_payment", "dpd_changed", "signals", "bucket_of"]

_R = 10_000.0


@dataclass(frozen=True, slots=True)
class RepaymentPolicy:
    """Parameters of the repayment-behaviour features."""

    grace_days: int = 0  # a settlement this many days after the due date still counts as on time
    bucket_edges: tuple[int, ...] = (1, 31, 61, 91)  # DPD at which M1, M2, M3, M4+ begin
    late_halflife: float = 6.0  # memory of the late share, in installments
    consecutive_late: int = 2  # this many overdue installments in a row make repeated lateness


DEFAULT_POLICY = RepaymentPolicy()


class RepaymentState(msgspec.Struct, array_like=True, omit_defaults=True):
    """Per-borrower repayment counters (about 15 bytes)."""

    due: int = 0  # installments that reached their due date (settled on time or gone overdue)
    late: int = 0  # installments that went overdue
    partial: int = 0  # partial payments on due or overdue installments
    streak: int = 0  # installments overdue in a row (one paid on time resets it)
    max_streak: int = 0
    late_share: int = 0  # EWMA of "went overdue" per installment, 1/10,000
    days_late: int = 0  # EWMA of days late at settlement of late installments, 1/10
    bucket: int = 0  # current bucket index (0 = M0)
    worst: int = 0  # worst bucket ever
    rolls: int = 0  # moves to a worse bucket
    cures: int = 0  # moves to a better bucket
    last_move: int = 0  # +1 the last bucket move was a roll, -1 a cure, 0 none yet


@dataclass(frozen=True, slots=True)
class RepaymentSignals:
    """Repayment behaviour features, with the thresholds that make them signals."""

    installments_due: int
    late_count: int
    late_share: float  # recent share of installments that went overdue (EWMA)
    partial_count: int
    mean_days_late: float  # recent mean days late of installments settled late
    consecutive_late: int
    consecutive_threshold: int
    repeated_late: bool  # consecutive_late >= consecutive_threshold
    bucket: int
    bucket_label: str  # M0, M1, ..., M4+
    worst_bucket: int
    rolls: int
    cures: int
    rolled_forward: bool  # in arrears, and the last bucket move was a roll


def bucket_of(dpd: int, policy: RepaymentPolicy = DEFAULT_POLICY) -> int:
    """The bucket index of a DPD.

    >>> [bucket_of(d) for d in (0, 1, 30, 31, 60, 61, 90, 91, 400)]
    [0, 1, 1, 2, 2, 3, 3, 4, 4]
    """
    return sum(1 for edge in policy.bucket_edges if dpd >= edge)


def _label(bucket: int, policy: RepaymentPolicy) -> str:
    return f"M{bucket}+" if bucket == len(policy.bucket_edges) else f"M{bucket}"


def _alpha(policy: RepaymentPolicy, n: int) -> float:
    return max(1.0 / max(n, 1), 1.0 - 0.5 ** (1.0 / policy.late_halflife))


def went_overdue(state: RepaymentState, policy: RepaymentPolicy = DEFAULT_POLICY) -> RepaymentSignals:
    """An installment passed its due date (plus grace) unpaid: call once per installment.

    >>> s = RepaymentState()
    >>> went_overdue(s).late_share
    1.0
    """
    state.due += 1
    state.late += 1
    state.streak += 1
    state.max_streak = max(state.max_streak, state.streak)
    a = _alpha(policy, state.due)
    state.late_share = round((state.late_share / _R + a * (1.0 - state.late_share / _R)) * _R)
    return signals(state, policy)


def settled(state: RepaymentState, days_late: int, policy: RepaymentPolicy = DEFAULT_POLICY, *,
            overdue_reported: bool = True) -> RepaymentSignals:
    """An installment was paid in full ``days_late`` days after its due date: call once per installment.

    On time (``days_late <= grace_days``) it counts as a good cycle and ends a
    streak of lateness. Late, it was already counted by :func:`went_overdue`
    (pass ``overdue_reported=False`` if it was not) and feeds the mean days late.

    >>> s = RepaymentState()
    >>> _ = went_overdue(s)
    >>> sig = settled(s, 12)
    >>> sig.late_count, sig.mean_days_late, sig.consecutive_late
    (1, 12.0, 1)
    >>> settled(s, 0).consecutive_late
    0
    """
    if days_late <= policy.grace_days:
        state.due += 1
        state.streak = 0
        a = _alpha(policy, state.due)
        state.late_share = round(state.late_share * (1.0 - a))
        return signals(state, policy)
    if not overdue_reported:
        went_overdue(state, policy)
    a = _alpha(policy, state.late)
    state.days_late = round((state.days_late / 10 + a * (days_late - state.days_late / 10)) * 10)
    return signals(state, policy)


def partial_payment(state: RepaymentState, policy: RepaymentPolicy = DEFAULT_POLICY) -> RepaymentSignals:
    """A payment left a due or overdue installment partly unpaid.

    >>> partial_payment(RepaymentState()).partial_count
    1
    """
    state.partial += 1
    return signals(state, policy)


def dpd_changed(state: RepaymentState, dpd: int, policy: RepaymentPolicy = DEFAULT_POLICY) -> RepaymentSignals:
    """The borrower's worst DPD is now ``dpd``: track the bucket, rolls and cures.

    >>> s = RepaymentState()
    >>> [dpd_changed(s, d).bucket_label for d in (0, 5, 40, 0)]
    ['M0', 'M1', 'M2', 'M0']
    >>> s.rolls, s.cures, s.worst
    (2, 1, 2)
    """
    b = bucket_of(dpd, policy)
    if b > state.bucket:
        state.rolls += 1
        state.last_move = 1
    elif b < state.bucket:
        state.cures += 1
        state.last_move = -1
    state.bucket = b
    state.worst = max(state.worst, b)
    return signals(state, policy)


def signals(state: RepaymentState, policy: RepaymentPolicy = DEFAULT_POLICY) -> RepaymentSignals:
    """The features, without changing the state.

    >>> signals(RepaymentState()).bucket_label
    'M0'
    """
    return RepaymentSignals(
        installments_due=state.due,
        late_count=state.late,
        late_share=state.late_share / _R,
        partial_count=state.partial,
        mean_days_late=state.days_late / 10,
        consecutive_late=state.streak,
        consecutive_threshold=policy.consecutive_late,
        repeated_late=state.streak >= policy.consecutive_late,
        bucket=state.bucket,
        bucket_label=_label(state.bucket, policy),
        worst_bucket=state.worst,
        rolls=state.rolls,
        cures=state.cures,
        rolled_forward=state.bucket > 0 and state.last_move == 1,
    )


class RepaymentDetector(AnomalyDetector):
    """Repayment behaviour behind river's anomaly-detector protocol (one borrower).

    ``x`` is one installment cycle: ``days_late`` (the settlement day minus
    the due date; past the grace days, the installment went overdue first),
    optionally ``dpd`` (the borrower's worst DPD once the cycle is booked;
    default 0) and ``partial`` (1: a payment left it partly unpaid first).
    ``score_one`` is what the cycle would leave: the overdue installments in a
    row over the repeated-lateness threshold, plus 1 for a roll into a worse
    bucket (1.0: at a threshold). It does not learn.

    Parameters
    ----------
    consecutive_late
        This many overdue installments in a row make repeated lateness.
    grace_days
        A settlement this many days after the due date still counts as on time.

    Examples
    --------

    >>> det = RepaymentDetector()
    >>> for _ in range(6):                                 # six installments on time
    ...     det.learn_one({"days_late": 0})
    >>> det.score_one({"days_late": -1})
    0.0
    >>> det.learn_one({"days_late": 12})                   # one late
    >>> det.score_one({"days_late": 35, "dpd": 35})        # a second in a row, into 31-60 DPD
    2.0
    """

    def __init__(self, consecutive_late: int = 2, grace_days: int = 0):
        self.consecutive_late = consecutive_late
        self.grace_days = grace_days
        self.policy = RepaymentPolicy(consecutive_late=max(consecutive_late, 1), grace_days=grace_days)
        self.state = RepaymentState()

    def _book(self, state: RepaymentState, x: Mapping[FeatureName, Any]) -> RepaymentSignals:
        days_late = int(x.get("days_late", 0))
        if days_late > self.policy.grace_days:
            went_overdue(state, self.policy)
        if x.get("partial"):
            partial_payment(state, self.policy)
        settled(state, days_late, self.policy)
        return dpd_changed(state, int(x.get("dpd", 0)), self.policy)

    def learn_one(self, x: dict[FeatureName, Any]) -> None:
        self._book(self.state, x)

    def score_one(self, x: dict[FeatureName, Any]) -> float:
        trial = msgspec.msgpack.decode(msgspec.msgpack.encode(self.state), type=RepaymentState)
        sig = self._book(trial, x)
        return sig.consecutive_late / sig.consecutive_threshold + (1.0 if sig.rolled_forward else 0.0)
