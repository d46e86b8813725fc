"""A seeded stream of contract events for the live/replay parity tests.

Dated in 2024, so that by today every timer (due dates, DPD stages up to 360
days) has long passed: the live worker's clock ticks and a replay ``--until``
now reach the same end state. The behaviours cover every branch of the core:
on time, late, partial, never paying, revolving lines with statements and
drawdowns, restructurings, closures, and repayments for unknown loans.
"""

from __future__ import annotations

import datetime as dt
import random

import msgspec

TZ = dt.timezone(dt.timedelta(hours=8))
START = dt.date(2024, 1, 1)


def _t(day: dt.date, hour: int = 10, minute: int = 0) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).isoformat()


def borrower_events(b: int, rng: random.Random) -> list[dict]:
    bid = f"B{b:05d}"
    lid = f"L{b:05d}"
    opened = START + dt.timedelta(days=rng.randrange(0, 60))
    n = rng.choice((6, 9, 12))
    amount = rng.choice((800, 1500, 2400, 5000))
    dues = [opened + dt.timedelta(days=30 * (k + 1)) for k in range(n)]
    revolving = rng.random() < 0.15
    events: list[dict] = []
    seq = iter(range(10**6))

    def add(schema: str, when: str, **fields: object) -> None:
        events.append({"schema": schema, "event_id": f"{bid}-{next(seq)}", "borrower_id": bid,
                       "occurred_at": when, **fields})

    add("loan_opened/1", _t(opened, 9), loan_id=lid, product="revolving_line" if revolving else "term_loan",
        principal=f"{amount * n}.00", credit_limit=f"{amount * n}.00", currency="CNY", annual_rate=0.08,
        sector=rng.choice(("textile", "catering", "ecommerce", "manufacturing")), region="CN-33",
        installments=[] if revolving else
        [{"seq": k + 1, "due_date": d.isoformat(), "amount_due": f"{amount}.00"} for k, d in enumerate(dues)])
    behaviour = rng.choices(("on_time", "late", "partial", "never", "restructure"), (60, 18, 10, 7, 5))[0]
    stop_at = rng.randrange(1, n) if behaviour in ("partial", "never") else n
    for k, due in enumerate(dues):
        if revolving:
            add("installment_due/1", _t(due - dt.timedelta(days=20), 0), loan_id=lid, seq=k + 1,
                due_date=due.isoformat(), amount_due=f"{amount}.00", statement_balance=f"{amount * 5}.00")
            add("drawdown/1", _t(due - dt.timedelta(days=15), 14), loan_id=lid, amount=f"{amount}.00")
        if behaviour == "never" and k >= stop_at:
            continue
        if behaviour == "restructure" and k == 2:
            new = [{"seq": j + 1, "due_date": (due + dt.timedelta(days=60 + 30 * (j - 2))).isoformat(),
                    "amount_due": f"{amount}.00"} for j in range(2, n)]
            add("schedule_changed/1", _t(due + dt.timedelta(days=10), 16), loan_id=lid, installments=new,
                reason="restructure")
        if behaviour == "restructure" and k >= 2:
            pay_day = due + dt.timedelta(days=60 + rng.randrange(-3, 1))
        elif behaviour == "late" and rng.random() < 0.5:
            pay_day = due + dt.timedelta(days=rng.choice((3, 12, 35, 70)))
        else:
            pay_day = due - dt.timedelta(days=rng.randrange(0, 4))
        paid = amount if not (behaviour == "partial" and k >= stop_at) else amount * rng.choice((0.3, 0.5))
        add("repayment/1", _t(pay_day, rng.randrange(8, 22), rng.randrange(60)), loan_id=lid,
            amount=f"{paid:.2f}", channel=rng.choice(("app", "bank")),
            **({"installment_seq": k + 1} if rng.random() < 0.3 and not revolving else {}))
    if behaviour == "on_time" and not revolving and rng.random() < 0.5:
        add("loan_closed/1", _t(dues[-1] + dt.timedelta(days=1), 12), loan_id=lid, reason="repaid")
    for w in range(rng.randrange(18, 30)):
        day = opened + dt.timedelta(days=7 * w + 6)
        add("revenue/1", _t(day, 23, 59), amount=f"{rng.lognormvariate(8, 0.6):.2f}", period="week", source="pos")
    for _ in range(rng.randrange(3, 8)):
        day = opened + dt.timedelta(days=rng.randrange(1, 200))
        add("cashflow/1", _t(day, 11), account_id=f"A{b}", direction=rng.choice(("in", "out")),
            amount=f"{rng.randrange(100, 20000)}.00", balance_after=f"{rng.randrange(0, 90000)}.00",
            counterparty_type=rng.choice(("customer", "supplier", "payroll", "rent", "tax")))
    if rng.random() < 0.02:
        add("repayment/1", _t(opened + dt.timedelta(days=40), 12), loan_id="L-unknown", amount="10.00")
    return events


def seeded_stream(borrowers: int = 520, seed: int = 7) -> list[bytes]:
    """Events of ``borrowers`` borrowers in event-time order, as JSON lines (bytes)."""
    rng = random.Random(seed)
    events = [e for b in range(borrowers) for e in borrower_events(b, rng)]
    events.sort(key=lambda e: dt.datetime.fromisoformat(e["occurred_at"]))
    return [msgspec.json.encode(e) for e in events]
