"""Collection stages by days past due: which action, channel and queue a task has.

The policy is data (see :class:`CollectionPolicy`); the core asks it which stage
an installment is in and keeps one task per (loan, installment), moving it from
stage to stage. Stages with a negative ``min_dpd`` are pre-due reminders
(D-7, D-3, D-1 by app or SMS); a stage with ``min_risk`` applies only to
borrowers whose risk score is at least that (riskier borrowers are reminded
earlier and more often); ``products`` limits a stage to some products.

>>> p = CollectionPolicy()
>>> [p.stage_for(d).name if p.stage_for(d) else None for d in (-8, -5, -2, 0, 1, 30, 31, 61, 91, 181)]
[None, None, 'reminder_d3', 'reminder_d1', 'dpd_1_30', 'dpd_1_30', 'dpd_31_60', 'dpd_61_90', 'dpd_90_plus', 'npl_180_plus']
>>> p.stage_for(-5, risk_score=0.5).name     # a risky borrower hears a week before the due date
'reminder_d7'
>>> p.thresholds()
(-7, -3, -1, 1, 31, 61, 91, 181)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    min_dpd: int
    action: str
    channel: str
    queue: str
    weight: float  # DPD weight in the priority score
    respond_days: int  # a task is due this many days after it opens
    min_risk: float = 0.0  # the stage applies only from this risk score
    products: tuple[str, ...] = ()  # ... and only to these products (empty: every product)
    alt_channel: str = ""  # the channel to switch to when the borrower is unreachable ("" : none)

    @property
    def is_reminder(self) -> bool:
        return self.min_dpd <= 0


DEFAULT_STAGES = (
    Stage("reminder_d7", -7, "reminder", "sms", "reminders", 0.1, 7, min_risk=0.3),
    Stage("reminder_d3", -3, "reminder", "app", "reminders", 0.1, 3, alt_channel="sms"),
    Stage("reminder_d1", -1, "reminder", "sms", "reminders", 0.1, 1),
    Stage("dpd_1_30", 1, "call", "phone", "early", 1.0, 3, alt_channel="sms"),
    Stage("dpd_31_60", 31, "call", "phone", "mid", 2.0, 3, alt_channel="field"),
    Stage("dpd_61_90", 61, "visit", "field", "late", 3.0, 7),
    Stage("dpd_90_plus", 91, "legal", "letter", "legal", 4.0, 14),
    Stage("npl_180_plus", 181, "npl_handling", "letter", "npl", 5.0, 30),  # non-performing: workout or disposal
)


@dataclass(frozen=True, slots=True)
class CollectionPolicy:
    """Overdue stages, lowest DPD first."""

    stages: tuple[Stage, ...] = field(default=DEFAULT_STAGES)
    promise_grace_days: int = 0  # a promise to pay holds escalation until its date plus this
    dispute_hold_days: int = 14  # a dispute holds escalation this long while it is reviewed

    def stage_for(self, dpd: int, risk_score: float = 0.0, product: str = "") -> Stage | None:
        """The stage of an unpaid installment ``dpd`` days past due (negative: days before the due date).

        >>> p = CollectionPolicy(stages=(*DEFAULT_STAGES, Stage("visit_early", 15, "visit", "field", "early",
        ...                                                    1.5, 3, products=("revolving_line",))))
        >>> p.stage_for(20, product="revolving_line").name, p.stage_for(20, product="term_loan").name
        ('visit_early', 'dpd_1_30')
        """
        found = None
        for stage in self.stages:
            if dpd >= stage.min_dpd and risk_score >= stage.min_risk and \
                    (not stage.products or product in stage.products):
                found = stage
        return found

    def rank(self, name: str) -> int:
        """Position of a stage (later stages rank higher); -1 for a name no longer in the policy."""
        for k, stage in enumerate(self.stages):
            if stage.name == name:
                return k
        return -1

    def thresholds(self) -> tuple[int, ...]:
        return tuple(s.min_dpd for s in self.stages)

    def priority(self, stage: Stage, amount_overdue: Decimal, risk_score: float) -> float:
        """Priority: amount overdue × risk × stage weight (higher first).

        >>> CollectionPolicy().priority(DEFAULT_STAGES[4], Decimal("1000"), 0.5)  # dpd_31_60
        1000.0
        """
        return round(float(amount_overdue) * max(risk_score, 0.01) * stage.weight, 2)
