"""Credit-limit reviews: the limit model and policy applied to one borrower's credit line.

A review runs whenever the ledgers are reconciled (a repayment, a due date
passing, a DPD stage): it fills an :class:`alerts.limits.Situation` from the
state and the detectors, asks :func:`alerts.limits.decide`, applies an
``applied`` decision to the line's ``credit_limit`` and returns the
:class:`LimitChange` record. The line is the borrower's open revolving line,
else its latest open loan.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from alerts import lifecycle
from alerts.limits import Decision, Situation, decide
from alerts.records import LimitChange, record_id
from detectors.limit import Capacity, LimitState, capacity
from streams.core.signals import Reading
from streams.core.state import BorrowerState, Loan

if TYPE_CHECKING:
    from streams.core.step import Policy


def credit_line(state: BorrowerState) -> Loan | None:
    open_loans = [loan for loan in state.loans if not loan.closed]
    revolving = [loan for loan in open_loans if loan.product == "revolving_line"]
    chosen = revolving or open_loans
    return chosen[-1] if chosen else None


def review(state: BorrowerState, today: int, as_of: int, dpd: int, reading: Reading, stamp: str,
           policy: Policy, *, timer: bool = False) -> list[LimitChange]:
    """At most one limit change for the borrower as of local day ``today``.

    After an event everything is looked at. A timer (a due date, a reminder)
    looks at a freeze or unfreeze every time and at the rest (capacity,
    season, cycles) once a day at most, as often as those inputs move.
    """
    line = credit_line(state)
    if line is None:
        return []
    lim = state.limit
    if lim is None:
        lim = state.limit = LimitState()
    if dpd > policy.grace_days:
        lim.on_time = 0
    critical = lifecycle.has_open(state.alerts, "critical")
    must_freeze = dpd >= policy.limits.freeze_dpd or critical
    if timer and must_freeze == lim.frozen and lim.reviewed == today:
        return []
    lim.reviewed = today
    inflow = reading.cash.inflow if reading.cash is not None and reading.cash.ready else None
    dropped = bool(reading.revenue.dropped) if reading.revenue is not None else None
    cap = capacity(state.revenue, inflow, state.sector or None, today, policy.limit_model, dropped=dropped)
    sit = Situation(
        limit=line.credit_limit, uplift=Decimal(lim.uplift), frozen=lim.frozen, dpd=dpd, critical=critical,
        warnings=tuple(sorted(lifecycle.open_types(state.alerts))), on_time=lim.on_time,
        capacity=cap.capacity, risk_score=reading.risk_score, season=cap.season, season_now=cap.season_now,
        stable=cap.stable, days_since_change=today - lim.last_change if lim.last_change else None)
    decision = decide(sit, policy.limits)
    if decision is None:
        return []
    lim.changes += 1
    if decision.moves_amount:
        lim.last_change = today  # a proposal waits out the cooling-off too, so it is not re-sent daily
    if decision.status == "applied":
        line.credit_limit = decision.new_limit
        lim.frozen = decision.frozen
        lim.uplift = str(decision.uplift)
        if decision.action == "increase" and decision.reasons[0].code == "on_time_cycles":
            lim.on_time = 0  # the next increase needs a fresh run of on-time cycles
    return [LimitChange(
        change_id=record_id("limit", state.borrower_id, line.loan_id, lim.changes),
        borrower_id=state.borrower_id, loan_id=line.loan_id, old_limit=decision.old_limit,
        new_limit=decision.new_limit, action=decision.action, status=decision.status,
        reasons=decision.reasons, effective_at=stamp, evidence=_evidence(decision, lim, line, cap, today))]


def _evidence(decision: Decision, lim: LimitState, line: Loan, cap: Capacity, today: int) -> str:
    """Which cycles and which revenue window the decision rests on, in words."""
    day = dt.date.fromordinal(today)
    parts = []
    if lim.last_seq:
        parts.append(f"on-time installments {lim.first_seq}-{lim.last_seq} of {line.loan_id}")
    if cap.monthly_revenue is not None:
        start = day - dt.timedelta(days=cap.revenue_days)
        parts.append(f"revenue {start.isoformat()}..{day.isoformat()}: expected {cap.monthly_revenue:,.0f}/month")
    if cap.monthly_inflow is not None:
        parts.append(f"cash inflow {cap.monthly_inflow:,.0f}/month")
    parts.append(f"season ahead x{cap.season:.2f}")
    if decision.status == "needs_review":
        parts.append("proposed, not applied: waiting for a credit officer")
    return "; ".join(parts)
