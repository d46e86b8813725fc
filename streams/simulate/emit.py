"""Build contract events (plain dicts) for one borrower.

Money is kept in integer cents inside the simulator and written as a decimal
string with two decimals; ``occurred_at`` is RFC 3339 with the +08:00 offset
(China has one time zone and no daylight saving, so string order is time order).
Event ids are deterministic: ``{borrower}-{kind}-{n}``.

>>> money(123456), money(5), money(-250)
('1234.56', '0.05', '-2.50')
>>> em = Emitter("B00001", ["2025-01-01"])
>>> em.revenue(0, 835020, "day", "pos")["occurred_at"]
'2025-01-01T23:59:59+08:00'
>>> em.events[0]["event_id"], em.events[0]["amount"]
('B00001-rv-1', '8350.20')
"""

from __future__ import annotations

import hashlib
from typing import Any

Event = dict[str, Any]

CLOCK: list[str] = [f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00" for s in range(86400)]


def money(cents: int) -> str:
    if cents < 0:
        return "-" + money(-cents)
    return f"{cents // 100}.{cents % 100:02d}"


def hashed_id(*parts: object) -> str:
    """A pseudonymous counterparty id: a hash of what it is, never a name."""
    text = "/".join(str(p) for p in parts).encode()
    return "cp-" + hashlib.blake2b(text, digest_size=8).hexdigest()


class Emitter:
    """Appends one borrower's events to ``events`` in the order they are made."""

    def __init__(self, borrower_id: str, iso_days: list[str]) -> None:
        self.borrower_id = borrower_id
        self.iso_days = iso_days
        self.events: list[Event] = []
        self.counts: dict[str, int] = {}
        self.n_cashflows = 0

    def _id(self, kind: str) -> str:
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        return f"{self.borrower_id}-{kind}-{n}"

    def at(self, day: int, sec: int) -> str:
        return self.iso_days[day] + CLOCK[sec]

    def revenue(self, day: int, cents: int, period: str, source: str) -> Event:
        ev = {
            "schema": "revenue/1", "event_id": self._id("rv"), "borrower_id": self.borrower_id,
            "occurred_at": self.at(day, 86399), "amount": money(cents), "period": period, "source": source,
        }
        self.events.append(ev)
        return ev

    def revenues(self, days: list[int], cents: list[int], period: str, source: str) -> None:
        """Many ``revenue/1`` events at once, each at 23:59:59 of its day."""
        bid, iso, end = self.borrower_id, self.iso_days, CLOCK[86399]
        first = self.counts.get("rv", 0) + 1
        self.events.extend(
            {"schema": "revenue/1", "event_id": f"{bid}-rv-{k}", "borrower_id": bid,
             "occurred_at": iso[d] + end, "amount": f"{c // 100}.{c % 100:02d}", "period": period, "source": source}
            for k, d, c in zip(range(first, first + len(days)), days, cents, strict=True)
        )
        self.counts["rv"] = first + len(days) - 1

    def cashflow(self, day: int, sec: int, account_id: str, direction: str, cents: int,
                 balance_after: int, counterparty_type: str, counterparty_id: str) -> Event:
        self.n_cashflows += 1
        ev = {
            "schema": "cashflow/1", "event_id": f"{self.borrower_id}-cf-{self.n_cashflows}",
            "borrower_id": self.borrower_id, "occurred_at": self.iso_days[day] + CLOCK[sec],
            "account_id": account_id, "direction": direction,
            "amount": f"{cents // 100}.{cents % 100:02d}", "balance_after": money(balance_after),
            "counterparty_type": counterparty_type, "counterparty_id": counterparty_id,
        }
        self.events.append(ev)
        return ev

    def loan_opened(self, day: int, sec: int, loan_id: str, product: str, principal: int,
                    credit_limit: int, annual_rate: float, sector: str, region: str,
                    installments: list[tuple[int, str, int]]) -> Event:
        ev = {
            "schema": "loan_opened/1", "event_id": self._id("ln"), "borrower_id": self.borrower_id,
            "occurred_at": self.at(day, sec), "loan_id": loan_id, "product": product,
            "principal": money(principal), "credit_limit": money(credit_limit), "currency": "CNY",
            "annual_rate": annual_rate, "sector": sector, "region": region,
            "installments": [{"seq": s, "due_date": d, "amount_due": money(a)} for s, d, a in installments],
        }
        self.events.append(ev)
        return ev

    def installment_due(self, day: int, loan_id: str, seq: int, due_date: str, amount_due: int,
                        statement_balance: int) -> Event:
        ev = {
            "schema": "installment_due/1", "event_id": self._id("st"), "borrower_id": self.borrower_id,
            "occurred_at": self.at(day, 0), "loan_id": loan_id, "seq": seq, "due_date": due_date,
            "amount_due": money(amount_due), "statement_balance": money(statement_balance),
        }
        self.events.append(ev)
        return ev

    def drawdown(self, day: int, sec: int, loan_id: str, cents: int) -> Event:
        ev = {
            "schema": "drawdown/1", "event_id": self._id("dd"), "borrower_id": self.borrower_id,
            "occurred_at": self.at(day, sec), "loan_id": loan_id, "amount": money(cents),
        }
        self.events.append(ev)
        return ev

    def repayment(self, day: int, sec: int, loan_id: str, cents: int, seq: int | None, channel: str) -> Event:
        ev: Event = {
            "schema": "repayment/1", "event_id": self._id("rp"), "borrower_id": self.borrower_id,
            "occurred_at": self.at(day, sec), "loan_id": loan_id, "amount": money(cents),
        }
        if seq is not None:
            ev["installment_seq"] = seq
        ev["channel"] = channel
        self.events.append(ev)
        return ev

    def loan_closed(self, day: int, sec: int, loan_id: str, reason: str = "repaid") -> Event:
        ev = {
            "schema": "loan_closed/1", "event_id": self._id("lc"), "borrower_id": self.borrower_id,
            "occurred_at": self.at(day, sec), "loan_id": loan_id, "reason": reason,
        }
        self.events.append(ev)
        return ev
