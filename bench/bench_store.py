"""Benchmark: save mixed output records into the store in batches; print records per second.

Run from the repository root::

    python -m bench.bench_store                      # 50,000 records, batches of 500, temporary SQLite file
    python -m bench.bench_store --url postgresql+psycopg://user@127.0.0.1:5432/db
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from alerts.records import Alert, CollectionTask, LimitChange, Output, Reason, alert_id, record_id
from alerts.store import Store

REASONS = (Reason("dpd_30", "30 days past due", "逾期30天", 31.0, 0.0, 30.0),
           Reason("revenue_drop", "sales fell by half", "销售额下降一半", 0.48, 1.0, 0.5))


def mixed_records(count: int) -> list[Output]:
    """``count`` records: a third each alerts, collection tasks and limit changes; one in ten an update."""
    records: list[Output] = []
    for i in range(count):
        n = i - i % 10 if i % 10 == 9 else i  # every tenth record re-saves an earlier id
        borrower, loan, at = f"B{n % 5000}", f"L{n}", f"2026-03-{1 + n % 28:02}T10:00:00+08:00"
        if n % 3 == 0:
            records.append(Alert(alert_id(borrower, "dpd_30", loan), borrower, loan, "dpd_30", "warning",
                                 "open", REASONS, 0.42, "special_mention", at, at))
        elif n % 3 == 1:
            records.append(CollectionTask(record_id("task", loan, 1, "call"), loan, borrower, 1, "call", "phone",
                                          (n % 100) / 100, n % 90, Decimal(n) / 100, "open", at, "overdue",
                                          "dpd_1_30", "early", at, at))
        else:
            records.append(LimitChange(record_id("limit", loan, at), borrower, loan, Decimal("120000.00"),
                                       Decimal("60000.00"), "decrease", "applied", REASONS[1:], at))
    return records


def run(url: str, count: int, batch: int) -> float:
    """Save ``count`` records at ``url`` in batches of ``batch`` (one ``save`` call each); records per second."""
    records = mixed_records(count)
    with Store(url) as store:
        store.create_schema()
        started = time.perf_counter()
        for start in range(0, count, batch):
            store.save(records[start:start + batch])
        elapsed = time.perf_counter() - started
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'bench.db'}"
        rate = run(url, args.records, args.batch)
    print(f"saved {args.records} mixed records in batches of {args.batch} on {url.split(':')[0]}: "
          f"{rate:,.0f} records/s")


if __name__ == "__main__":
    main()
