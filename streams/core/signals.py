"""From the detectors' per-borrower states to the named signals the alert rules read.

The detectors (``detectors/``) keep tiny per-borrower states and say what they
see; the rules (``alerts/rules.toml``) turn named signals into findings. This
module is the one place that maps the first onto the second, and builds the
feature vector of the risk score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from detectors import cashflow, dormancy, repayment, revenue
from detectors.anomaly import BorrowerAnomaly
from detectors.default_model import DefaultModel, rule_score
from detectors.features import borrower_features
from streams.core.state import BorrowerState

NAN = float("nan")


@dataclass(frozen=True, slots=True)
class Reading:
    """What the detectors say about one borrower at one moment."""

    signals: dict[str, float]
    baselines: dict[str, float]
    risk_score: float
    revenue: revenue.RevenueSignals | None = None  # the detectors' own readings, for the limit review
    cash: cashflow.CashflowSignals | None = None
    features: dict[str, float] = field(default_factory=dict)  # the shared models' feature vector


def read(state: BorrowerState, today: int, now: int, dpd: int, *, excused: int = 0,
         pd: DefaultModel | None = None, anomaly: BorrowerAnomaly | None = None,
         silence_policy: dormancy.DormancyPolicy = dormancy.DEFAULT_POLICY) -> Reading:
    """Signals of the borrower as of local day ``today`` / epoch second ``now`` (nothing is changed).

    A detector that has not warmed up gives NaN signals: its rules stay quiet.
    ``excused``: days of the revenue feed's silence that were a pipeline outage of its source.
    ``pd``: the partition's default model (``risk_score``; without it the rule prior),
    ``anomaly``: its anomaly model (the ``anomaly_score`` signal; left out without it).
    ``silence_policy``: the silent-feed detector's policy (whether public holidays count as silence).
    """
    signals: dict[str, float] = {}
    baselines: dict[str, float] = {}
    rev = cash = silence = None
    if state.revenue is not None and state.revenue.open_day:
        rev = revenue.signals(state.revenue, state.revenue.open_day - 1, state.sector or None)
        if rev.ready:
            signals["revenue_drop_ratio"] = 1.0 - rev.drop_ratio
            signals["revenue_drop_days"] = float(rev.drop_days if rev.dropped else 0)
            signals["revenue_collapsed"] = 1.0 if rev.collapsed else 0.0
            # a drop or collapse is its own alert, not volatility too (the detector's rule)
            signals["revenue_volatility_ratio"] = 0.0 if rev.dropped or rev.collapsed else rev.volatility_ratio
            baselines["revenue_expected_daily"] = rev.baseline
            signals["revenue_erosion"] = rev.erosion
            signals["revenue_level_erosion"] = rev.level_erosion
            if rev.erosion < 1.0:  # what the recent days would have brought at the level of three months ago
                baselines["revenue_daily_3m_ago"] = rev.value / (1.0 - rev.erosion)
    if state.feed is not None and state.feed.last_day:
        # quiet days are complete days: a day's report is due at its end, so today is not one yet
        silence = dormancy.silent_since(state.feed, today - 1, silence_policy, excused=excused)
        signals["dormant_days"] = float(silence.days_silent) if silence.is_silent else 0.0
        # in whole days: the quiet days its rhythm allows ("silent 23 days, threshold 22", not "threshold 23")
        baselines["dormancy_threshold_days"] = float(math.floor(silence.threshold))
    if state.cash is not None and state.cash.first:
        sector, rev_state = state.sector or None, state.revenue
        cash = cashflow.signals(state.cash, now, season=lambda day: revenue.month_factor(day, sector, rev_state))
        if cash.ready:
            if cash.runway_days is not None:
                signals["cash_runway_days"] = cash.runway_days
            if cash.margin is not None and cash.margin_baseline is not None and cash.margin_judged:
                signals["margin_decline"] = cash.margin_baseline - cash.margin
                baselines["margin_usual"] = cash.margin_baseline
                if cash.margin_month is not None:
                    signals["margin_decline_month"] = cash.margin_baseline - cash.margin_month
        signals["other_lenders_30d"] = float(cash.other_lenders)
    paying = None
    if state.repay is not None:
        paying = repayment.signals(state.repay)
        signals["late_cycles"] = float(paying.consecutive_late)
        signals["rolled_forward"] = 1.0 if paying.rolled_forward else 0.0
        signals["overdue_bucket"] = float(paying.bucket)
    x = borrower_features(revenue=rev, cashflow=cash, repayment=paying, silence=silence, dpd=dpd,
                          max_dpd=state.max_dpd)
    score = pd.predict(x) if pd is not None else rule_score(x)
    signals["risk_score"] = score
    if anomaly is not None:
        signals["anomaly_score"] = anomaly.score_one(x)  # type: ignore[arg-type]
    return Reading(signals, baselines, score, rev, cash, x)

