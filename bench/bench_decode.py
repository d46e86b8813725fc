"""How fast is the edge? Decode mixed valid events and print microseconds per event.

    python bench/bench_decode.py            # 100,000 events
    python bench/bench_decode.py --n 20000

Baselines: ``json.loads`` alone (no types, no validation) and, for revenue events,
``json.loads`` + a faust ``Record`` with coercion and validation (if faust is installed).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from streams.decode import DeadLetter, decode  # noqa: E402

WHERE = {"source": "bench", "partition": 0, "offset": 0, "received_at": "2026-01-01T00:00:00Z"}


def _templates(rng: random.Random) -> list[dict[str, object]]:
    amount = f"{rng.randrange(1, 10**6)}.{rng.randrange(100):02d}"
    loan = f"L{rng.randrange(10**5)}"
    day = rng.randrange(1, 28)
    schedule = [{"seq": s, "due_date": f"2026-{s:02d}-05", "amount_due": "10400.00"} for s in range(1, 13)]
    return [
        {"schema": "revenue/1", "amount": amount, "period": "day", "source": "pos"},
        {"schema": "revenue/1", "amount": float(amount), "period": "day", "source": "ecommerce"},
        {"schema": "cashflow/1", "account_id": "A1", "direction": "out", "amount": amount,
         "balance_after": "51200.55", "counterparty_type": "supplier"},
        {"schema": "repayment/1", "loan_id": loan, "amount": amount, "installment_seq": 1, "channel": "app"},
        {"schema": "drawdown/1", "loan_id": loan, "amount": amount},
        {"schema": "installment_due/1", "loan_id": loan, "seq": 7, "due_date": f"2026-02-{day:02d}",
         "amount_due": "1500", "statement_balance": "30000"},
        {"schema": "collection_outcome/1", "task_id": "T-9f2c", "loan_id": loan, "outcome": "promise_to_pay",
         "promised_amount": "10400", "promised_date": "2026-03-12", "agent_id": "agent-17"},
        {"schema": "loan_closed/1", "loan_id": loan, "reason": "repaid"},
        {"schema": "schedule_changed/1", "loan_id": loan, "installments": schedule[:6], "reason": "extension"},
        {"schema": "loan_opened/1", "loan_id": loan, "product": "term_loan", "principal": "120000.00",
         "credit_limit": "120000.00", "currency": "CNY", "annual_rate": 0.072, "sector": "textile",
         "region": "CN-33", "installments": schedule},
    ]


def mixed_events(n: int, seed: int = 7) -> list[bytes]:
    """``n`` valid events, mostly the frequent kinds (revenue, cashflow), as JSON bytes."""
    rng = random.Random(seed)
    weights = [30, 10, 25, 8, 5, 5, 3, 2, 1, 1]
    out = []
    for i in range(n):
        body = rng.choices(_templates(rng), weights)[0]
        envelope = {"event_id": f"ev-{i}", "borrower_id": f"B{rng.randrange(10**6)}",
                    "occurred_at": f"2026-01-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:15:00+08:00"}
        out.append(json.dumps({**body, **envelope}, separators=(",", ":")).encode())
    return out


def per_event_us(fn: Callable[[bytes], object], records: Sequence[bytes], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for raw in records:
            fn(raw)
        best = min(best, time.perf_counter() - start)
    return best / len(records) * 1e6


def _faust_revenue() -> Callable[[bytes], object] | None:
    try:
        import faust
    except ImportError:
        return None

    class RevenueRecord(faust.Record, coerce=True, validation=True):  # type: ignore[call-arg]
        event_id: str
        borrower_id: str
        occurred_at: datetime
        amount: Decimal
        period: str = "day"
        source: str = "pos"

    def load(raw: bytes) -> object:
        data = json.loads(raw)
        del data["schema"]
        return RevenueRecord.from_data(data)

    return load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    n = parser.parse_args().n
    records = mixed_events(n)
    bad = [r for r in map(lambda raw: decode(raw, **WHERE), records) if isinstance(r, DeadLetter)]
    assert not bad, bad[0].error

    def ours(raw: bytes) -> object:
        return decode(raw, **WHERE)

    print(f"{n:,} mixed valid events, {sum(map(len, records)) / n:.0f} bytes on average; best of 3 runs")
    print(f"  streams.decode.decode            {per_event_us(ours, records):6.2f} µs/event")
    print(f"  json.loads (no types, no checks) {per_event_us(json.loads, records):6.2f} µs/event")
    revenue = [r for r in records if r.startswith(b'{"schema":"revenue/1"')]
    if (faust_load := _faust_revenue()) is not None and revenue:
        print(f"revenue/1 only ({len(revenue):,} events):")
        print(f"  streams.decode.decode            {per_event_us(ours, revenue):6.2f} µs/event")
        print(f"  json.loads + faust Record        {per_event_us(faust_load, revenue):6.2f} µs/event")
    broken = [r.replace(b'"borrower_id":"B', b'"borrower_id":"' + b'x' * 70) if i % 2 else r[: len(r) // 2]
              for i, r in enumerate(records[: max(1, n // 10)])]
    print(f"dead letters ({len(broken):,} records: half too-long ids, half truncated):")
    print(f"  streams.decode.decode            {per_event_us(ours, broken):6.2f} µs/record")


if __name__ == "__main__":
    main()
