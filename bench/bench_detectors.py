"""What do the detectors cost? Microseconds per call and per event, state bytes, PD calibration.

    python bench/bench_detectors.py               # 20,000 borrower-days
    python bench/bench_detectors.py --days 5000 --profile

Per-borrower detectors are pure Python on a tiny state; the shared models are
river's HalfSpaceTrees (behind MinMaxScaler and QuantileFilter) and a
StandardScaler | LogisticRegression. The mixed workload is one borrower-day:
one ``revenue/1`` event, three ``cashflow/1`` movements, the day timer
(revenue.advance, dormancy.silent_since, cashflow.advance), the feature vector,
one shared anomaly score-and-learn and one PD prediction. Its cost is
reported per borrower-day and per event (4 events a day), with the shared
models' share of it. Timings are medians of three runs with ``perf_counter``;
on a loaded machine expect noise.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import msgspec  # noqa: E402

from detectors import cashflow as cf  # noqa: E402
from detectors import dormancy as dm  # noqa: E402
from detectors import repayment as rp  # noqa: E402
from detectors import revenue as rv  # noqa: E402
from detectors.anomaly import BorrowerAnomaly  # noqa: E402
from detectors.default_model import DefaultModel, LabelMemory, remember  # noqa: E402
from detectors.features import FEATURES, borrower_features  # noqa: E402

START = 739_000 + 52  # a Monday in 2024... any day ordinal works
T0 = 1_767_225_600
DAY = 86_400


def timed(fn: Callable[[], int], repeat: int = 3) -> float:
    """Median seconds per unit over ``repeat`` runs; ``fn`` returns the number of units it did."""
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        n = fn()
        runs.append((time.perf_counter() - t) / max(n, 1))
    return statistics.median(runs)


def feature_rows(n: int, seed: int = 1) -> list[dict[str, float]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        stress = rng.random() ** 3
        rows.append({k: (min(1.0, max(0.0, rng.gauss(stress * 0.6, 0.15))) if rng.random() < 0.4 else 0.0)
                     for k in FEATURES})
    return rows


def bench_per_borrower(days: int) -> dict[str, float]:
    rng = random.Random(3)
    amounts = [10_000 * math.exp(rng.gauss(0, 0.3)) for _ in range(days)]
    out: dict[str, float] = {}

    def revenue_update() -> int:
        s = rv.RevenueState()
        for i, a in enumerate(amounts):
            rv.update(s, START + i, a, "textile")
        return days

    def revenue_advance() -> int:
        s = rv.RevenueState()
        for i, a in enumerate(amounts):
            rv.update(s, START + i, a, "textile")
            rv.advance(s, START + i + 1, "textile")
        return days

    out["revenue.update (event)"] = timed(revenue_update)
    out["revenue.update + advance (day)"] = timed(revenue_advance)

    def dormancy() -> int:
        s = dm.DormancyState()
        for i in range(days):
            dm.note_event(s, START + i)
            dm.silent_since(s, START + i)
        return days

    out["dormancy.note_event + silent_since"] = timed(dormancy)

    def cash() -> int:
        s = cf.CashflowState()
        for i in range(days):
            cf.update(s, T0 + i * DAY + 3600, "in", amounts[i], "customer")
            cf.update(s, T0 + i * DAY + 7200, "out", 0.7 * amounts[i], "supplier", balance_after=150_000.0,
                      account_id="A1")
            cf.update(s, T0 + i * DAY + 9000, "out", 0.1 * amounts[i], "utilities")
        return 3 * days

    out["cashflow.update (event)"] = timed(cash)

    def repayment() -> int:
        s = rp.RepaymentState()
        for i in range(days):
            rp.dpd_changed(s, i % 40)
        return days

    out["repayment.dpd_changed"] = timed(repayment)
    return out


def bench_shared(days: int) -> dict[str, float]:
    rows = feature_rows(days)
    out: dict[str, float] = {}
    for label, kw in (("HST 10 trees, height 6 (default)", {}),
                      ("HST 10 trees, height 8 (river default)", {"height": 8}),
                      ("HST 10 trees, height 6, learn 1 in 4", {"learn_every": 4}),
                      ("HST 5 trees, height 6", {"n_trees": 5, "height": 6})):
        def run(kw: dict = kw) -> int:
            m = BorrowerAnomaly(seed=1, **kw)
            for x in rows:
                m.score_and_learn(x)
            return len(rows)

        out[f"anomaly.score_and_learn, {label}"] = timed(run)
    pd_model = DefaultModel()
    rng = random.Random(2)
    for x in rows[:2000]:
        pd_model.label(x, rng.random() < 0.05)

    def predict() -> int:
        for x in rows:
            pd_model.predict(x)
        return len(rows)

    def label() -> int:
        m = DefaultModel()
        for x in rows:
            m.label(x, rng.random() < 0.05)
        return len(rows)

    out["pd.predict"] = timed(predict)
    out["pd.label"] = timed(label)
    return out


def mixed_day(days: int, borrowers: int = 200) -> tuple[float, float, float]:
    """(seconds per borrower-day, of which shared models, state bytes after the run)."""
    rng = random.Random(4)
    states = [(rv.RevenueState(), dm.DormancyState(), cf.CashflowState(), rp.RepaymentState(), LabelMemory())
              for _ in range(borrowers)]
    anomaly = BorrowerAnomaly(seed=1)
    pd_model = DefaultModel()
    per = max(days // borrowers, 1)
    shared = 0.0
    t = time.perf_counter()
    for i in range(per):
        day = START + i
        for rs, ds, cs, ps, mem in states:
            rv.update(rs, day, 10_000 * math.exp(rng.gauss(0, 0.3)), "retail")
            dm.note_event(ds, day)
            base = T0 + i * DAY
            cf.update(cs, base + 3600, "in", 9_000.0, "customer")
            cf.update(cs, base + 7200, "out", 6_000.0, "supplier", balance_after=150_000.0, account_id="A1")
            cf.update(cs, base + 9000, "out", 500.0, "utilities")
            r = rv.advance(rs, day + 1, "retail")
            silence = dm.silent_since(ds, day)
            c = cf.advance(cs, base + DAY)
            x = borrower_features(r, c, rp.signals(ps), silence)
            remember(mem, day, x)
            t1 = time.perf_counter()
            anomaly.score_and_learn(x)
            pd_model.predict(x)
            shared += time.perf_counter() - t1
    total = time.perf_counter() - t
    n = per * borrowers
    enc = msgspec.msgpack.Encoder()
    size = statistics.mean(sum(len(enc.encode(s)) for s in st) for st in states)
    return total / n, shared / n, size


def calibration(n_train: int = 20_000, n_test: int = 10_000) -> dict[str, float]:
    """The PD model on simulated borrowers whose true default probability follows a known logistic model."""
    weights = {"rev_shortfall": 2.0, "rev_collapse": 1.5, "cash_runway_short": 1.5, "cash_other_lenders": 2.0,
               "rep_late_share": 2.5, "rep_consecutive_late": 1.0, "dpd": 3.0, "feed_silence": 1.0}
    rng = random.Random(1)

    def borrower() -> tuple[dict[str, float], float, bool]:
        stress = rng.random() ** 3
        x = dict.fromkeys(FEATURES, 0.0)
        for k in FEATURES:
            if rng.random() < 0.3 + 0.6 * stress:
                x[k] = min(1.0, max(0.0, rng.gauss(stress * 0.7, 0.2)))
        p = 1 / (1 + math.exp(-(-5.5 + sum(weights.get(k, 0.0) * v for k, v in x.items()))))
        return x, p, rng.random() < p

    model = DefaultModel()
    for _ in range(n_train):
        x, _, y = borrower()
        model.label(x, y)
    bins = [[0, 0.0, 0] for _ in range(10)]
    brier = brier_true = 0.0
    for _ in range(n_test):
        x, p_true, y = borrower()
        p = model.predict(x)
        b = bins[min(int(p * 10), 9)]
        b[0] += 1
        b[1] += p
        b[2] += y
        brier += (p - y) ** 2
        brier_true += (p_true - y) ** 2
    return {
        "labels": n_train,
        "weight of the learned model": model.weight,
        "ECE (10 bins)": sum(abs(b[1] - b[2]) for b in bins) / n_test,
        "Brier": brier / n_test,
        "Brier of the true probabilities": brier_true / n_test,
        "mean predicted": sum(b[1] for b in bins) / n_test,
        "observed rate": sum(b[2] for b in bins) / n_test,
    }


def profile_hst(days: int) -> str:
    rows = feature_rows(min(days, 5000))
    m = BorrowerAnomaly(seed=1)
    prof = cProfile.Profile()
    prof.enable()
    for x in rows:
        m.score_and_learn(x)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(8)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=20_000, help="borrower-days per measurement")
    ap.add_argument("--profile", action="store_true", help="where the HalfSpaceTrees time goes (cProfile)")
    args = ap.parse_args(argv)

    print(f"{'call':58s} {'µs':>8s}")
    for name, sec in {**bench_per_borrower(args.days), **bench_shared(args.days)}.items():
        print(f"{name:58s} {sec * 1e6:8.1f}")
    day_s, shared_s, size = mixed_day(args.days)
    print()
    print("mixed workload: 1 revenue + 3 cashflow events a borrower-day, day timer, features, HST, PD")
    print(f"  per borrower-day {day_s * 1e6:8.1f} µs, of which shared river models {shared_s * 1e6:.1f} µs")
    print(f"  per event (4 a day) {day_s / 4 * 1e6:8.1f} µs, river models {shared_s / 4 * 1e6:.1f} µs")
    print(f"  per-borrower detector state (revenue+dormancy+cashflow+repayment+label memory): {size:.0f} bytes")
    print()
    print("PD model calibration on simulated borrowers")
    for k, v in calibration().items():
        print(f"  {k:34s} {v:.4f}" if isinstance(v, float) else f"  {k:34s} {v}")
    if args.profile:
        print()
        print(profile_hst(args.days))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
