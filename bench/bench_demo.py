"""How long does ``loanwatch demo`` take, stage by stage? (Issue 5: under 5 minutes for 2,000 x 18 months.)

    python bench/bench_demo.py                                # 2,000 borrowers x 18 months, seed 7
    python bench/bench_demo.py --borrowers 500 --months 6 --workers 1

Runs the demo pipeline (:func:`streams.demo.run_demo`: simulate, write, replay
with monthly cutoffs, SQLite store, backtest, HTML report) into a temporary
directory (or ``--out``) and prints each stage's wall time, the replay's
events/s (in total and per worker process) and the peak memory of this process. Exits 1 when the total exceeds ``--budget`` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from streams.demo import DEFAULT_BORROWERS, DEFAULT_MONTHS, DEFAULT_SEED, default_workers, run_demo  # noqa: E402
from streams.settings import load  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=DEFAULT_BORROWERS)
    parser.add_argument("--months", type=int, default=DEFAULT_MONTHS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds allowed for the whole demo")
    parser.add_argument("--progress", action="store_true", help="show the progress bars")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "demo-out"
        result = run_demo(load(env={}), out, borrowers=args.borrowers, months=args.months, seed=args.seed,
                          workers=args.workers, progress=args.progress)
    t = result["timings"]
    m = result["metrics"]
    print(f"demo: {args.borrowers:,} borrowers x {args.months} months, seed {args.seed}: {t['events']:,} events, "
          f"{os.cpu_count()} CPU(s), {t['workers']} replay worker(s)")
    for name, seconds in t["stages"].items():
        share = 100 * seconds / max(t["total"], 1e-9)
        print(f"  {name:<9} {seconds:8.1f} s  {share:5.1f} %")
    print(f"  {'total':<9} {t['total']:8.1f} s  (budget {args.budget:.0f} s)")
    print(f"replay: {t['replay_events_per_second']:,.0f} events/s in total, "
          f"{t['replay_events_per_second_per_worker']:,.0f} events/s per worker")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {own:,.0f} MB (the simulated events are held in memory until written)")
    print("figures:", json.dumps({k: m.get(k) for k in ("auc_90d", "auc_180d_current", "median_lead_days",
                                                        "false_alerts_per_100_borrower_months", "precision",
                                                        "recall", "nab_score")}))
    return 0 if t["total"] <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
