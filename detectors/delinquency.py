"""A rule-based default-risk score from repayment delinquency alone.

This is the score the backbone ships with: it needs no training and is
monotone in days past due. The online PD model (issue 3) combines it with
revenue and cash-flow signals.

>>> round(delinquency_score(0, 0), 3)
0.02
>>> delinquency_score(10, 10) < delinquency_score(45, 45) < delinquency_score(120, 120)
True
>>> 0.0 <= delinquency_score(400, 400) <= 1.0
True
"""

from __future__ import annotations

import math


def delinquency_score(dpd: int, max_dpd: int, *, midpoint: float = 60.0, scale: float = 20.0) -> float:
    """Probability-like score in [0, 1]: a logistic curve in current DPD.

    A borrower that has been 30+ days late before (``max_dpd``) keeps a floor of
    0.15 even when current, because cured delinquents re-default more often.
    """
    if dpd <= 0:
        return 0.15 if max_dpd >= 30 else (0.06 if max_dpd > 0 else 0.02)
    score = 1.0 / (1.0 + math.exp(-(dpd - midpoint) / scale))
    return round(max(score, 0.08), 4)
