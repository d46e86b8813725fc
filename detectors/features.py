"""The normalised per-borrower feature vector the shared models read.

One flat dict of floats, always with every key of :data:`FEATURES`, each in
``[0, 1]`` with 0 meaning "no sign of trouble" (also what a missing detector
contributes). The shared anomaly model (HalfSpaceTrees fixes its feature set
from the first sample) and the PD model both read it; :func:`pack` squeezes it
into one byte per feature for the label memory of :mod:`detectors.default_model`.

>>> x = borrower_features(dpd=45, max_dpd=45)
>>> len(x) == len(FEATURES), x["dpd"], x["rev_shortfall"]
(True, 0.5, 0.0)
>>> unpack(pack(x)) == x
True
"""

from __future__ import annotations

from collections.abc import Mapping

from detectors.cashflow import CashflowSignals
from detectors.dormancy import Silence
from detectors.repayment import RepaymentSignals
from detectors.revenue import RevenueSignals

__all__ = ["FEATURES", "borrower_features", "pack", "unpack"]

FEATURES: tuple[str, ...] = (
    "rev_shortfall",  # 1 - recent revenue / expected
    "rev_drop_evidence",  # change-detector evidence, 1 = twice the alarm level
    "rev_volatility",  # (volatility ratio - 1) / 3
    "rev_collapse",  # days near zero / days that make a collapse
    "rev_trend_decline",  # 1 - level / slow level
    "cash_runway_short",  # 1 - runway / 60 days
    "cash_burn",  # 1 - inflow cover
    "cash_margin_decline",  # margin drop / 0.5
    "cash_other_lenders",  # distinct other lenders in the window / 4
    "rep_late_share",
    "rep_consecutive_late",  # / 4
    "rep_partial",  # partial payments / 4
    "rep_bucket",  # current bucket / 4
    "rep_worst_bucket",  # worst bucket / 4
    "feed_silence",  # days silent / (2 x threshold)
    "dpd",  # / 90
    "max_dpd",  # / 180
)


def _clip(v: float) -> float:
    return 0.0 if v != v or v <= 0.0 else (1.0 if v >= 1.0 else float(v))  # NaN -> 0


def borrower_features(revenue: RevenueSignals | None = None, cashflow: CashflowSignals | None = None,
                      repayment: RepaymentSignals | None = None, silence: Silence | None = None,
                      dpd: int = 0, max_dpd: int = 0) -> dict[str, float]:
    """Build the feature vector from whatever signals the borrower has (all keys, always).

    >>> from detectors.repayment import RepaymentState, went_overdue
    >>> x = borrower_features(repayment=went_overdue(RepaymentState()), dpd=5, max_dpd=5)
    >>> x["rep_late_share"], x["rep_consecutive_late"], round(x["dpd"], 3)
    (1.0, 0.25, 0.056)
    """
    x = dict.fromkeys(FEATURES, 0.0)
    if revenue is not None and revenue.ready:
        x["rev_shortfall"] = _clip(1.0 - revenue.drop_ratio)
        x["rev_drop_evidence"] = _clip(revenue.drop_score / 2.0)
        x["rev_volatility"] = _clip((revenue.volatility_ratio - 1.0) / 3.0)
        x["rev_collapse"] = _clip(revenue.low_days / max(revenue.collapse_days, 1))
        x["rev_trend_decline"] = _clip(1.0 - revenue.trend_ratio)
    if cashflow is not None and cashflow.ready:
        if cashflow.runway_days is not None:
            x["cash_runway_short"] = _clip(1.0 - cashflow.runway_days / 60.0)
        x["cash_burn"] = _clip(1.0 - cashflow.inflow_cover)
        if cashflow.margin is not None and cashflow.margin_baseline is not None:
            x["cash_margin_decline"] = _clip((cashflow.margin_baseline - cashflow.margin) / 0.5)
        x["cash_other_lenders"] = _clip(cashflow.other_lenders / 4.0)
    if repayment is not None:
        x["rep_late_share"] = _clip(repayment.late_share)
        x["rep_consecutive_late"] = _clip(repayment.consecutive_late / 4.0)
        x["rep_partial"] = _clip(repayment.partial_count / 4.0)
        x["rep_bucket"] = _clip(repayment.bucket / 4.0)
        x["rep_worst_bucket"] = _clip(repayment.worst_bucket / 4.0)
    if silence is not None and silence.threshold > 0:
        x["feed_silence"] = _clip(silence.days_silent / (2.0 * silence.threshold))
    x["dpd"] = _clip(dpd / 90.0)
    x["max_dpd"] = _clip(max(max_dpd, dpd) / 180.0)
    return x


def pack(x: Mapping[str, float], features: tuple[str, ...] = FEATURES) -> list[int]:
    """One small int (0..100, one msgpack byte) per feature, in :data:`FEATURES` order.

    >>> pack({"dpd": 0.5})[FEATURES.index("dpd")]
    50
    """
    return [round(_clip(float(x.get(k, 0.0))) * 100) for k in features]


def unpack(packed: list[int], features: tuple[str, ...] = FEATURES) -> dict[str, float]:
    """The inverse of :func:`pack` (to 0.01).

    >>> unpack(pack({"dpd": 0.5}))["dpd"]
    0.5
    """
    return {k: v / 100 for k, v in zip(features, packed, strict=True)}
