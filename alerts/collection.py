"""Collection stages by days past due: which action, channel and queue a task has.

The policy is data (see :class:`CollectionPolicy`); the core asks it which stage
an overdue installment is in and builds one task per (loan, installment, stage).

>>> p = CollectionPolicy()
>>> [p.stage_for(d).name if p.stage_for(d) else None for d in (0, 1, 30, 31, 61, 91)]
[None, 'dpd_1_30', 'dpd_1_30', 'dpd_31_60', 'dpd_61_90', 'dpd_90_plus']
>>> p.thresholds()
(1, 31, 61, 91)
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


DEFAULT_STAGES = (
    Stage("dpd_1_30", 1, "call", "phone", "early", 1.0, 3),
    Stage("dpd_31_60", 31, "call", "phone", "mid", 2.0, 3),
    Stage("dpd_61_90", 61, "visit", "field", "late", 3.0, 7),
    Stage("dpd_90_plus", 91, "legal", "letter", "legal", 4.0, 14),
)


@dataclass(frozen=True, slots=True)
class CollectionPolicy:
    """Overdue stages, lowest DPD first."""

    stages: tuple[Stage, ...] = field(default=DEFAULT_STAGES)

    def stage_for(self, dpd: int) -> Stage | None:
        found = None
        for stage in self.stages:
            if dpd >= stage.min_dpd:
                found = stage
        return found

    def thresholds(self) -> tuple[int, ...]:
        return tuple(s.min_dpd for s in self.stages)

    def priority(self, stage: Stage, amount_overdue: Decimal, risk_score: float) -> float:
        """Priority: amount overdue × risk × stage weight (higher first).

        >>> CollectionPolicy().priority(DEFAULT_STAGES[1], Decimal("1000"), 0.5)
        1000.0
        """
        return round(float(amount_overdue) * max(risk_score, 0.01) * stage.weight, 2)
