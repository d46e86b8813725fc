"""Run the benchmarks one after the other (``make bench``); record what they print in bench/RESULTS.md.

    python bench/run_all.py            # every benchmark but the whole demo (about 5 minutes on 2 cores)
    python bench/run_all.py --demo     # and the demo, stage by stage (another 5 minutes)
    python bench/run_all.py core olist # only those whose name contains one of the words

Each runs in its own process with this interpreter, from the repository root,
so one's memory and caches do not colour the next; the exit status is 1 when
any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BENCHES: tuple[tuple[str, list[str]], ...] = (
    ("decode", ["bench/bench_decode.py"]),
    ("core", ["bench/bench_core.py", "--repeat", "1"]),
    ("detectors", ["bench/bench_detectors.py"]),
    ("store", ["-m", "bench.bench_store"]),
    ("simulate", ["bench/bench_simulate.py"]),
    ("olist dormancy", ["bench/olist_dormancy.py"]),
    ("olist dormancy bound", ["bench/olist_dormancy_bound.py"]),
    ("olist replay", ["bench/olist_replay.py", "--no-holidays"]),
)
DEMO = ("demo", ["bench/bench_demo.py"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("only", nargs="*", help="run only the benchmarks whose name contains one of these words")
    ap.add_argument("--demo", action="store_true", help="also the whole demo, stage by stage")
    args = ap.parse_args(argv)
    chosen = [b for b in (*BENCHES, *([DEMO] if args.demo else []))
              if not args.only or any(word in b[0] for word in args.only)]
    failed = []
    for name, cmd in chosen:
        print(f"\n=== {name}: python {' '.join(cmd)}", flush=True)
        began = time.perf_counter()
        code = subprocess.run([sys.executable, *cmd], cwd=ROOT).returncode
        print(f"=== {name}: exit {code} in {time.perf_counter() - began:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
