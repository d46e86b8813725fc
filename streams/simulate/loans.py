"""Our loans: term loans with annuity schedules and revolving lines with statements.

Four loans in five are term loans (6–24 monthly installments, annuity at
5–14 %, due on the booking day of each month); the rest are revolving lines:
``loan_opened/1`` with principal 0 and no installments, a first ``drawdown/1``,
then a monthly statement (``installment_due/1``: minimum payment = the month's
interest + 10 % of the balance, at least 100 CNY, due 20 days later, with the
statement balance). Statements go on after a default, as a core system's do.
A term loan repaid in good standing is renewed four times in five.

A :class:`Loan` is also its own ledger: payments are allocated to installments
(the named ``seq``, or the oldest open one first, as the contract says), the
day each installment is fully paid is kept, and :meth:`Loan.default_day` finds
the first day on which days-past-due reach 90: ``due_date + 90`` of the first
installment not fully paid before that day.

>>> sched = annuity_schedule(120_000_00, 0.072, 12)
>>> len(sched), sched[0], sum(sched) - 120_000_00
(12, 1039428, 473131)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .draws import Draws

DEFAULT_DPD = 90
STATEMENT_GRACE_DAYS = 20
MIN_PAYMENT_SHARE = 0.10
MIN_PAYMENT_FLOOR = 100_00


def annuity_schedule(principal: int, annual_rate: float, n: int) -> list[int]:
    """Monthly annuity payments in cents; the last one settles the rounding."""
    r = annual_rate / 12.0
    payment = round(principal * r / (1 - (1 + r) ** -n)) if r else round(principal / n)
    out, balance = [], principal
    for k in range(n):
        interest = round(balance * r)
        pay = balance + interest if k == n - 1 else payment
        balance -= pay - interest
        out.append(pay)
    return out


@dataclass
class Loan:
    loan_id: str
    product: str  # term_loan | revolving_line
    open_day: int
    principal: int
    credit_limit: int
    annual_rate: float
    due_day: list[int] = field(default_factory=list)
    amount: list[int] = field(default_factory=list)
    paid: list[int] = field(default_factory=list)
    paid_day: list[int | None] = field(default_factory=list)
    balance: int = 0  # revolving: drawn and unpaid (incl. interest)
    closed: bool = False

    def add_installment(self, due_day: int, cents: int) -> int:
        self.due_day.append(due_day)
        self.amount.append(cents)
        self.paid.append(0)
        self.paid_day.append(None if cents > 0 else due_day)
        return len(self.amount)

    def remaining(self, seq: int) -> int:
        return self.amount[seq - 1] - self.paid[seq - 1]

    def overdue_or_due(self, day: int) -> int:
        """What is due by ``day`` and still unpaid."""
        return sum(a - p for a, p, d in zip(self.amount, self.paid, self.due_day, strict=True) if d <= day)

    def open_due(self) -> int:
        return sum(a - p for a, p in zip(self.amount, self.paid, strict=True))

    def pay(self, cents: int, seq: int | None, day: int) -> None:
        """Allocate a payment: to ``seq`` first if given, the rest oldest-first."""
        order = list(range(len(self.amount)))
        if seq is not None:
            order.remove(seq - 1)
            order.insert(0, seq - 1)
        left = cents
        for i in order:
            take = min(left, self.amount[i] - self.paid[i])
            if take > 0:
                self.paid[i] += take
                left -= take
                if self.paid[i] == self.amount[i]:
                    self.paid_day[i] = day
            if left == 0:
                break
        if self.product == "revolving_line":
            self.balance -= cents

    def fully_paid(self) -> bool:
        return all(p == a for p, a in zip(self.paid, self.amount, strict=True))

    def default_day(self) -> int | None:
        """First day with an installment 90 days past due and still unpaid."""
        days = [d + DEFAULT_DPD for d, pd in zip(self.due_day, self.paid_day, strict=True)
                if pd is None or pd >= d + DEFAULT_DPD]
        return min(days) if days else None

    def statement(self) -> tuple[int, int]:
        """Revolving line: add a month's interest; return (minimum due, statement balance)."""
        interest = round(self.balance * self.annual_rate / 12.0)
        self.balance += interest
        not_yet_due = max(0, self.balance - self.open_due())
        minimum = interest + round(MIN_PAYMENT_SHARE * (self.balance - interest))
        minimum = min(not_yet_due, max(minimum, MIN_PAYMENT_FLOOR))
        return minimum, self.balance


@dataclass(frozen=True)
class LoanTerms:
    product: str
    months: int  # term (0 for a revolving line)
    annual_rate: float
    revenue_months: float  # principal or limit in months of revenue


def draw_terms(rng: np.random.Generator, margin: float, revolving_share: float = 0.2) -> LoanTerms:
    """Product, term, rate and size.

    A term loan is 1–3 months of revenue, capped so that the installment takes at
    most three quarters of the margin; a revolving line's limit is 0.5–1.5 months.
    """
    if rng.random() < revolving_share:
        return LoanTerms("revolving_line", 0, round(float(rng.uniform(0.08, 0.16)), 4),
                         float(rng.uniform(0.5, 1.5)))
    months = int(rng.choice([6, 9, 12, 12, 12, 18, 24, 24]))
    capacity = 0.75 * margin * months
    return LoanTerms("term_loan", months, round(float(rng.uniform(0.05, 0.14)), 4),
                     float(min(rng.uniform(1.0, 3.0), capacity)))


def round_principal(cents: float) -> int:
    """Round to a whole thousand CNY, at least 5,000 CNY."""
    return max(5_000_00, int(round(cents / 1000_00)) * 1000_00)


LEAD_DAYS = (0, 1, 1, 2, 2, 3, 3, 4, 5)  # days before the due date a healthy borrower pays
LATE_DAYS = (1, 1, 2, 2, 3, 4, 5, 7)


@dataclass(frozen=True)
class Payment:
    """A planned repayment: day and second, installment, share of it, channel."""

    day: int
    sec: int
    seq: int | None
    share: float
    channel: str


def plan_payment(draws: Draws, due_day: int, seq: int, channel: str, phase: str,
                 months_in_stress: float) -> list[Payment]:
    """When and how an installment is paid, given the borrower's phase at its due date.

    Healthy: a day or a few before the due date (3 % a few days late). In
    stress: more and more often late, sometimes in two parts. Stopped: never.
    """
    sec = draws.seconds(8, 22)
    if draws.uniform() > 0.85:
        channel = "bank" if channel == "app" else "app"
    if phase == "stopped":
        return []
    if phase == "stress":
        if draws.uniform() < min(0.85, 0.35 + 0.15 * months_in_stress):
            late = draws.integer(3, 36)
            if draws.uniform() < 0.3:  # part now, the rest later
                rest = late + draws.integer(7, 26)
                return [Payment(due_day + late, sec, seq, draws.uniform(0.3, 0.7), channel),
                        Payment(due_day + rest, sec, seq, 1.0, channel)]
            return [Payment(due_day + late, sec, seq, 1.0, channel)]
        return [Payment(due_day - draws.integer(0, 3), sec, seq, 1.0, channel)]
    if draws.uniform() < 0.03:  # an occasional small lateness
        return [Payment(due_day + LATE_DAYS[draws.integer(0, len(LATE_DAYS))], sec, seq, 1.0, channel)]
    return [Payment(due_day - LEAD_DAYS[draws.integer(0, len(LEAD_DAYS))], sec, seq, 1.0, channel)]
