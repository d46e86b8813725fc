"""Write the detector scenario files: borrower stories as event files (JSON Lines) with expectations.

    python tests/scenarios_detectors/make_detector_scenarios.py     # rewrites the files next to it

Each story is ``<name>.jsonl`` (contract events, in event-time order, as a
replay file) and ``<name>.expect.json`` (what the detectors must say, read by
``tests/test_detector_scenarios.py``). Deterministic: fixed seeds, so the files
do not change unless a story does (a test checks that they match this script).

Expectations, evaluated at the end of each local day (Asia/Shanghai) from the
first event to ``until``:

* ``{"signal": s, "never": true}``: never on;
* ``{"signal": s, "first_between": [d1, d2]}``: first on between the two days;
* ``{"signal": s, "on": d}`` / ``{"signal": s, "off": d}``: on / off at the end of day ``d``;
* ``{"signal": s, "max_episodes": n}``: turns on at most ``n`` times.

Signals: ``revenue.dropped``, ``revenue.collapsed``, ``revenue.volatile``,
``dormancy.silent`` (the revenue feed), ``cashflow.low_runway``,
``cashflow.multi_lending``, ``cashflow.margin_decline``, ``cashflow.burning``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
WEEK = (1.0, 1.0, 1.0, 1.05, 1.2, 1.4, 0.6)
# the textile calendar's month shape (detectors.revenue.MONTH_PRIORS), mid-month anchors
TEXTILE = (1.0, 0.9, 1.0, 1.05, 1.0, 0.85, 0.72, 0.78, 1.15, 1.25, 1.25, 1.05)
SPRING_FESTIVAL_2026 = dt.date(2026, 2, 17)


def _d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def _month_shape(day: dt.date, shape: tuple[float, ...]) -> float:
    """Interpolate a 12-month shape between mid-month anchors (in logs)."""
    m = day.month - 1
    length = ((day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - day.replace(day=1)).days
    pos = (day.day - 0.5) / length - 0.5
    other = (m + 1) % 12 if pos >= 0 else (m - 1) % 12
    w = abs(pos)
    return math.exp((1 - w) * math.log(shape[m]) + w * math.log(shape[other]))


class Story:
    def __init__(self, name: str, borrower: str, story: str):
        self.name, self.borrower, self.story = name, borrower, story
        self.events: list[dict[str, object]] = []
        self.expect: list[dict[str, object]] = []
        self.until: str | None = None
        self._n = 0

    def event(self, schema: str, when: str, **fields: object) -> None:
        self._n += 1
        self.events.append({"schema": schema, "event_id": f"{self.name}-{self._n}", "borrower_id": self.borrower,
                            "occurred_at": when, **fields})

    def loan(self, day: dt.date, sector: str, months: int = 12, amount: str = "10000.00") -> None:
        schedule = []
        for k in range(1, months + 1):
            y, m = divmod(day.month - 1 + k, 12)
            schedule.append({"seq": k, "due_date": dt.date(day.year + y, m + 1, 5).isoformat(), "amount_due": amount})
        self.event("loan_opened/1", f"{day}T09:00:00+08:00", loan_id=f"L-{self.borrower}", product="term_loan",
                   principal=f"{int(float(amount)) * months}.00", credit_limit=f"{int(float(amount)) * months}.00",
                   currency="CNY", annual_rate=0.072, sector=sector, region="CN-33", installments=schedule)
        self._schedule = schedule

    def repayments_until(self, last: dt.date) -> None:
        """Pay every installment on its due date (so the stories carry no delinquency)."""
        for inst in self._schedule:
            due = _d(str(inst["due_date"]))
            if due <= last:
                self.event("repayment/1", f"{due}T10:00:00+08:00", loan_id=f"L-{self.borrower}",
                           amount=inst["amount_due"], installment_seq=inst["seq"], channel="app")

    def revenue(self, day: dt.date, amount: float, source: str = "pos") -> None:
        self.event("revenue/1", f"{day}T23:59:59+08:00", amount=f"{amount:.2f}", period="day", source=source)

    def cash(self, day: dt.date, hour: int, direction: str, amount: float, kind: str, *,
             balance: float | None = None, counterparty: str | None = None) -> None:
        fields: dict[str, object] = {"account_id": "A1", "direction": direction, "amount": f"{amount:.2f}",
                                     "counterparty_type": kind}
        if balance is not None:
            fields["balance_after"] = f"{balance:.2f}"
        if counterparty is not None:
            fields["counterparty_id"] = counterparty
        self.event("cashflow/1", f"{day}T{hour:02d}:00:00+08:00", **fields)

    def write(self, where: Path) -> None:
        self.events.sort(key=lambda e: (str(e["occurred_at"]), str(e["event_id"])))
        lines = "".join(json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n" for e in self.events)
        (where / f"{self.name}.jsonl").write_text(lines)
        meta = {"story": self.story, "borrower_id": self.borrower, "until": self.until, "expect": self.expect}
        (where / f"{self.name}.expect.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")


def _days(start: str, n: int) -> Iterator[dt.date]:
    d = _d(start)
    for i in range(n):
        yield d + dt.timedelta(days=i)


def daily_sales(s: Story, start: str, n: int, *, seed: int, base: float = 10_000.0, sigma: float = 0.2,
                factor: Callable[[dt.date], float] = lambda d: 1.0, share: float = 1.0, source: str = "pos",
                report_zero: bool = False) -> None:
    rng = random.Random(seed)
    for day in _days(start, n):
        sold = rng.random() < share
        noise = math.exp(rng.gauss(-sigma * sigma / 2, sigma))
        amount = base * WEEK[day.weekday()] * factor(day) * noise / share if sold else 0.0
        if amount > 0 or report_zero:
            s.revenue(day, amount, source)


def stories() -> list[Story]:
    out = []

    s = Story("textile_off_season", "B-TEX", "A textile borrower's usual summer off-season dip: no drop signal.")
    s.loan(_d("2025-12-20"), "textile")
    daily_sales(s, "2026-01-01", 365, seed=1, factor=lambda d: _month_shape(d, TEXTILE))
    s.repayments_until(_d("2026-12-31"))
    s.expect = [{"signal": "revenue.dropped", "never": True}]
    out.append(s)

    s = Story("revenue_drop_40pct", "B-DROP", "Revenue 40% down for three weeks from 2026-07-01: a drop signal "
              "within 7 days of onset, gone after recovery.")
    s.loan(_d("2026-02-20"), "retail")
    daily_sales(s, "2026-03-02", 200, seed=2,
                factor=lambda d: 0.6 if _d("2026-07-01") <= d < _d("2026-07-22") else 1.0)
    s.repayments_until(_d("2026-09-17"))
    s.expect = [{"signal": "revenue.dropped", "first_between": ["2026-07-01", "2026-07-08"]},
                {"signal": "revenue.dropped", "max_episodes": 1},
                {"signal": "revenue.dropped", "off": "2026-09-17"}]
    out.append(s)

    s = Story("revenue_hovering", "B-HOVER", "Revenue hovering around the drop threshold for twelve weeks: the "
              "detector's band and clear span give at most one drop episode.")
    s.loan(_d("2026-02-20"), "retail")
    hover = random.Random(33)
    levels = {d: 0.84 * math.exp(hover.gauss(0, 0.08)) for d in _days("2026-09-01", 84)}
    daily_sales(s, "2026-03-02", 280, seed=3, factor=lambda d: levels.get(d, 1.0))
    s.repayments_until(_d("2026-12-06"))
    s.expect = [{"signal": "revenue.dropped", "max_episodes": 1}]
    out.append(s)

    s = Story("spring_festival", "B-SF", "A workshop shut for Spring Festival 2026: no drop, no collapse.")
    s.loan(_d("2025-10-20"), "manufacturing")
    sf = SPRING_FESTIVAL_2026

    def shutdown(d: dt.date) -> float:
        off = (d - sf).days
        return 0.05 if -3 <= off <= 8 else (0.6 if -10 <= off <= 15 else 1.0)

    daily_sales(s, "2025-11-01", 180, seed=4, factor=shutdown, report_zero=True)
    s.repayments_until(_d("2026-04-30"))
    s.expect = [{"signal": "revenue.dropped", "never": True}, {"signal": "revenue.collapsed", "never": True}]
    out.append(s)

    s = Story("ecommerce_double_11", "B-ECOM", "An e-commerce seller's 618 and Double 11 peaks: no drop after them.")
    s.loan(_d("2026-02-20"), "ecommerce")

    def peaks(d: dt.date) -> float:
        if d.month == 6 and d.day <= 20:
            return 2.5 if d.day == 18 else (1.3 if d.day < 18 else 0.8)
        if d.month == 11 and d.day <= 15:
            return 3.5 if d.day == 11 else (1.4 if d.day < 11 else 0.8)
        return 1.0

    daily_sales(s, "2026-03-02", 300, seed=5, factor=peaks, source="ecommerce")
    s.repayments_until(_d("2026-12-26"))
    s.expect = [{"signal": "revenue.dropped", "never": True}]
    out.append(s)

    s = Story("steady_seller_collapse", "B-COLL", "A steady shop reports zero sales from 2026-06-01: collapse "
              "within six days.")
    s.loan(_d("2026-01-20"), "retail")
    daily_sales(s, "2026-02-02", 130, seed=6, report_zero=True,
                factor=lambda d: 0.0 if d >= _d("2026-06-01") else 1.0)
    s.repayments_until(_d("2026-06-12"))
    s.expect = [{"signal": "revenue.collapsed", "first_between": ["2026-06-01", "2026-06-07"]}]
    out.append(s)

    s = Story("daily_seller_silent_10_days", "B-QUIET", "A daily seller whose revenue feed stops after "
              "2026-05-31: dormant after seven quiet days, still on day ten.")
    s.loan(_d("2026-02-20"), "retail")
    daily_sales(s, "2026-03-02", 91, seed=7)
    s.repayments_until(_d("2026-06-10"))
    s.until = "2026-06-12"
    s.expect = [{"signal": "dormancy.silent", "off": "2026-06-07"}, {"signal": "dormancy.silent", "on": "2026-06-08"},
                {"signal": "dormancy.silent", "on": "2026-06-10"}]
    out.append(s)

    s = Story("intermittent_seller_quiet_8_days", "B-INTER", "A seller with a sale every 5-10 days, quiet for "
              "eight days at the end: not dormant.")
    s.loan(_d("2026-01-20"), "retail")
    rng = random.Random(8)
    day = _d("2026-02-02")
    while day < _d("2026-07-01"):
        s.revenue(day, 10_000 * math.exp(rng.gauss(0, 0.4)))
        day += dt.timedelta(days=rng.randint(5, 10))
    last = max(_d(str(e["occurred_at"])[:10]) for e in s.events if e["schema"] == "revenue/1")
    s.repayments_until(last)
    s.until = (last + dt.timedelta(days=8)).isoformat()
    s.expect = [{"signal": "dormancy.silent", "never": True}, {"signal": "revenue.dropped", "never": True},
                {"signal": "revenue.collapsed", "never": True}]
    out.append(s)

    s = Story("intermittent_seller_year", "B-SPARSE", "A seller with a sale on about a third of days for a "
              "year: its zero days raise nothing.")
    s.loan(_d("2025-12-20"), "retail")
    daily_sales(s, "2026-01-05", 360, seed=9, share=0.35, sigma=0.5)
    s.repayments_until(_d("2026-12-29"))
    s.expect = [{"signal": "revenue.dropped", "never": True}, {"signal": "revenue.collapsed", "never": True}]
    out.append(s)

    s = Story("cash_runway_under_15_days", "B-CASH", "Cash on hand falls from four weeks of outflows to under "
              "two weeks on 2026-05-20: a runway signal that day.")
    s.loan(_d("2026-01-20"), "retail")
    for day in _days("2026-02-01", 120):
        balance = 200_000.0 if day < _d("2026-05-20") else 95_000.0
        s.cash(day, 11, "in", 7_200, "customer")
        s.cash(day, 15, "out", 7_000, "supplier", balance=balance)
    s.repayments_until(_d("2026-05-31"))
    s.expect = [{"signal": "cashflow.low_runway", "off": "2026-05-19"},
                {"signal": "cashflow.low_runway", "first_between": ["2026-05-20", "2026-05-20"]}]
    out.append(s)

    s = Story("two_other_lenders", "B-MULTI", "Disbursements from two other lenders within 30 days: "
              "multi-lending from the second one, gone once the first leaves the window.")
    s.loan(_d("2026-01-20"), "retail")
    for day in _days("2026-02-01", 90):
        s.cash(day, 11, "in", 10_000, "customer")
        s.cash(day, 15, "out", 7_000, "supplier", balance=200_000)
    s.cash(_d("2026-03-03"), 10, "in", 50_000, "lender_disbursement", counterparty="lender-7f3a")
    s.cash(_d("2026-03-20"), 10, "in", 80_000, "lender_disbursement", counterparty="lender-c001")
    s.repayments_until(_d("2026-05-01"))
    s.expect = [{"signal": "cashflow.multi_lending", "first_between": ["2026-03-20", "2026-03-20"]},
                {"signal": "cashflow.multi_lending", "off": "2026-04-05"}]
    out.append(s)

    s = Story("one_other_lender", "B-ONE", "One other lender, disbursing twice: no multi-lending.")
    s.loan(_d("2026-01-20"), "retail")
    for day in _days("2026-02-01", 60):
        s.cash(day, 11, "in", 10_000, "customer")
        s.cash(day, 15, "out", 7_000, "supplier", balance=200_000)
    s.cash(_d("2026-03-03"), 10, "in", 50_000, "lender_disbursement", counterparty="lender-7f3a")
    s.cash(_d("2026-03-13"), 10, "in", 50_000, "lender_disbursement", counterparty="lender-7f3a")
    s.repayments_until(_d("2026-04-01"))
    s.expect = [{"signal": "cashflow.multi_lending", "never": True}]
    out.append(s)

    s = Story("margin_squeeze", "B-MARGIN", "Supplier costs rise from 70% to 92% of sales from 2026-07-01, "
              "payroll and rent monthly: a margin decline once a squeezed month is complete.")
    s.loan(_d("2026-01-20"), "retail")
    for day in _days("2026-01-01", 243):
        s.cash(day, 11, "in", 10_000, "customer")
        s.cash(day, 15, "out", 4_000 if day < _d("2026-07-01") else 6_200, "supplier")
        if day.day == 5:
            s.cash(day, 16, "out", 60_000, "payroll")
            s.cash(day, 16, "out", 30_000, "rent", balance=500_000)
    s.repayments_until(_d("2026-08-31"))
    s.expect = [{"signal": "cashflow.margin_decline", "off": "2026-06-30"},
                {"signal": "cashflow.margin_decline", "first_between": ["2026-08-01", "2026-08-01"]}]
    out.append(s)

    return out


def main() -> None:
    for story in stories():
        story.write(HERE)


if __name__ == "__main__":
    main()
