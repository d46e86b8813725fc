"""Output records: what the risk desk, collectors and credit operations receive.

Every record is a frozen dataclass with a deterministic id (uuid5 of what it is
about), so a record produced twice after a crash and replay is recognisably the
same record. A record that changes (an alert resolved, a task cancelled) is
emitted again under the same id; consumers keep the last one.

>>> a = alert_id("B1", "dpd_30", "L1")
>>> a == alert_id("B1", "dpd_30", "L1"), a == alert_id("B1", "dpd_30", "L2")
(True, False)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

NAMESPACE = uuid.UUID("6f1d3c1e-6a3b-5b1c-9a57-2d1c6e1b9f00")


def record_id(kind: str, *parts: object) -> str:
    """A deterministic id from what the record is about.

    >>> record_id("task", "L1", 1, "call") == record_id("task", "L1", 1, "call")
    True
    """
    return str(uuid.uuid5(NAMESPACE, "|".join([kind, *map(str, parts)])))


def alert_id(borrower_id: str, alert_type: str, loan_id: str | None = None, episode: int = 0) -> str:
    """Id of an alert: one per (borrower, type, loan) episode.

    >>> alert_id("B1", "dpd_30", "L1", 1) != alert_id("B1", "dpd_30", "L1", 2)
    True
    """
    return record_id("alert", borrower_id, alert_type, loan_id or "", episode)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision was made: the value seen, the baseline, the threshold crossed.

    ``message`` is English, ``message_zh`` Chinese; both for a risk officer.
    """

    code: str
    message: str
    message_zh: str
    value: float | str | None = None
    baseline: float | str | None = None
    threshold: float | str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    borrower_id: str
    loan_id: str | None
    type: str
    severity: str  # info | warning | critical
    status: str  # open | updated | resolved
    reasons: tuple[Reason, ...]
    risk_score: float
    risk_class: str
    opened_at: str
    updated_at: str
    inhibited_by: str | None = None
    kind: str = field(default="alert", init=False)


@dataclass(frozen=True, slots=True)
class CollectionTask:
    task_id: str
    loan_id: str
    borrower_id: str
    installment_seq: int
    action: str  # reminder | call | visit | legal | restructure_review | ...
    channel: str  # app | sms | phone | field | letter
    priority: float
    dpd: int
    amount_overdue: Decimal
    status: str  # open | escalated | cancelled | done
    due_by: str
    reason: str
    stage: str
    queue: str
    created_at: str
    updated_at: str
    contact_after: str = ""  # the contact policy's first allowed moment to reach out ("": not a contact)
    kind: str = field(default="task", init=False)


@dataclass(frozen=True, slots=True)
class LimitChange:
    change_id: str
    borrower_id: str
    loan_id: str
    old_limit: Decimal
    new_limit: Decimal
    action: str  # increase | decrease | freeze | unfreeze
    status: str  # applied | needs_review
    reasons: tuple[Reason, ...]
    effective_at: str
    evidence: str = ""
    kind: str = field(default="limit", init=False)


Output = Alert | CollectionTask | LimitChange


def output_id(record: Output) -> str:
    """The id of any output record.

    >>> t = CollectionTask("T", "L1", "B1", 1, "call", "phone", 1.0, 3, Decimal("10"), "open",
    ...                    "2026-01-02", "overdue", "dpd_1_30", "early", "2026-01-01", "2026-01-01")
    >>> output_id(t)
    'T'
    """
    if isinstance(record, Alert):
        return record.alert_id
    if isinstance(record, CollectionTask):
        return record.task_id
    return record.change_id
