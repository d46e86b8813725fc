"""Command line: simulate a portfolio, write it, report timing and calibration.

    python -m streams.simulate --borrowers 2000 --months 18 --seed 7 --out out/sim
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import date

from . import simulate, write
from .calibration import OLIST_DIR, load_olist, report, revenue_series


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.simulate", description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--out", default="out/sim")
    parser.add_argument("--no-calibration", action="store_true", help="skip the comparison with Olist")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    events, labels = simulate(args.borrowers, args.months, args.seed, args.start)
    simulated = time.perf_counter() - began
    events_path, labels_path = write(args.out, events, labels)
    total = time.perf_counter() - began
    defaults = sum(label["defaulted"] for label in labels)
    print(f"{len(events):,} events from {len(labels):,} borrowers in {total:.1f} s "
          f"(simulate {simulated:.1f} s, {len(events) / max(simulated, 1e-9):,.0f} events/s)")
    print(f"defaulted (90+ DPD): {defaults} ({defaults / max(len(labels), 1):.1%})")
    print("events:", dict(sorted(Counter(e["schema"] for e in events).items())))
    print("stories:", dict(sorted(Counter(label["story"] for label in labels).items())))
    print(f"wrote {events_path} and {labels_path}")
    olist_file = OLIST_DIR / "seller_daily_revenue.csv"
    if not args.no_calibration and olist_file.exists():
        print()
        print(report(load_olist(olist_file), revenue_series(events), revenue_series(events, source="invoice")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
