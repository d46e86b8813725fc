"""The business account: customer receipts, costs and the balance after each movement.

Receipts follow revenue the way the money really arrives: card/POS takings are
settled the next morning (less cash and fees), web-shop platforms pay weekly a
week in arrears (less commission), invoices are paid by each customer on its
own terms (15–65 days). Costs are what makes cash run out when revenue falls:
suppliers are paid in proportion to recent sales (weekly, or monthly for B2B),
while payroll, rent, utilities and the owner's monthly draw (a ``transfer``)
are fixed; tax is a share of last month's sales. Loan money (ours, other
lenders') is spent within days on stock, equipment or old bills. Some
borrowers, whatever their story, also repay another lender's loan booked
before the window, or take one during it, so other lenders are no sign of
trouble by themselves.

Amounts are integer cents. A plan is a list per day of movements
``(second, kind, cents, counterparty_type, counterparty_id)`` where kind is
``in`` or an outflow (``must``: fixed, ``supplier``: purchases); a borrower in
trouble pays outflows only in part when cash is short (see ``borrower.py``).

>>> margin("catering") > margin("textile")
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .days import Calendar
from .draws import Draws
from .emit import Emitter, hashed_id
from .portfolio import Borrower
from .stories import OtherLoan, Story

Move = tuple[int, str, int, str, str]

# Shares of typical monthly revenue: cost of goods, payroll, rent, utilities, tax on
# sales, the owner's monthly draw. About 40 % of costs are fixed, so when sales fall
# the business loses money and its cash runs down.
COSTS = {
    "catering": (0.36, 0.25, 0.12, 0.04, 0.03, 0.07),
    "ecommerce": (0.50, 0.13, 0.04, 0.02, 0.03, 0.08),
    "textile": (0.55, 0.17, 0.05, 0.03, 0.03, 0.06),
    "manufacturing": (0.53, 0.18, 0.06, 0.04, 0.03, 0.05),
}
POS_SETTLED = 0.93  # the rest is cash and card fees
PLATFORM_PAID = 0.95  # after commission
DAYS_PER_MONTH = 30.4


def margin(sector: str) -> float:
    """Margin on revenue before debt service (after the owner's draw, before fees)."""
    return 1.0 - sum(COSTS[sector])


@dataclass(frozen=True)
class Costs:
    cogs: float
    payroll: int
    rent: int
    utilities: int
    tax: float
    owner: int
    payroll_dom: int
    rent_dom: int
    utilities_dom: int
    supplier_weekday: int  # -1: monthly on the 25th (B2B)
    suppliers: tuple[str, ...]
    customers: tuple[str, ...]
    terms: tuple[int, ...]  # days each invoice customer takes to pay
    payer: str  # acquirer or platform that settles sales

    def monthly_outflow(self, monthly_revenue: float) -> float:
        return self.cogs * monthly_revenue + self.payroll + self.rent + self.utilities + self.owner


def draw_costs(b: Borrower, rng: np.random.Generator) -> Costs:
    cogs, payroll, rent, utilities, tax, owner = COSTS[b.sector]
    monthly = b.size * DAYS_PER_MONTH * 100

    def jitter(share: float) -> int:
        return int(round(monthly * share * float(rng.uniform(0.8, 1.2))))

    n_customers = int(rng.integers(3, 11))
    return Costs(
        cogs=cogs * float(rng.uniform(0.9, 1.1)),
        payroll=jitter(payroll), rent=jitter(rent), utilities=jitter(utilities), tax=tax, owner=jitter(owner),
        payroll_dom=int(rng.choice([5, 10, 10, 15, 15, 25])),
        rent_dom=int(rng.integers(1, 6)),
        utilities_dom=int(rng.integers(18, 26)),
        supplier_weekday=-1 if b.source == "invoice" else int(rng.integers(0, 5)),
        suppliers=tuple(hashed_id(b.borrower_id, "supplier", k) for k in range(int(rng.integers(2, 6)))),
        customers=tuple(hashed_id(b.borrower_id, "customer", k) for k in range(n_customers)),
        terms=tuple(int(rng.integers(15, 66)) for _ in range(n_customers)),
        payer=hashed_id("payer", b.source, int(rng.integers(0, 8))),
    )


def other_lender(k: int) -> str:
    """Counterparty id of another lender (banks and online lenders share one pool)."""
    return hashed_id("lender", k)


OUR_LENDER = hashed_id("lender", "us")


def plan_flows(b: Borrower, c: Costs, cal: Calendar, rev: np.ndarray, story: Story,
               others: list[OtherLoan], draws: Draws) -> list[list[Move]]:
    """Every movement that does not depend on the balance, per day."""
    n = cal.n_days
    plan: list[list[Move]] = [[] for _ in range(n)]
    end = n if story.closure is None else min(n, story.closure)
    revenue = rev.tolist()
    weekdays, doms = cal.weekdays, cal.doms
    uniform, integer = draws.uniform, draws.integer
    # Customer receipts.
    if b.source == "pos":
        for d in range(min(end, n - 1)):
            if revenue[d]:
                plan[d + 1].append((draws.seconds(3, 7), "in", int(revenue[d] * POS_SETTLED), "customer", c.payer))
    elif b.source == "ecommerce":
        for d in range(14, end):
            if weekdays[d] == 1:
                week = sum(revenue[d - 13:d - 6])
                if week:
                    plan[d].append((draws.seconds(9, 12), "in", int(week * PLATFORM_PAID), "customer", c.payer))
    else:
        for d in range(end):
            if revenue[d]:
                k = integer(0, len(c.customers))
                pay = d + c.terms[k] + integer(-3, 8)
                if pay < end:
                    plan[pay].append((draws.seconds(9, 17), "in", revenue[d], "customer", c.customers[k]))
    # Suppliers, in proportion to recent sales.
    supplier = 0
    for d in range(end):
        if c.supplier_weekday >= 0 and weekdays[d] == c.supplier_weekday and d >= 7:
            due = int(c.cogs * sum(revenue[d - 7:d]))
        elif c.supplier_weekday < 0 and doms[d] == 25 and d >= 25:
            due = int(c.cogs * sum(revenue[max(0, d - 30):d]))
        else:
            continue
        if due > 0:
            plan[d].append((draws.seconds(9, 17), "supplier", due, "supplier", c.suppliers[supplier % len(c.suppliers)]))
            supplier += 1
    # Fixed monthly costs and tax on last month's sales.
    for d in range(end):
        dom = doms[d]
        if dom == c.payroll_dom:
            plan[d].append((draws.seconds(9, 11), "must", int(c.payroll * uniform(0.97, 1.03)), "payroll",
                            hashed_id(b.borrower_id, "payroll")))
        if dom == c.rent_dom:
            plan[d].append((draws.seconds(9, 17), "must", c.rent, "rent", hashed_id(b.borrower_id, "landlord")))
        if dom == c.utilities_dom:
            plan[d].append((draws.seconds(9, 17), "must", int(c.utilities * uniform(0.85, 1.15)), "utilities",
                            hashed_id("utility", b.region)))
        if dom == 28:
            plan[d].append((draws.seconds(18, 22), "must", c.owner, "transfer", hashed_id(b.borrower_id, "owner")))
        if dom == 15 and d >= 15:
            tax = int(c.tax * sum(revenue[max(0, d - 45):d - 15]))
            if tax > 0:
                plan[d].append((draws.seconds(9, 16), "must", tax, "tax", hashed_id("tax", b.region)))
    # Loans from other lenders: disbursements in (and soon spent), repayments out.
    for o in others:
        if o.disbursed_day is not None and o.disbursed_day < end:
            plan[o.disbursed_day].append((draws.seconds(9, 18), "in", o.amount, "lender_disbursement", o.lender_id))
            spend = o.disbursed_day + integer(1, 6)
            if spend < end:
                to = (c.suppliers[0], "supplier") if uniform() < 0.6 else (hashed_id(b.borrower_id, "owner"), "transfer")
                plan[spend].append((draws.seconds(9, 18), "must", int(o.amount * uniform(0.7, 1.0)), to[1], to[0]))
        for d in o.payment_days:
            if 0 <= d < end:
                plan[d].append((draws.seconds(8, 20), "must", o.payment, "loan_repayment", o.lender_id))
    # A benign one-off: a large supplier payment (stocking up).
    if story.name == "big_supplier_payment" and story.benign_day is not None and story.benign_day < end:
        big = int(c.cogs * b.size * DAYS_PER_MONTH * 100 * uniform(1.5, 3.0))
        plan[story.benign_day].append((draws.seconds(9, 17), "supplier", big, "supplier", c.suppliers[0]))
    return plan


def bank_loans(b: Borrower, cal: Calendar, rng: np.random.Generator) -> list[OtherLoan]:
    """An ordinary bank loan from elsewhere, for some borrowers whatever their story."""
    out = []
    monthly = b.size * DAYS_PER_MONTH * 100
    n = cal.n_days
    roll = rng.random()
    if roll < 0.15:  # booked before the window, repaid monthly throughout
        first = int(rng.integers(0, 28))
        payment = int(monthly * rng.uniform(0.04, 0.10))
        out.append(OtherLoan(other_lender(int(rng.integers(0, 40))), None, 0,
                             list(range(first, n, 30)), payment))
    elif roll < 0.21:  # a new one during the window
        day = int(rng.integers(0, n))
        amount = int(round(monthly * rng.uniform(0.5, 1.5) / 100_00)) * 100_00
        out.append(OtherLoan(other_lender(int(rng.integers(0, 40))), day, amount,
                             [day + 30 * (k + 1) for k in range(12)], int(amount * 0.09)))
    return out


class Account:
    """The borrower's business account; every movement becomes a ``cashflow/1``."""

    def __init__(self, em: Emitter, account_id: str, balance: int) -> None:
        self.em = em
        self.account_id = account_id
        self.balance = balance

    def move_in(self, day: int, sec: int, cents: int, kind: str, counterparty: str) -> None:
        self.balance += cents
        self.em.cashflow(day, sec, self.account_id, "in", cents, self.balance, kind, counterparty)

    def move_out(self, day: int, sec: int, cents: int, kind: str, counterparty: str) -> None:
        if cents > self.balance:
            raise ValueError("the account cannot go below zero")
        self.balance -= cents
        self.em.cashflow(day, sec, self.account_id, "out", cents, self.balance, kind, counterparty)
