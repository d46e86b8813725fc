"""One borrower's life, day by day: loans, the account, repayments, and its label.

Everything that moves money is applied in time order within a day, so every
``balance_after`` is the balance after the movements before it in event time.
Healthy borrowers cover a shortfall by drawing on a revolving line or by the
owner putting money in, and the owner takes surplus cash out at month end;
borrowers in trouble cannot rely on the owner, so payments slip (a payment
that cannot be made is retried the next day), and once payments to us stop
they stop for good. Owners of businesses heading for default move cash out
to related parties at month end, so the account is nearly empty by then.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from operator import itemgetter
from typing import Any

import numpy as np

from .cashflow import (
    DAYS_PER_MONTH,
    OUR_LENDER,
    Account,
    Costs,
    bank_loans,
    draw_costs,
    margin,
    other_lender,
    plan_flows,
)
from .days import Calendar, add_months
from .draws import Draws
from .emit import Emitter, Event, hashed_id
from .loans import (
    STATEMENT_GRACE_DAYS,
    Loan,
    LoanTerms,
    annuity_schedule,
    draw_terms,
    plan_payment,
    round_principal,
)
from .portfolio import Borrower, draw_borrower
from .revenue import daily_revenue, revenue_events
from .stories import Story, draw_story, revenue_multiplier, spiral_loans

RENEWAL_SHARE = 0.8
LINE_USE_SHARE = 0.35  # chance a healthy borrower draws on its line in a month
SAFE = ("normal", "recovered")
_first = itemgetter(0)


@dataclass
class Task:
    """A planned repayment to us; ``seq`` None catches up everything due."""

    loan: Loan
    seq: int | None
    share: float
    sec: int
    channel: str


def _round_up(cents: float, unit: int = 1000_00) -> int:
    return int(-(-cents // unit) * unit)


class Life:
    def __init__(self, b: Borrower, cal: Calendar, story: Story, rev: np.ndarray, costs: Costs,
                 rng: np.random.Generator) -> None:
        self.b, self.cal, self.story, self.rev, self.costs, self.rng = b, cal, story, rev, costs, rng
        self.draws = Draws(rng)
        self.em = Emitter(b.borrower_id, cal.iso)
        self.monthly = b.size * DAYS_PER_MONTH * 100
        self.monthly_out = costs.monthly_outflow(self.monthly)
        opening = self.monthly * rng.uniform(0.6, 1.4) + (0.5 * self.monthly if b.source == "invoice" else 0)
        self.account = Account(self.em, b.account_id, int(opening))
        self.owner = hashed_id(b.borrower_id, "owner")
        self.loans: list[Loan] = []
        self.tasks: dict[int, list[Task]] = defaultdict(list)
        self.openings: dict[int, LoanTerms] = {}
        self.statements: dict[int, list[Loan]] = defaultdict(list)
        self.spending: dict[int, list[tuple]] = defaultdict(list)
        self.catch_up = -1
        if story.outcome == "recover" and story.recover is not None:
            self.catch_up = story.recover + int(rng.integers(2, 16))

    # -- loans -----------------------------------------------------------------
    def _stress_months(self, day: int) -> float:
        return 0.0 if self.story.onset is None else max(0, day - self.story.onset) / 30.0

    def _plan(self, loan: Loan, seq: int, after: int) -> None:
        due = loan.due_day[seq - 1]
        for p in plan_payment(self.draws, due, seq, self.b.channel, self.story.phase(due), self._stress_months(due)):
            if p.day < self.cal.n_days:
                self.tasks[max(p.day, after + 1)].append(Task(loan, p.seq, p.share, p.sec, p.channel))

    def _recent_monthly_revenue(self, day: int) -> float:
        if day < 60:
            return self.monthly  # the lender's estimate from history before the window
        return float(self.rev[max(0, day - 90):day].mean()) * DAYS_PER_MONTH

    def open_loan(self, day: int, terms: LoanTerms) -> list[tuple]:
        b, cal, rng = self.b, self.cal, self.rng
        loan_id = f"L{b.index:05d}-{len(self.loans) + 1}"
        sec = self.draws.seconds(9, 17)
        paid_out = sec + self.draws.integer(60, 1800)
        size = round_principal(self._recent_monthly_revenue(day) * terms.revenue_months)
        opened = cal.dates[day]
        if terms.product == "term_loan":
            loan = Loan(loan_id, "term_loan", day, size, size, terms.annual_rate)
            for k, cents in enumerate(annuity_schedule(size, terms.annual_rate, terms.months), start=1):
                loan.add_installment(cal.day(add_months(opened, k)), cents)
            schedule = [(k, (opened + timedelta(days=loan.due_day[k - 1] - day)).isoformat(), a)
                        for k, a in enumerate(loan.amount, start=1)]
            self.em.loan_opened(day, sec, loan_id, "term_loan", size, size, terms.annual_rate,
                                b.sector, b.region, schedule)
            self.loans.append(loan)
            for k in range(1, len(loan.amount) + 1):
                self._plan(loan, k, day)
            spend = day + self.draws.integer(1, 8)  # working capital: stock, equipment, old bills
            if spend < cal.n_days:
                used = int(size * self.draws.uniform(0.5, 0.9))
                self.spending[spend].append((self.draws.seconds(9, 18), "must", used, "supplier", self.costs.suppliers[-1]))
            return [(paid_out, "in", size, "lender_disbursement", OUR_LENDER)]
        loan = Loan(loan_id, "revolving_line", day, 0, size, terms.annual_rate)
        self.em.loan_opened(day, sec, loan_id, "revolving_line", 0, size, terms.annual_rate,
                            b.sector, b.region, [])
        self.loans.append(loan)
        k = 1
        while (d := cal.day(add_months(opened, k))) < cal.n_days:
            self.statements[d].append(loan)
            k += 1
        first = _round_up(size * rng.uniform(0.3, 0.8)) if size > 2 * 1000_00 else size
        return [(paid_out, "drawdown", min(first, size), loan)]

    def statement(self, day: int, loan: Loan) -> None:
        minimum, balance = loan.statement()
        if minimum <= 0:
            return
        seq = loan.add_installment(day + STATEMENT_GRACE_DAYS, minimum)
        due = (self.cal.dates[day] + timedelta(days=STATEMENT_GRACE_DAYS)).isoformat()
        self.em.installment_due(day, loan.loan_id, seq, due, minimum, balance)
        self._plan(loan, seq, day)

    def use_line(self, day: int, loan: Loan) -> list[tuple]:
        """Now and then a healthy borrower draws on its line to buy stock, then pays the supplier."""
        available = loan.credit_limit - loan.balance
        if self.draws.uniform() >= LINE_USE_SHARE or available < 1000_00 or loan.overdue_or_due(day - 1) > 0:
            return []
        cents = min(available, _round_up(available * self.draws.uniform(0.2, 0.6)))
        spend = day + self.draws.integer(1, 6)
        if spend < self.cal.n_days:
            used = int(cents * self.draws.uniform(0.8, 1.0))
            self.spending[spend].append((self.draws.seconds(9, 18), "must", used, "supplier", self.costs.suppliers[0]))
        return [(self.draws.seconds(9, 17), "drawdown", cents, loan)]

    def draw(self, day: int, sec: int, loan: Loan, cents: int) -> None:
        loan.balance += cents
        self.em.drawdown(day, sec, loan.loan_id, cents)
        self.account.move_in(day, sec, cents, "lender_disbursement", OUR_LENDER)

    # -- money -----------------------------------------------------------------
    def cover(self, day: int, sec: int, shortfall: int, phase: str) -> None:
        """Find money for a payment: the revolving line first, then the owner (if able)."""
        if phase != "stopped":
            for loan in self.loans:
                available = loan.credit_limit - loan.balance
                if loan.product != "revolving_line" or available <= 0 or loan.overdue_or_due(day - 1) > 0:
                    continue
                cents = min(available, _round_up(shortfall))
                if cents >= shortfall or phase == "stress":
                    self.draw(day, sec, loan, cents)
                    shortfall -= cents
                break
        if shortfall > 0 and phase in SAFE:
            self.account.move_in(day, sec, _round_up(shortfall + 0.25 * self.monthly_out), "transfer", self.owner)

    def pay_out(self, day: int, sec: int, cents: int, kind: str, counterparty: str, phase: str) -> None:
        if self.account.balance < cents:
            self.cover(day, sec, cents - self.account.balance, phase)
        cents = min(cents, self.account.balance if phase in SAFE else int(self.account.balance * 0.8))
        if cents > 0:
            self.account.move_out(day, sec, cents, kind, counterparty)

    def repay(self, day: int, t: Task, phase: str) -> None:
        loan = t.loan
        if loan.closed or phase == "stopped":
            return
        if t.seq is None:
            cents = loan.overdue_or_due(day)
        else:
            left = loan.remaining(t.seq)
            cents = left if t.share >= 1.0 else min(left, round(t.share * loan.amount[t.seq - 1]))
        if cents <= 0:
            return
        if self.account.balance < cents:
            self.cover(day, t.sec, cents - self.account.balance, phase)
        if self.account.balance < cents:
            if day + 1 < self.cal.n_days:
                self.tasks[day + 1].append(t)  # cannot pay today: try again tomorrow
            return
        self.account.move_out(day, t.sec, cents, "loan_repayment", OUR_LENDER)
        loan.pay(cents, t.seq, day)
        sec = min(t.sec + self.draws.integer(20, 900), 86399)
        self.em.repayment(day, sec, loan.loan_id, cents, t.seq, t.channel)
        if loan.product == "term_loan" and loan.fully_paid():
            loan.closed = True
            self.em.loan_closed(day, sec, loan.loan_id, "repaid")
            if phase in SAFE and self.draws.uniform() < RENEWAL_SHARE:
                start = day + self.draws.integer(1, 21)
                if start < self.cal.n_days - 30:
                    self.openings[start] = draw_terms(self.rng, margin(self.b.sector))

    def _related(self) -> str:
        return hashed_id(self.b.borrower_id, "related", self.draws.integer(0, 3))

    def owner_draw(self, day: int, sec: int) -> None:
        """Surplus cash (above two months of outgoings) goes to the owner or a related account."""
        if self.account.balance > 2.0 * self.monthly_out:
            surplus = (self.account.balance - 1.2 * self.monthly_out) * self.draws.uniform(0.7, 1.0)
            cents = int(surplus) // 100_00 * 100_00
            if cents > 0:
                to = self.owner if self.draws.uniform() < 0.7 else self._related()
                self.account.move_out(day, sec, cents, "transfer", to)

    def divert(self, day: int, sec: int) -> None:
        """A failing owner moves cash out to related parties before payments stop."""
        cents = int((self.account.balance - 0.1 * self.monthly_out) * self.draws.uniform(0.4, 0.8)) // 100_00 * 100_00
        if cents > 0:
            self.account.move_out(day, sec, cents, "transfer", self._related())

    # -- the days ----------------------------------------------------------------
    def run(self, plan: list[list[tuple]]) -> None:
        story, cal = self.story, self.cal
        closure = cal.n_days if story.closure is None else story.closure
        month_ends = cal.month_ends
        openings, statements, tasks, spending = self.openings, self.statements, self.tasks, self.spending
        move_in = self.account.move_in
        for day in range(cal.n_days):
            moves = plan[day]
            if day in openings:
                moves = moves + self.open_loan(day, openings.pop(day))
            if day in statements:
                for loan in statements.pop(day):
                    self.statement(day, loan)
                    if story.phase(day) in SAFE:
                        moves = moves + self.use_line(day, loan)
            if day == self.catch_up:
                for loan in self.loans:
                    if not loan.closed:
                        tasks[day].append(Task(loan, None, 1.0, self.draws.seconds(9, 20), self.b.channel))
            phase = story.phase(day)
            if day in spending:
                moves = moves + spending.pop(day)
            if day in tasks:
                moves = moves + [(t.sec, "repay", t) for t in tasks.pop(day)]
            if month_ends[day] and day < closure:
                if phase in SAFE:
                    moves = moves + [(self.draws.seconds(17, 20), "draw")]
                elif story.outcome == "default":
                    moves = moves + [(self.draws.seconds(17, 20), "divert")]
            if len(moves) > 1:
                moves.sort(key=_first)
            for m in moves:
                kind = m[1]
                if kind == "in":
                    move_in(day, m[0], m[2], m[3], m[4])
                elif kind == "repay":
                    self.repay(day, m[2], phase)
                elif kind == "drawdown":
                    self.draw(day, m[0], m[3], m[2])
                elif kind == "draw":
                    self.owner_draw(day, m[0])
                elif kind == "divert":
                    self.divert(day, m[0])
                else:  # must / supplier
                    self.pay_out(day, m[0], m[2], m[3], m[4], phase)

    def label(self) -> dict[str, Any]:
        n, cal, story = self.cal.n_days, self.cal, self.story
        hits = [d for d in (loan.default_day() for loan in self.loans) if d is not None and d < n]
        default = min(hits) if hits else None
        return {
            "borrower_id": self.b.borrower_id,
            "sector": self.b.sector,
            "story": story.name,
            "defaulted": default is not None,
            "default_date": cal.iso[default] if default is not None else None,
            "onset_date": cal.iso[story.onset] if story.onset is not None else None,
            "recovered": story.outcome == "recover" and story.recover is not None and story.recover < n,
            "benign_date": cal.iso[story.benign_day] if story.benign_day is not None else None,
        }


def simulate_borrower(index: int, seed: int, cal: Calendar) -> tuple[list[Event], dict[str, Any]]:
    """All events of borrower ``index`` (in the order made) and its label."""
    rng = np.random.default_rng([seed, index])
    b = draw_borrower(index, rng)
    costs = draw_costs(b, rng)
    terms = draw_terms(rng, margin(b.sector))
    loan_day = int(rng.integers(14, max(15, min(75, cal.n_days // 4)) + 1))
    story = draw_story(b.sector, cal, rng, loan_day)
    rev = daily_revenue(b, cal, revenue_multiplier(story, cal), rng)
    lenders = [other_lender(int(k)) for k in rng.integers(0, 40, size=6)]
    others = bank_loans(b, cal, rng) + spiral_loans(story, b.size * DAYS_PER_MONTH * 100, rng, lenders)
    life = Life(b, cal, story, rev, costs, rng)
    revenue_events(life.em, b, cal, rev)
    life.openings[loan_day] = terms
    life.run(plan_flows(b, costs, cal, rev, story, others, life.draws))
    return life.em.events, life.label()
