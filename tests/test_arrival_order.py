"""The core's records do not depend on the arrival order of events within the allowed lateness.

A borrower's events (loan, daily sales, account movements with other
lenders' money, repayments on time, late or missed) are delivered once in
event-time order and once shuffled: each event may arrive up to
``lateness_seconds`` after it happened. Every detector rule is switched on, so
revenue, cash-flow, multi-lending, repayment and delinquency alerts, tasks and
limit changes are all in play. The records must be the same, field for field.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.rules import load_rules
from streams import events as ev
from streams.core import Policy, advance, new_state, step

TZ = dt.timezone(dt.timedelta(hours=8))
POLICY = Policy(rules=load_rules(include_disabled=True))
START = dt.datetime(2026, 1, 5, 9, tzinfo=TZ)
ENC = msgspec.json.Encoder(decimal_format="string")


def history(seed: int, days: int, drop_from: int, lenders: int, late: list[int]) -> list[ev.Event]:
    """A shop: daily sales (down 45% from ``drop_from``), card settlements and costs, other lenders, repayments."""
    rng = random.Random(seed)
    n = iter(range(10**6))
    out: list[ev.Event] = []

    def at(day: int, minute: int) -> dt.datetime:
        return START.replace(hour=0) + dt.timedelta(days=day, minutes=minute)

    dues = [(START + dt.timedelta(days=30 * (k + 1))).date() for k in range(len(late))]
    out.append(ev.LoanOpened(
        event_id="lo", borrower_id="B1", occurred_at=START, loan_id="L1", principal=Decimal(6000) * len(dues),
        credit_limit=Decimal(6000) * len(dues), sector="retail",
        installments=[ev.Installment(seq=i + 1, due_date=d, amount_due=Decimal(6000)) for i, d in enumerate(dues)]))
    balance = Decimal(40000)
    for day in range(days):
        level = 3000 * (0.55 if day >= drop_from else 1.0) * rng.uniform(0.8, 1.2)
        amount = Decimal(round(level, 2))
        out.append(ev.Revenue(event_id=f"rv{next(n)}", borrower_id="B1", amount=amount,
                              occurred_at=at(day, rng.randrange(22 * 60, 24 * 60))))
        balance += amount
        out.append(ev.Cashflow(event_id=f"cf{next(n)}", borrower_id="B1", occurred_at=at(day + 1, rng.randrange(0, 120)),
                               account_id="A1", direction="in", amount=amount, counterparty_type="customer",
                               balance_after=balance))
        if day % 7 == 3:
            cost = Decimal(round(3000 * 7 * 0.7, 2))
            balance -= cost
            out.append(ev.Cashflow(event_id=f"cf{next(n)}", borrower_id="B1", occurred_at=at(day, rng.randrange(0, 24 * 60)),
                                   account_id="A1", direction="out", amount=cost, counterparty_type="supplier",
                                   balance_after=balance))
    for k in range(lenders):
        day = drop_from + 3 + 6 * k
        out.append(ev.Cashflow(event_id=f"cf{next(n)}", borrower_id="B1", occurred_at=at(day, rng.randrange(9 * 60, 17 * 60)),
                               account_id="A1", direction="in", amount=Decimal(20000), counterparty_id=f"cp-bank-{k}",
                               counterparty_type="lender_disbursement"))
    for i, (due, days_late) in enumerate(zip(dues, late, strict=True)):
        if days_late < 0:  # missed
            continue
        paid = dt.datetime.combine(due + dt.timedelta(days=days_late), dt.time(), TZ) \
            + dt.timedelta(minutes=rng.randrange(0, 24 * 60))
        out.append(ev.Repayment(event_id=f"rp{i}", borrower_id="B1", occurred_at=paid, loan_id="L1",
                                amount=Decimal(6000), installment_seq=i + 1))
    return sorted(out, key=lambda e: e.occurred_at)


def records(events: list[ev.Event], until: dt.datetime) -> list[bytes]:
    state = new_state("B1")
    out = []
    for e in events:
        out.extend(step(state, e, POLICY))
    out.extend(advance(state, int(until.timestamp()), POLICY, final=True))
    return sorted(ENC.encode(o) for o in out)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), drop_from=st.integers(40, 90), lenders=st.integers(0, 3),
       late=st.lists(st.sampled_from([0, 0, 3, 12, -1]), min_size=3, max_size=4), shuffle_seed=st.integers(0, 10**6))
def test_outputs_do_not_depend_on_the_arrival_order_within_the_lateness(seed, drop_from, lenders, late, shuffle_seed):
    events = history(seed, 130, drop_from, lenders, late)
    lateness = POLICY.lateness_seconds
    rng = random.Random(shuffle_seed)
    arrival = sorted(events, key=lambda e: e.occurred_at.timestamp() + rng.uniform(0, lateness))
    until = START + dt.timedelta(days=140)
    in_order = records(events, until)
    assert in_order, "the story must produce records for the comparison to mean something"
    assert records(arrival, until) == in_order
