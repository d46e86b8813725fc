"""How fast is the portfolio simulator? Time, events/s, file size, peak memory.

    python bench/bench_simulate.py                    # 2,000 borrowers x 18 months
    python bench/bench_simulate.py --borrowers 500 --months 6

Simulating (generation and the global sort) and writing (``events.jsonl`` and
``labels.jsonl`` with msgspec) are timed separately; the files go to a
temporary directory unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from streams.simulate import simulate, write  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    began = time.perf_counter()
    events, labels = simulate(args.borrowers, args.months, args.seed)
    simulated = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        began_write = time.perf_counter()
        events_path, labels_path = write(out, events, labels)
        written = time.perf_counter() - began_write
        size = events_path.stat().st_size
        label_size = labels_path.stat().st_size
    total = simulated + written
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    defaulted = sum(label["defaulted"] for label in labels) / max(1, len(labels))
    print(f"portfolio       {args.borrowers:,} borrowers x {args.months} months (seed {args.seed})")
    print(f"events          {len(events):,}  ({len(events) / max(1, args.borrowers):,.0f} per borrower)")
    print(f"simulate        {simulated:6.1f} s   {len(events) / simulated:,.0f} events/s")
    print(f"write           {written:6.1f} s   {len(events) / written:,.0f} events/s")
    print(f"total           {total:6.1f} s   {len(events) / total:,.0f} events/s")
    print(f"events.jsonl    {size / 1e6:,.1f} MB ({size / max(1, len(events)):.0f} bytes/event); "
          f"labels.jsonl {label_size / 1e3:,.1f} kB")
    print(f"peak memory     {peak:,.0f} MiB")
    print(f"defaulted       {defaulted:.1%}")


if __name__ == "__main__":
    main()
