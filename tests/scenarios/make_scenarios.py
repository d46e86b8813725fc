"""Write the end-to-end scenario files: borrower stories as event files, each with the alerts it must raise.

    python tests/scenarios/make_scenarios.py     # rewrites the files next to it

Each story is ``<name>.jsonl`` (contract events in event-time order: exactly
what ``loanwatch replay`` reads) and ``<name>.expect.json`` (the story in words,
the borrower, ``until``: the moment time is advanced to at the end, as
``loanwatch replay <name>.jsonl --out DIR --until <until>``, and what the
ALERTS must say). ``tests/test_alert_scenarios.py`` runs every story through
the real core and checks the expectations. Deterministic: fixed seeds, so the
files do not change unless a story does (a test checks that they match this
script).

The building blocks (a story, a loan with its schedule, daily sales with a
weekday rhythm, the textile season) are the detector suite's
(``tests/scenarios_detectors/make_detector_scenarios.py``); this script adds a
business account (card settlements, suppliers, payroll, rent, the loan's
instalments, running balance) and repayments paid late or not at all.

Expectations (dates are the borrower's local days, Asia/Shanghai, inclusive;
an alert's day is the local day of its record's ``updated_at``):

* ``{"any_alert": "never"}``: no alert record at all;
* ``{"type": t, "never": true}``: no alert of type ``t`` (optionally only ``"between": [d1, d2]``);
* ``{"type": t, "opens_between": [d1, d2]}``: the first alert of type ``t`` opens within the days,
  with ``"severity"`` exactly or ``"min_severity"`` at least, if given;
* ``{"type": t, "reaches": severity, "between": [d1, d2]}``: its first record of at least that severity;
* ``{"type": t, "code": c, "between": [d1, d2]}``: its first record carrying reason code ``c``;
* ``{"type": t, "max_opens": n}``: at most ``n`` episodes open;
* ``{"type": t, "resolved_between": [d1, d2]}``: its first episode resolves within the days;
* ``{"type": t, "open_at_end": bool}``: an episode is (or is not) still open at ``until``;
* ``{"type": t, "inhibited_by_type": u}``: every record of ``t`` while a critical ``u`` alert is open
  carries ``inhibited_by`` = that alert's id (and there is at least one such record);
* ``{"type": t, "inhibition_lifted_between": [d1, d2]}``: the ``updated`` record that lifts the inhibition;
* ``{"type": t, "renotify_days": n}``: an open, uninhibited alert is sent again (``updated``, reason
  ``reminder``) exactly every ``n`` days after its previous record, never silent longer;
* ``{"only_types": [t, ...]}``: no alert of any other type.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scenarios_detectors"))
from make_detector_scenarios import (  # noqa: E402
    SPRING_FESTIVAL_2026,
    TEXTILE,
    Story,
    _d,
    _days,
    _month_shape,
    daily_sales,
)

sys.path.remove(str(HERE.parent / "scenarios_detectors"))

ONE_DAY = dt.timedelta(days=1)


def until(day: str) -> str:
    """``--until`` for a story whose last day is ``day``: the end of that local day."""
    return f"{_d(day) + ONE_DAY}T00:00:00+08:00"


def pay(s: Story, seq: int, day: str, amount: str = "10000.00") -> None:
    """A repayment of installment ``seq`` on ``day`` (late, early or on time)."""
    s.event("repayment/1", f"{day}T10:00:00+08:00", loan_id=f"L-{s.borrower}", amount=amount,
            installment_seq=seq, channel="app")


def periodic_revenue(s: Story, ends: Iterable[dt.date], period: str, base: float, *, seed: int,
                     sigma: float = 0.08, source: str = "invoice") -> None:
    """Weekly or monthly sales totals, reported at the end of each period."""
    rng = random.Random(seed)
    for end in ends:
        amount = base * math.exp(rng.gauss(-sigma * sigma / 2, sigma))
        s.event("revenue/1", f"{end}T23:59:59+08:00", amount=f"{amount:.2f}", period=period, source=source)


Move = tuple[dt.date, int, str, float, str, "str | None"]  # day, hour, direction, amount, counterparty type, id


def books(s: Story, *, balance: float, last: str, supplier_share: float | Callable[[dt.date], float] = 0.6,
          weekly_supplier: bool = False, payroll: float = 60_000.0,
          payday: Callable[[dt.date], dt.date] | int = 10, rent: float = 25_000.0,
          extra: Iterable[Move] = ()) -> None:
    """The borrower's business account from its first sale to ``last``, driven by the story's sales and repayments.

    Card and platform settlements arrive the day after each sale (customer);
    suppliers are paid on the 5th, 15th and 25th for the goods sold since their
    last payment (``weekly_supplier``: every Tuesday); payroll once a month
    (``payday``: a day of the month, or a function of the month's first day
    giving the pay date); rent on the 1st; each repayment of the loan leaves the
    account an hour before it reaches us (``loan_repayment``, no counterparty
    id). Every movement carries the running ``balance_after``. An ``extra``
    outflow with a negative amount ``-x`` is one that leaves ``x`` in the account.
    """
    share = supplier_share if callable(supplier_share) else (lambda d, x=supplier_share: x)
    sales: dict[dt.date, float] = {}
    repaid: dict[dt.date, float] = {}
    for e in s.events:
        day = _d(str(e["occurred_at"])[:10])
        if e["schema"] == "revenue/1":
            sales[day] = sales.get(day, 0.0) + float(str(e["amount"]))
        elif e["schema"] == "repayment/1":
            repaid[day] = repaid.get(day, 0.0) + float(str(e["amount"]))
    first, end = min(sales), _d(last)
    moves: list[Move] = list(extra)

    def supplier_day(d: dt.date) -> bool:
        return d.weekday() == 1 if weekly_supplier else d.day in (5, 15, 25)

    # the business existed before the statement: yesterday's takings settle on its first day, and the
    # first supplier payment covers the goods sold since the previous one
    usual = sum(amount for _, amount in sorted(sales.items())[:14]) / 14
    sales[first - ONE_DAY] = usual
    before = first - ONE_DAY
    while not supplier_day(before):
        before -= ONE_DAY
    unpaid = usual * share(first) * (first - before).days  # goods sold that the supplier has not been paid for
    for day in _days(first.isoformat(), (end - first).days + 1):
        if day - ONE_DAY in sales:
            moves.append((day, 10, "in", sales[day - ONE_DAY], "customer", None))
        if supplier_day(day):
            if unpaid > 0:
                moves.append((day, 14, "out", unpaid, "supplier", None))
            unpaid = 0.0
        unpaid += sales.get(day, 0.0) * share(day)
        if day.day == 1:
            moves.append((day, 8, "out", rent, "rent", None))
            pay_day = payday(day) if callable(payday) else day.replace(day=payday)
            if first <= pay_day <= end:
                moves.append((pay_day, 16, "out", payroll, "payroll", None))
        if day in repaid:
            moves.append((day, 9, "out", repaid[day], "loan_repayment", None))
    moves.sort(key=lambda m: (m[0], m[1]))
    for day, hour, direction, amount, kind, counterparty in moves:
        if direction == "out" and amount < 0:  # a transfer that leaves -amount in the account
            amount = balance + amount
        balance += amount if direction == "in" else -amount
        s.cash(day, hour, direction, amount, kind, balance=balance, counterparty=counterparty)


def hovering(level: float, start: str, weeks: int, *, seed: int, sigma: float = 0.08) -> Callable[[dt.date], float]:
    """A sales factor that hovers around ``level`` for ``weeks`` weeks from ``start`` (a new level each week)."""
    rng = random.Random(seed)
    by_week = [level * math.exp(rng.gauss(0, sigma)) for _ in range(weeks)]

    def factor(d: dt.date) -> float:
        k = (d - _d(start)).days // 7
        return by_week[k] if 0 <= k < weeks else 1.0

    return factor


def sales(s: Story, start: str, last: str, **kw: object) -> None:
    """Daily sales (the detector suite's ``daily_sales``) from ``start`` to ``last`` inclusive."""
    daily_sales(s, start, (_d(last) - _d(start)).days + 1, **kw)  # type: ignore[arg-type]


def shop(s: Story, *, opened: str, start: str, last: str, seed: int, sector: str = "retail",
         factor: Callable[[dt.date], float] = lambda d: 1.0, balance: float = 400_000.0,
         cash: bool = False, **account: object) -> None:
    """A steady shop: a 12-month loan, daily sales of about 10,000 with a weekday rhythm,
    every installment paid on its due date, and (``cash``) its business account (:func:`books`)."""
    s.loan(_d(opened), sector)
    sales(s, start, last, seed=seed, factor=factor)
    s.repayments_until(_d(last))
    if cash:
        books(s, balance=balance, last=last, **account)  # type: ignore[arg-type]


def stories() -> list[Story]:
    out: list[Story] = []

    def story(name: str, borrower: str, text: str) -> Story:
        s = Story(name, borrower, text)
        out.append(s)
        return s

    # ------------------------------------------------------------------ the stories of issue 3

    s = story("textile_off_season", "B-TEX", "A textile borrower's usual summer off-season: orders fall about "
              "a quarter from June to August and pick up for the autumn peak, as the trade's calendar says. "
              "Usual for the trade: no alert at all.")
    shop(s, opened="2025-12-20", start="2026-01-01", last="2026-12-31", seed=101, sector="textile",
         factor=lambda d: _month_shape(d, TEXTILE))
    s.until = until("2026-12-31")
    s.expect = [{"type": "revenue_decline", "never": True}, {"any_alert": "never"}]

    s = story("textile_off_season_account", "B-TEXACC", "A labour-intensive garment workshop's account "
              "through its usual summer off-season: sales and fabric purchases fall about a quarter from June "
              "to August, payroll (110,000, over a third of sales) and rent stay. Usual for the trade, repaid on "
              "time: no alert.")
    shop(s, opened="2025-12-20", start="2026-01-01", last="2026-12-31", seed=134, sector="textile", cash=True,
         factor=lambda d: _month_shape(d, TEXTILE), payroll=110_000.0, rent=15_000.0, supplier_share=0.45)
    s.until = until("2026-12-31")
    s.expect = [{"type": "margin_decline", "never": True}, {"type": "cash_runway", "never": True},
                {"any_alert": "never"}]

    onset = _d("2026-07-01")
    s = story("revenue_down_40pct_three_weeks", "B-DROP", "A shop's sales fall 40% for three weeks from "
              "2026-07-01, then come back: a revenue warning within 7 days of the onset, one episode, "
              "resolved once sales have been back for the hysteresis span.")
    shop(s, opened="2026-02-20", start="2026-03-02", last="2026-09-30", seed=102,
         factor=lambda d: 0.6 if onset <= d < onset + dt.timedelta(days=21) else 1.0)
    s.until = until("2026-09-30")
    s.expect = [{"type": "revenue_decline", "opens_between": ["2026-07-01", "2026-07-08"], "min_severity": "warning"},
                {"type": "revenue_decline", "max_opens": 1},
                {"type": "revenue_decline", "resolved_between": ["2026-07-29", "2026-08-25"]},
                {"only_types": ["revenue_decline"]}]

    s = story("cash_runway_under_15_days", "B-CASH", "On 2026-05-20 the owner moves money out of the business "
              "account to another venture, leaving 120,000: about 13 days of the usual outflows. A "
              "cash-runway warning that day, still open at the end.")
    shop(s, opened="2026-01-20", start="2026-02-01", last="2026-06-10", seed=103, cash=True,
         extra=[(_d("2026-05-20"), 11, "out", -120_000.0, "transfer", None)])
    s.until = until("2026-06-10")
    s.expect = [{"type": "cash_runway", "opens_between": ["2026-05-20", "2026-05-20"], "severity": "warning"},
                {"type": "cash_runway", "open_at_end": True},
                {"only_types": ["cash_runway"]}]

    s = story("two_other_lenders_within_30_days", "B-MULTI", "Two other lenders disburse 50,000 and 80,000 "
              "within 17 days: a multi-lending warning on the second one, resolved 14 days after the first "
              "leaves the 30-day window.")
    shop(s, opened="2026-01-20", start="2026-02-01", last="2026-05-10", seed=104, cash=True, extra=[
        (_d("2026-03-03"), 11, "in", 50_000.0, "lender_disbursement", "lender-7f3a"),
        (_d("2026-03-20"), 11, "in", 80_000.0, "lender_disbursement", "lender-c001")])
    s.until = until("2026-05-10")
    s.expect = [{"type": "multi_lending", "opens_between": ["2026-03-20", "2026-03-20"], "severity": "warning"},
                {"type": "multi_lending", "resolved_between": ["2026-04-15", "2026-04-17"]},
                {"only_types": ["multi_lending"]}]

    s = story("daily_seller_silent_10_days", "B-QUIET", "A shop reporting sales every day goes silent after "
              "2026-05-31 (repayments still on time). Ten days on: a dormancy warning once eight whole "
              "days have passed without a report; the silence alone says nothing about sales falling.")
    shop(s, opened="2026-02-20", start="2026-03-02", last="2026-05-31", seed=105)
    s.repayments_until(_d("2026-06-10"))  # the June installment too
    s.until = until("2026-06-10")
    s.expect = [{"type": "dormancy", "opens_between": ["2026-06-08", "2026-06-10"], "severity": "warning"},
                {"type": "revenue_decline", "never": True},
                {"type": "revenue_volatility", "never": True}]

    s = story("revenue_hovering_near_threshold", "B-HOVER", "Sales hover about 16% below normal, around the "
              "drop detector's threshold, week after week for twelve weeks from 2026-06-01: at most one "
              "revenue alert, nothing else.")
    shop(s, opened="2026-01-20", start="2026-02-02", last="2026-10-31", seed=106,
         factor=hovering(0.84, "2026-06-01", 12, seed=106))
    s.until = until("2026-10-31")
    s.expect = [{"type": "revenue_decline", "max_opens": 1}, {"only_types": ["revenue_decline"]}]

    s = story("delinquency_inhibits_revenue_warning_then_cured", "B-DQ", "Sales fall 45% from 2026-06-15 and "
              "the borrower misses the July and August installments: at 30 DPD (2026-08-04) a critical "
              "delinquency alert opens and inhibits the open revenue warning. Sales recover from 2026-08-15; "
              "both installments are paid on 2026-08-20: the delinquency alert resolves that day, the "
              "revenue warning is sent again without inhibition and resolves after the hysteresis span. The "
              "roll into 31-60 DPD (08-05) opens a repayment-behaviour warning, held back by the critical "
              "alert until the cure; it stays open after it (two late installments in a row).")
    s.loan(_d("2026-01-20"), "retail")
    down = (_d("2026-06-15"), _d("2026-08-15"))
    sales(s, "2026-02-02", "2026-09-30", seed=107, factor=lambda d: 0.55 if down[0] <= d < down[1] else 1.0)
    for seq, due in enumerate(("02-05", "03-05", "04-05", "05-05", "06-05"), 1):
        pay(s, seq, f"2026-{due}")
    pay(s, 6, "2026-08-20")
    pay(s, 7, "2026-08-20")
    pay(s, 8, "2026-09-05")
    s.until = until("2026-09-30")
    s.expect = [
        {"type": "revenue_decline", "opens_between": ["2026-06-15", "2026-06-22"], "min_severity": "warning"},
        {"type": "delinquency", "opens_between": ["2026-08-04", "2026-08-04"], "severity": "critical"},
        {"type": "revenue_decline", "inhibited_by_type": "delinquency"},
        {"type": "delinquency", "resolved_between": ["2026-08-20", "2026-08-20"]},
        {"type": "revenue_decline", "inhibition_lifted_between": ["2026-08-20", "2026-08-20"]},
        {"type": "revenue_decline", "resolved_between": ["2026-08-22", "2026-09-20"]},
        {"type": "revenue_decline", "max_opens": 1},
        {"type": "delinquency", "open_at_end": False},
        {"type": "revenue_decline", "open_at_end": False},
        {"type": "repayment_behaviour", "opens_between": ["2026-08-05", "2026-08-05"], "severity": "warning"},
        {"type": "repayment_behaviour", "inhibited_by_type": "delinquency"},
        {"type": "repayment_behaviour", "inhibition_lifted_between": ["2026-08-20", "2026-08-20"]},
    ]

    # ------------------------------------------------------------------ healthy borrowers

    s = story("healthy_daily_seller_full_year", "B-OK", "A convenience store selling every day for a full "
              "year, paying suppliers, payroll, rent and every installment on time: no alert at all.")
    shop(s, opened="2025-12-20", start="2026-01-01", last="2026-12-31", seed=108, cash=True)
    s.until = until("2026-12-31")
    s.expect = [{"any_alert": "never"}]

    sf = SPRING_FESTIVAL_2026
    s = story("spring_festival_shutdown", "B-SF", "A small factory invoicing every day shuts for Spring "
              "Festival 2026: no invoices from 2026-02-14 to 2026-02-22, slow restart until the Lantern "
              "Festival. Usual for every Chinese SME: no alert.")

    def restart(d: dt.date) -> float:
        off = (d - sf).days
        return 0.0 if -3 <= off <= 5 else (0.55 if -10 <= off <= 15 else 1.0)

    shop(s, opened="2025-10-20", start="2025-11-01", last="2026-04-30", seed=109, sector="manufacturing",
         factor=restart)
    s.until = until("2026-04-30")
    s.expect = [{"type": "revenue_decline", "never": True}, {"type": "dormancy", "never": True},
                {"any_alert": "never"}]

    def peaks(d: dt.date) -> float:
        if d.month == 6 and d.day <= 20:
            return 2.5 if d.day == 18 else (1.3 if d.day < 18 else 0.8)
        if d.month == 11 and d.day <= 15:
            return 3.5 if d.day == 11 else (1.4 if d.day < 11 else 0.8)
        return 1.0

    s = story("ecommerce_618_and_double_11", "B-ECOM", "An online shop's 618 and Double 11 peaks, and the "
              "usual lull after each: no alert.")
    s.loan(_d("2026-02-20"), "ecommerce")
    sales(s, "2026-03-02", "2026-12-26", seed=110, factor=peaks, source="ecommerce")
    s.repayments_until(_d("2026-12-26"))
    s.until = until("2026-12-26")
    s.expect = [{"type": "revenue_decline", "never": True}, {"any_alert": "never"}]

    s = story("anniversary_promotion_spike", "B-PROMO", "A restaurant's anniversary week (2026-05-11 to 17) "
              "doubles sales, then business is as usual: no alert, neither for the spike nor for the "
              "normal weeks after it.")
    shop(s, opened="2026-01-20", start="2026-02-02", last="2026-08-31", seed=111, sector="catering",
         factor=lambda d: 2.2 if _d("2026-05-11") <= d <= _d("2026-05-17") else 1.0)
    s.until = until("2026-08-31")
    s.expect = [{"type": "revenue_decline", "never": True}, {"type": "revenue_volatility", "never": True},
                {"any_alert": "never"}]

    s = story("one_big_supplier_payment", "B-STOCK", "A hardware shop stocks up for the summer with one "
              "100,000 supplier payment on 2026-04-20 (ten days of sales); otherwise steady. The balance "
              "still covers about four weeks: no cash-runway and no margin alert.")
    shop(s, opened="2026-01-20", start="2026-02-01", last="2026-07-31", seed=112, balance=350_000.0, cash=True,
         extra=[(_d("2026-04-20"), 11, "out", 100_000.0, "supplier", None)])
    s.until = until("2026-07-31")
    s.expect = [{"type": "cash_runway", "never": True}, {"type": "margin_decline", "never": True}]

    def first_working_day_or_before(month_start: dt.date) -> dt.date:
        d = month_start
        while d.weekday() >= 5:  # paid on the Friday before when the 1st is a weekend
            d -= ONE_DAY
        return d

    s = story("payroll_and_rent_monthly", "B-PAY", "A bakery pays rent on the 1st and payroll (80,000, a "
              "quarter of sales) on the 1st, or the Friday before when the 1st falls on a weekend (so some "
              "months carry two payrolls and the next none): its margin does not change, no margin or "
              "runway alert.")
    shop(s, opened="2025-12-20", start="2026-01-01", last="2026-12-20", seed=113, sector="food", cash=True,
         payroll=80_000.0, rent=20_000.0, supplier_share=0.55, payday=first_working_day_or_before)
    s.until = until("2026-12-20")
    s.expect = [{"type": "margin_decline", "never": True}, {"type": "cash_runway", "never": True}]

    s = story("intermittent_seller_every_3_to_8_days", "B-INTER", "A furniture maker invoicing a job every "
              "3 to 8 days for half a year, quiet for 8 days at the end: within its rhythm, no dormancy "
              "and no revenue alert.")
    s.loan(_d("2026-01-20"), "furniture")
    rng = random.Random(114)
    day = _d("2026-02-02")
    while day < _d("2026-07-20"):
        s.revenue(day, 30_000 * math.exp(rng.gauss(0, 0.35)), source="invoice")
        day += dt.timedelta(days=rng.randint(3, 8))
    last_sale = max(_d(str(e["occurred_at"])[:10]) for e in s.events if e["schema"] == "revenue/1")
    s.repayments_until(last_sale + dt.timedelta(days=8))
    s.until = until((last_sale + dt.timedelta(days=8)).isoformat())
    s.expect = [{"type": "dormancy", "never": True}, {"type": "revenue_decline", "never": True},
                {"any_alert": "never"}]

    sundays = [_d("2026-01-04") + dt.timedelta(weeks=k) for k in range(52)]
    s = story("weekly_reporter_full_year", "B-WEEK", "A wholesaler whose platform reports sales once a week "
              "(period = week, every Sunday) for a year: no dormancy and no revenue alert.")
    s.loan(_d("2025-12-20"), "wholesale")
    periodic_revenue(s, sundays, "week", 70_000.0, seed=115, source="ecommerce")
    s.repayments_until(_d("2026-12-31"))
    s.until = until("2026-12-31")
    s.expect = [{"type": "dormancy", "never": True}, {"any_alert": "never"}]

    month_ends = [dt.date(2025 + m // 12, m % 12 + 1, 1) - ONE_DAY for m in range(1, 15)]  # 2025-01-31 ..
    s = story("monthly_reporter", "B-MONTH", "A small contractor known only through its monthly VAT "
              "returns (period = month, on the last day of each month) for 14 months: a monthly rhythm is "
              "its normal rhythm, no dormancy and no revenue alert.")
    s.loan(_d("2025-01-10"), "construction", months=24)
    periodic_revenue(s, month_ends, "month", 300_000.0, seed=116, sigma=0.12, source="tax")
    s.repayments_until(_d("2026-02-28"))
    s.until = until("2026-02-28")
    s.expect = [{"type": "dormancy", "never": True}, {"any_alert": "never"}]

    s = story("weekly_reporter_goes_quiet", "B-WQUIET", "A weekly reporter (every Sunday since January) "
              "sends its last report on 2026-05-31: a dormancy warning about two and a half weeks later, "
              "not before three weekly reports are missing, at most 3 weeks after the last one.")
    s.loan(_d("2025-12-20"), "wholesale")
    periodic_revenue(s, [d for d in sundays if d <= _d("2026-05-31")], "week", 70_000.0, seed=117,
                     source="ecommerce")
    s.repayments_until(_d("2026-07-05"))
    s.until = until("2026-07-05")
    s.expect = [{"type": "dormancy", "opens_between": ["2026-06-15", "2026-06-21"], "min_severity": "warning"},
                {"only_types": ["dormancy"]}]

    s = story("new_borrower_first_weeks", "B-NEW", "A noodle shop onboarded at the end of a month: loan, sales "
              "and account statement from 2026-03-28 with 200,000 in the bank, about three weeks of its "
              "outflows. Its first statement month has neither rent nor payroll; its first two weeks have "
              "both. Nothing is known yet about its rhythm or margin: no alert in its first ten weeks.")
    shop(s, opened="2026-03-27", start="2026-03-28", last="2026-06-05", seed=118, sector="catering",
         balance=200_000.0, cash=True)
    s.until = until("2026-06-05")
    s.expect = [{"type": "cash_runway", "never": True}, {"type": "margin_decline", "never": True},
                {"any_alert": "never"}]

    s = story("suppliers_paid_every_tuesday", "B-TUE", "A grocer pays its suppliers every Tuesday for the "
              "week's goods (60% of sales), so some months carry five supplier payments and others four; "
              "sales, costs and margin are steady: no margin alert.")
    shop(s, opened="2025-12-20", start="2026-01-01", last="2026-09-30", seed=133, cash=True, weekly_supplier=True)
    s.until = until("2026-09-30")
    s.expect = [{"type": "margin_decline", "never": True}, {"any_alert": "never"}]

    s = story("national_day_closure", "B-GOLDEN", "A printing workshop closes for the National Day holiday, "
              "2026-10-01 to 10-07 (no invoices), as every year, then works as usual: no alert.")
    shop(s, opened="2026-01-20", start="2026-02-02", last="2026-11-15", seed=119, sector="printing",
         factor=lambda d: 0.0 if _d("2026-10-01") <= d <= _d("2026-10-07") else 1.0)
    s.until = until("2026-11-15")
    s.expect = [{"type": "dormancy", "never": True}, {"type": "revenue_decline", "never": True},
                {"any_alert": "never"}]

    # ------------------------------------------------------------------ revenue trouble

    s = story("revenue_collapse_account_active", "B-COLL", "A steady shop's till reports zero sales every day "
              "from 2026-06-01 while its account and repayments go on: a critical revenue alert within a "
              "week; the feed is not silent, so no dormancy alert, and one alert for one problem (no "
              "separate volatility alert).")
    s.loan(_d("2026-01-20"), "retail")
    sales(s, "2026-02-02", "2026-07-01", seed=120, report_zero=True,
                factor=lambda d: 0.0 if d >= _d("2026-06-01") else 1.0)
    s.repayments_until(_d("2026-07-01"))
    books(s, balance=300_000.0, last="2026-07-01")  # the account goes on: suppliers, payroll, rent, the loan
    s.until = until("2026-07-01")
    s.expect = [{"type": "revenue_decline", "reaches": "critical", "between": ["2026-06-01", "2026-06-07"]},
                {"type": "dormancy", "never": True},
                {"type": "revenue_volatility", "never": True}]

    s = story("slow_decline_3pct_a_week", "B-SLOW", "Sales erode 3% a week from 2026-03-01 (a third lower "
              "by June, half by August); the borrower misses the September installment and is 30 DPD on "
              "2026-10-05. A revenue warning must come well before that, by mid-July.")
    s.loan(_d("2025-12-20"), "retail")
    sales(s, "2026-01-05", "2026-10-20", seed=121,
                factor=lambda d: 0.97 ** max((d - _d("2026-03-01")).days / 7, 0))
    s.repayments_until(_d("2026-08-31"))
    s.until = until("2026-10-20")
    s.expect = [{"type": "revenue_decline", "opens_between": ["2026-04-15", "2026-07-15"],
                 "min_severity": "warning"},
                {"type": "delinquency", "opens_between": ["2026-10-05", "2026-10-05"], "severity": "critical"}]

    s = story("revenue_drop_then_recovery", "B-RECOV", "Sales 35% down for five weeks from 2026-05-04 "
              "(road works outside the shop), back to normal from 2026-06-08: one warning, kept open at least "
              "the 7-day hysteresis span after recovery, resolved within four weeks of it.")
    shop(s, opened="2026-01-20", start="2026-02-02", last="2026-08-31", seed=122,
         factor=lambda d: 0.65 if _d("2026-05-04") <= d < _d("2026-06-08") else 1.0)
    s.until = until("2026-08-31")
    s.expect = [{"type": "revenue_decline", "opens_between": ["2026-05-04", "2026-05-14"], "severity": "warning"},
                {"type": "revenue_decline", "resolved_between": ["2026-06-15", "2026-07-06"]},
                {"type": "revenue_decline", "max_opens": 1}]

    s = story("revenue_hovering_at_30pct", "B-HOV30", "Sales hover around 30% below normal (the warning "
              "threshold), week after week for ten weeks from 2026-06-01: a revenue warning within three "
              "weeks, one, not one per crossing.")
    shop(s, opened="2026-01-20", start="2026-02-02", last="2026-10-31", seed=123,
         factor=hovering(0.70, "2026-06-01", 10, seed=123))
    s.until = until("2026-10-31")
    s.expect = [{"type": "revenue_decline", "opens_between": ["2026-06-01", "2026-06-21"]},
                {"type": "revenue_decline", "max_opens": 1}]

    # ------------------------------------------------------------------ cash flow

    s = story("margin_squeeze", "B-MARGIN", "A supplier raises prices: supplier costs go from 60% to 80% of "
              "sales from 2026-07-01, payroll and rent unchanged, sales steady. A margin-decline warning "
              "once a squeezed month is complete, by 2026-08-10.")
    shop(s, opened="2025-12-20", start="2026-01-01", last="2026-09-30", seed=124, cash=True,
         supplier_share=lambda d: 0.8 if d >= _d("2026-07-01") else 0.6)
    s.until = until("2026-09-30")
    s.expect = [{"type": "margin_decline", "opens_between": ["2026-07-01", "2026-08-10"],
                 "min_severity": "warning"},
                {"type": "revenue_decline", "never": True}]

    s = story("cash_runway_recovers", "B-RUNWAY", "A transfer out on 2026-04-08 leaves 120,000 in the account, "
              "about 13 days of outflows; on 2026-04-22 a customer settles a 300,000 receivable and the "
              "runway is back above 20 days for good: the cash-runway warning opens on 04-08 and resolves 7 "
              "days after the recovery.")
    shop(s, opened="2026-01-20", start="2026-02-01", last="2026-05-31", seed=125, cash=True, extra=[
        (_d("2026-04-08"), 11, "out", -120_000.0, "transfer", None),
        (_d("2026-04-22"), 11, "in", 300_000.0, "customer", None)])
    s.until = until("2026-05-31")
    s.expect = [{"type": "cash_runway", "opens_between": ["2026-04-08", "2026-04-08"], "severity": "warning"},
                {"type": "cash_runway", "resolved_between": ["2026-04-29", "2026-04-30"]},
                {"type": "cash_runway", "max_opens": 1}]

    s = story("one_other_lender", "B-ONE", "One other lender disburses twice (2026-03-03, 03-13) and is "
              "repaid monthly from the account: one other lender is not multi-lending, no alert.")
    shop(s, opened="2026-01-20", start="2026-02-01", last="2026-05-31", seed=126, cash=True, extra=[
        (_d("2026-03-03"), 11, "in", 50_000.0, "lender_disbursement", "lender-7f3a"),
        (_d("2026-03-13"), 11, "in", 50_000.0, "lender_disbursement", "lender-7f3a"),
        (_d("2026-04-13"), 12, "out", 9_000.0, "loan_repayment", "lender-7f3a"),
        (_d("2026-05-13"), 12, "out", 9_000.0, "loan_repayment", "lender-7f3a")])
    s.until = until("2026-05-31")
    s.expect = [{"type": "multi_lending", "never": True}, {"any_alert": "never"}]

    s = story("four_other_lenders", "B-FOUR", "Four other lenders disburse within three weeks (2026-02-10, "
              "02-17, 02-24, 03-03): a multi-lending warning on the second, critical on the fourth.")
    shop(s, opened="2025-12-20", start="2026-01-01", last="2026-03-31", seed=127, cash=True, extra=[
        (_d("2026-02-10"), 11, "in", 30_000.0, "lender_disbursement", "lender-a1"),
        (_d("2026-02-17"), 11, "in", 50_000.0, "lender_disbursement", "lender-b2"),
        (_d("2026-02-24"), 11, "in", 40_000.0, "lender_disbursement", "lender-c3"),
        (_d("2026-03-03"), 11, "in", 80_000.0, "lender_disbursement", "lender-d4")])
    s.until = until("2026-03-31")
    s.expect = [{"type": "multi_lending", "opens_between": ["2026-02-17", "2026-02-17"], "severity": "warning"},
                {"type": "multi_lending", "reaches": "critical", "between": ["2026-03-03", "2026-03-03"]},
                {"only_types": ["multi_lending"]}]

    s = story("repays_us_from_account_and_one_other_lender", "B-SELF", "The bank feed tags the monthly "
              "installment to us as a loan repayment with our (hashed) counterparty id; one other lender "
              "disburses once. One other lender is not multi-lending: no alert.")
    shop(s, opened="2026-01-20", start="2026-02-01", last="2026-05-31", seed=128, cash=True, extra=[
        (_d("2026-03-10"), 11, "in", 60_000.0, "lender_disbursement", "lender-7f3a")])
    # the installments leave the account tagged with our counterparty id (books() tags them without one)
    for e in s.events:
        if e["schema"] == "cashflow/1" and e["counterparty_type"] == "loan_repayment":
            e["counterparty_id"] = "lender-loanwatch"
    s.until = until("2026-05-31")
    s.expect = [{"type": "multi_lending", "never": True}, {"any_alert": "never"}]

    # ------------------------------------------------------------------ repayments

    s = story("late_payments_two_cycles", "B-LATE", "A shop pays the March installment 9 days late and the "
              "April one 11 days late: a repayment-behaviour warning when the second goes overdue "
              "(2026-04-06); never 30 DPD, so no delinquency alert.")
    s.loan(_d("2026-01-20"), "retail")
    sales(s, "2026-02-02", "2026-05-31", seed=129)
    pay(s, 1, "2026-02-05")
    pay(s, 2, "2026-03-14")
    pay(s, 3, "2026-04-16")
    pay(s, 4, "2026-05-05")
    s.until = until("2026-05-31")
    s.expect = [{"type": "repayment_behaviour", "opens_between": ["2026-04-06", "2026-04-07"],
                 "severity": "warning"},
                {"type": "delinquency", "never": True}]

    s = story("bucket_roll_m1_to_m2", "B-ROLL", "A shop stops paying from the May installment: 30 DPD on "
              "2026-06-04 (critical delinquency), rolls from the 1-30 into the 31-60 DPD bucket on 06-05: "
              "a repayment-behaviour warning for the roll.")
    s.loan(_d("2026-01-20"), "retail")
    sales(s, "2026-02-02", "2026-06-20", seed=130)
    for seq, due in enumerate(("02-05", "03-05", "04-05"), 1):
        pay(s, seq, f"2026-{due}")
    s.until = until("2026-06-20")
    s.expect = [{"type": "delinquency", "opens_between": ["2026-06-04", "2026-06-04"], "severity": "critical"},
                {"type": "repayment_behaviour", "code": "bucket_roll", "between": ["2026-06-05", "2026-06-06"]}]

    s = story("loan_45_dpd_then_cured", "B-CURE", "A healthy shop misses the March and April installments "
              "and pays both on 2026-04-19, 45 days after the first was due: a critical delinquency alert "
              "at 30 DPD (2026-04-04), resolved on the day of the cure; nothing else.")
    s.loan(_d("2026-01-20"), "retail")
    sales(s, "2026-02-02", "2026-06-30", seed=131)
    pay(s, 1, "2026-02-05")
    pay(s, 2, "2026-04-19")
    pay(s, 3, "2026-04-19")
    pay(s, 4, "2026-05-05")
    pay(s, 5, "2026-06-05")
    s.until = until("2026-06-30")
    s.expect = [{"type": "delinquency", "opens_between": ["2026-04-04", "2026-04-04"], "severity": "critical"},
                {"type": "delinquency", "resolved_between": ["2026-04-19", "2026-04-19"]},
                {"type": "delinquency", "max_opens": 1},
                {"only_types": ["delinquency", "repayment_behaviour", "default_risk"]}]

    s = story("critical_left_open_renotified", "B-OPEN", "A shop stops paying after the February installment "
              "and is never cured: a critical delinquency alert at 30 DPD (2026-04-04), updated when it "
              "passes 90 DPD (2026-06-04), and sent again every 7 days while open.")
    s.loan(_d("2026-01-20"), "retail")
    sales(s, "2026-02-02", "2026-07-01", seed=132)
    pay(s, 1, "2026-02-05")
    s.until = until("2026-07-01")
    s.expect = [{"type": "delinquency", "opens_between": ["2026-04-04", "2026-04-04"], "severity": "critical"},
                {"type": "delinquency", "code": "dpd_over_90", "between": ["2026-06-04", "2026-06-04"]},
                {"type": "delinquency", "renotify_days": 7},
                {"type": "delinquency", "open_at_end": True}]

    return out


def main() -> None:
    for s in stories():
        s.write(HERE)


if __name__ == "__main__":
    main()
