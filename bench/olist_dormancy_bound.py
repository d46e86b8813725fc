"""How far can a silence threshold go on Olist? An in-sample upper bound for bench/olist_dormancy.py.

    python bench/olist_dormancy_bound.py

The dormancy detector warns when a seller's silence passes a threshold that
depends on what the seller's history says at its last sale. This script asks
what the *best possible* such threshold would reach on this very file: every
gap between two sale days (and each seller's final gap) is put in a bucket by
the seller's history at the gap's start (sale days so far, typical gap, recent
90-day pace against the lifetime pace: 9 x 5 x 4 buckets), and each bucket gets
whichever threshold among the detector's own, 7, 10, 14, 20, 30, 45 days or
never maximises ``warned - lambda x false`` *on the same data*. It is fitted to
the answer, so it is a ceiling for a general rule, not a rule to ship. The
second table is honest: the buckets' thresholds are chosen on one half of the
sellers and measured on the other (what a threshold learnt from a portfolio
would reach on a new one of the same kind). The third is what a stream could
do: the table is learnt online, in time order, from outcomes known by the day
a gap starts (a false warning once the seller sold again; a warned dormancy
once the silence reached 90 days), and each gap uses the table as it stands.

Definitions as in ``bench/olist_dormancy.py`` (dormancy warnings only): a
dormant seller counts as warned when its final silence passes the threshold
within 21 days; a warning is false when the seller sells again within 30 days
of it (warnings in the last 30 days are not judged); per active merchant-month.
"""

from __future__ import annotations

import math
import sys
import zlib
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import olist_dormancy as od  # noqa: E402

from detectors import dormancy  # noqa: E402

CHOICES: tuple[float | None, ...] = (None, 7, 10, 14, 20, 30, 45, 10_000)  # None: the detector's own threshold


def _bin(x: float, edges: tuple[float, ...]) -> int:
    return next((i for i, e in enumerate(edges) if x <= e), len(edges))


def gaps(sellers: dict[str, od.Seller], policy: dormancy.DormancyPolicy):
    """(seller id, bucket, start day, length or None for a dormant seller's last gap, the detector's threshold)."""
    for sid, s in sellers.items():
        days = sorted(s.sales)
        state = dormancy.DormancyState()
        for i, d in enumerate(days):
            dormancy.note_event(state, d, policy)
            typical, threshold = dormancy._threshold(state, policy)
            n, tenure = i + 1, d - days[0]
            recent = sum(1 for x in days[:i + 1] if x > d - 90)
            pace = recent / max(n / max(tenure, 30) * 90, 1e-9)
            bucket = (_bin(n, (1, 2, 3, 5, 8, 13, 21, 34)), _bin(typical, (3, 7, 14, 30)), _bin(pace, (0.5, 0.8, 1.2)))
            if i + 1 < len(days):
                length: int | None = days[i + 1] - d
            else:
                length = None if s.dormant else od.WINDOW_END - d
            yield sid, bucket, d, length, threshold


def _table() -> dict[tuple[int, int, int], dict[float | None, list[int]]]:
    return defaultdict(lambda: {c: [0, 0] for c in CHOICES})


def outcome(start: int, length: int | None, threshold: float) -> tuple[int, int]:
    """(dormant seller warned, false warning) for one gap under one threshold."""
    w = math.floor(threshold) + 1  # the warning comes at the end of day start + w
    if length is not None and length <= w:
        return 0, 0
    if length is None:
        return int(w <= od.WARN_WITHIN), 0
    if start + w + od.JUDGE_DAYS > od.WINDOW_END:
        return 0, 0
    return 0, int(length <= w + od.JUDGE_DAYS)


def main() -> int:
    sellers = od.load(od.DATA)
    policy = dormancy.DormancyPolicy(holidays=False)
    months = sum(od.months_between(min(s.sales), max(s.sales)) for s in sellers.values())
    dormant = sum(s.dormant for s in sellers.values())
    tables = [_table(), _table()]  # by half of the sellers (a fixed split by id)
    for sid, bucket, start, length, threshold in gaps(sellers, policy):
        half = tables[zlib.crc32(sid.encode()) & 1]
        for c in CHOICES:
            hit, false = outcome(start, length, threshold if c is None else c)
            half[bucket][c][0] += hit
            half[bucket][c][1] += false
    table = _table()
    for half in tables:
        for bucket, t in half.items():
            for c in CHOICES:
                table[bucket][c][0] += t[c][0]
                table[bucket][c][1] += t[c][1]
    own = [sum(t[None][i] for t in table.values()) for i in (0, 1)]
    print(f"detector's own thresholds: warned {own[0]}/{dormant} = {own[0] / dormant:.3f}, "
          f"false {own[1]}/{months} = {own[1] / months:.3f} per active merchant-month")
    print(f"in-sample bound, {len(table)} buckets, best threshold per bucket:")
    for lam in (0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
        warned = false = 0
        for t in table.values():
            best = max(CHOICES, key=lambda c: t[c][0] - lam * t[c][1])
            warned += t[best][0]
            false += t[best][1]
        print(f"  lambda {lam:4.2f}: warned {warned / dormant:.3f}, false {false / months:.3f}")
    print("learnt on one half of the sellers, measured on the other (both ways, summed):")
    for lam in (0.15, 0.2, 0.25, 0.3):
        warned = false = 0
        for learn, judge in ((tables[0], tables[1]), (tables[1], tables[0])):
            for bucket, t in judge.items():
                best = max(CHOICES, key=lambda c: learn[bucket][c][0] - lam * learn[bucket][c][1]) \
                    if bucket in learn else None
                warned += t[best][0]
                false += t[best][1]
        print(f"  lambda {lam:4.2f}: warned {warned / dormant:.3f}, false {false / months:.3f}")
    print("learnt online, in time order (each gap with the outcomes known when it starts):")
    for lam in (0.15, 0.2, 0.25, 0.3):
        warned, false = online(sellers, policy, lam)
        print(f"  lambda {lam:4.2f}: warned {warned / dormant:.3f}, false {false / months:.3f}")
    return 0


def online(sellers: dict[str, od.Seller], policy: dormancy.DormancyPolicy, lam: float) -> tuple[int, int]:
    """(dormant sellers warned, false warnings) with the bucket table learnt from outcomes as they come."""
    all_gaps = sorted(gaps(sellers, policy), key=lambda g: g[2])
    known: list[tuple[int, tuple[int, int, int], float | None, int, int]] = []  # (day known, bucket, choice, hit, false)
    for _sid, bucket, start, length, threshold in all_gaps:
        for c in CHOICES:
            w = math.floor(threshold if c is None else c) + 1
            if length is not None and length <= w:
                continue  # the silence never reached the warning
            if length is not None and length <= w + od.JUDGE_DAYS:
                known.append((start + length, bucket, c, 0, 1))  # sold again: false, known that day
            elif start + 90 <= od.WINDOW_END and (length is None or length >= 90):
                known.append((start + 90, bucket, c, int(w <= od.WARN_WITHIN), 0))  # 90 quiet days: dormant
    known.sort(key=lambda k: k[0])
    table = _table()
    warned = false = j = 0
    for _sid, bucket, start, length, threshold in all_gaps:
        while j < len(known) and known[j][0] <= start:
            _day, b, c, hit, bad = known[j]
            table[b][c][0] += hit
            table[b][c][1] += bad
            j += 1
        t = table[bucket]
        best = max(CHOICES, key=lambda c: t[c][0] - lam * t[c][1])
        hit, bad = outcome(start, length, threshold if best is None else best)
        warned += hit
        false += bad
    return warned, false


if __name__ == "__main__":
    raise SystemExit(main())
