"""Dormancy and decline warnings on real merchant revenue (Olist, Brazil, 2017-01 .. 2018-08).

    python bench/olist_dormancy.py                 # default policies
    python bench/olist_dormancy.py --no-decline    # dormancy warnings only
    python bench/olist_dormancy.py --new-gaps 10 --rare-years 5
    python bench/olist_dormancy.py --spring-festival   # with the dormancy Spring Festival rule (see below)
    python bench/olist_dormancy.py --sweep         # plus the trade-off of a few dormancy policies
    python bench/olist_dormancy.py --halves        # also on each half of the sellers (is it one file's fit?)

Each seller's daily revenue (``seller_daily_revenue.csv``, one row per day with
a sale) is fed through :mod:`detectors.revenue` and :mod:`detectors.dormancy`
in date order, as ``revenue/1`` events would be: ``update`` and ``note_event``
on days with a sale, and at the start of every day from the seller's first sale
to the end of the window ``advance``/``silent_since`` (days without a row are
days without a sale). Sector is unknown (no calendar beyond the Spring Festival
mask). Brazilian merchants do not slow down for Spring Festival: in the revenue
detector its masked weeks only withhold evidence, but the dormancy detector's
rule (festival days are not silence) would delay the warning of every seller
whose last sale falls in the weeks before it, so it is off here
(``holidays=False``, which also leaves out China's National Day) unless
``--spring-festival`` is given.

Definitions
-----------
warning
    The rising edge of a condition at the end of day ``t``, per kind:
    ``dormancy`` (:func:`detectors.dormancy.silent_since`), ``decline`` (revenue
    ``dropped`` or ``collapsed``). One episode counts once, however long it lasts
    (the alert layer keeps one open alert per fingerprint the same way).
(a) dormant sellers warned
    Sellers with ``dormant_90d`` (no sale in the last 90+ days of the window)
    that had a warning of either kind *active* on some day in
    ``(last sale, last sale + 21]``. Reported as a share of all dormant sellers.
    Printed beside it, a stricter reading: only warnings that *began* at most
    30 days before the last sale count (not one held open since an earlier
    silence).
(b) false warnings per active merchant-month
    A ``dormancy`` warning raised at the end of day ``t`` is false when the
    seller sells again in ``(t, t + 30]``. A ``decline`` warning is false when the
    seller's revenue over ``(t, t + 30]`` is at least 70% of its average 30-day
    revenue over ``(t - 120, t - 30]`` (the decline did not hold up for a month).
    Warnings raised in the window's last 30 days cannot be judged and are
    left out. Active merchant-months: for each seller, the calendar months
    from the month of its first sale to the month of its last sale, inclusive
    (the alternative denominator, months with at least one sale, is printed too).

What (b) does not count is how long warnings stay open: printed as the share
of days, between each seller's first and last sale, with a warning open. A
detector that held its warnings open longer (say, through a seller's stray
sales after a silence) would raise (a) and lower (b) while the desk saw more
open warnings; this figure and the stricter (a) show it.

The parameters are the detectors' defaults (but for the Spring Festival rule),
chosen for SME revenue in general (see the policies' docstrings); this script
only measures. ``--sweep`` shows the trade-off along the dormancy policy's two
main choices: how long a borrower counts as new (``new_gaps``: until then three
quiet weeks are silence, whatever its first gaps) and how rare a quiet spell
must be for a borrower whose rhythm is known (``rare_years``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from detectors import dormancy, revenue  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "olist"
WINDOW_END = dt.date(2018, 8, 31).toordinal()
JUDGE_DAYS = 30
WARN_WITHIN = 21
RECENT_DAYS = 30  # a stricter reading of (a): the warning began at most this long before the last sale


@dataclass
class Seller:
    sales: dict[int, float] = field(default_factory=dict)  # day ordinal -> revenue
    dormant: bool = False
    last: int = 0


def load(data: Path) -> dict[str, Seller]:
    sellers: dict[str, Seller] = defaultdict(Seller)
    with open(data / "seller_daily_revenue.csv", newline="") as f:
        for row in csv.DictReader(f):
            day = dt.date.fromisoformat(row["date"]).toordinal()
            s = sellers[row["seller_id"]]
            s.sales[day] = s.sales.get(day, 0.0) + float(row["revenue"])
    with open(data / "seller_lifecycle.csv", newline="") as f:
        for row in csv.DictReader(f):
            s = sellers[row["seller_id"]]
            s.dormant = row["dormant_90d"] == "True"
            s.last = dt.date.fromisoformat(row["last"]).toordinal()
    return dict(sellers)


def replay(seller: Seller, rpol: revenue.RevenuePolicy, dpol: dormancy.DormancyPolicy,
           decline: bool) -> tuple[list[tuple[str, int]], dict[int, bool]]:
    """Warnings raised (kind, day) and, per day, whether any warning is active at its end."""
    rs, ds = revenue.RevenueState(), dormancy.DormancyState()
    raised: list[tuple[str, int]] = []
    active: dict[int, bool] = {}
    was = {"dormancy": False, "decline": False}
    for day in range(min(seller.sales), WINDOW_END + 1):
        amount = seller.sales.get(day)
        if amount is not None:
            if decline:
                revenue.update(rs, day, amount, None, rpol)
            dormancy.note_event(ds, day, dpol)
        # the end of `day`: it is complete (days_silent counts complete quiet days)
        declined = False
        if decline:
            sig = revenue.advance(rs, day + 1, None, rpol)
            declined = sig.dropped or sig.collapsed
        now = {"dormancy": dormancy.silent_since(ds, day, dpol).is_silent, "decline": declined}
        for kind, on in now.items():
            if on and not was[kind]:
                raised.append((kind, day))
        was = now
        active[day] = any(now.values())
    return raised, active


def months_between(a: int, b: int) -> int:
    da, db = dt.date.fromordinal(a), dt.date.fromordinal(b)
    return (db.year - da.year) * 12 + db.month - da.month + 1


def is_false(seller: Seller, kind: str, day: int, judge_days: int = JUDGE_DAYS) -> bool:
    after = sum(v for d, v in seller.sales.items() if day < d <= day + judge_days)
    if kind == "dormancy":
        return after > 0
    before = sum(v for d, v in seller.sales.items() if day - 120 < d <= day - 30) / 3.0
    return after >= 0.7 * before


def measure(sellers: dict[str, Seller], rpol: revenue.RevenuePolicy, dpol: dormancy.DormancyPolicy,
            decline: bool, judge_days: int) -> dict[str, float]:
    dormant = warned = recent = open_days = trading_days = 0
    delays: list[int] = []
    counts = {"dormancy": [0, 0], "decline": [0, 0]}  # [judged, false]
    months = months_sold = days_fed = 0
    for seller in sellers.values():
        raised, active = replay(seller, rpol, dpol, decline)
        days_fed += WINDOW_END - min(seller.sales) + 1
        months += months_between(min(seller.sales), max(seller.sales))
        months_sold += len({dt.date.fromordinal(d).strftime("%Y-%m") for d in seller.sales})
        first, last = min(seller.sales), max(seller.sales)
        trading_days += last - first + 1
        open_days += sum(1 for d in range(first, last + 1) if active.get(d))
        for kind, day in raised:
            if day + judge_days > WINDOW_END:
                continue
            counts[kind][0] += 1
            counts[kind][1] += is_false(seller, kind, day, judge_days)
        if seller.dormant:
            dormant += 1
            hit = [d for d in range(seller.last + 1, seller.last + WARN_WITHIN + 1) if active.get(d)]
            if hit:
                warned += 1
                delays.append(hit[0] - seller.last)
                began = hit[0]
                while active.get(began - 1):
                    began -= 1
                recent += began >= seller.last - RECENT_DAYS
    delays.sort()
    false_total = counts["dormancy"][1] + counts["decline"][1]
    return {
        "dormant": dormant, "warned": warned, "recall": warned / max(dormant, 1),
        "recent": recent, "open_share": open_days / max(trading_days, 1),
        "median_delay": delays[len(delays) // 2] if delays else float("nan"),
        "months": months, "months_sold": months_sold, "days_fed": days_fed,
        "false": false_total, "false_rate": false_total / months,
        "dormancy_judged": counts["dormancy"][0], "dormancy_false": counts["dormancy"][1],
        "decline_judged": counts["decline"][0], "decline_false": counts["decline"][1],
    }


SWEEP = (
    ("defaults", {}),
    ("new until 3 gaps", {"new_gaps": 3}),
    ("new until 8 gaps", {"new_gaps": 8}),
    ("new until 10 gaps", {"new_gaps": 10}),
    ("new until 15 gaps", {"new_gaps": 15}),
    ("3 weeks for everyone", {"new_gaps": 256}),
    ("never new (own rhythm only)", {"new_gaps": 0}),
    ("rare: once in 2 years", {"rare_years": 2.0}),
    ("rare: once in 20 years", {"rare_years": 20.0}),
    ("new until 10 gaps, rare 20 years", {"new_gaps": 10, "rare_years": 20.0}),
    ("floor 9 days", {"floor_days": 9.0}),
    ("with the Spring Festival rule", {"holidays": True}),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--no-decline", action="store_true", help="dormancy warnings only")
    ap.add_argument("--judge-days", type=int, default=JUDGE_DAYS, help="N: a warning is false if ... within N days")
    ap.add_argument("--sweep", action="store_true", help="also the dormancy-only trade-off of a few policies")
    ap.add_argument("--halves", action="store_true",
                    help="also each half of the sellers (split by a hash of the id): do the figures hold on both?")
    ap.add_argument("--floor", type=float, default=None, help="dormancy floor_days")
    ap.add_argument("--multiple", type=float, default=None, help="dormancy multiple")
    ap.add_argument("--cap", type=float, default=None, help="dormancy cap_days")
    ap.add_argument("--prior-gap", type=float, default=None, help="dormancy prior_gap")
    ap.add_argument("--new-gaps", type=int, default=None, help="dormancy new_gaps")
    ap.add_argument("--rare-years", type=float, default=None, help="dormancy rare_years")
    ap.add_argument("--spring-festival", action="store_true",
                    help="apply the dormancy detector's Spring Festival rule (off: Brazilian merchants)")
    args = ap.parse_args(argv)
    over = {k: v for k, v in (("floor_days", args.floor), ("multiple", args.multiple),
                              ("cap_days", args.cap), ("prior_gap", args.prior_gap),
                              ("new_gaps", args.new_gaps), ("rare_years", args.rare_years)) if v is not None}
    dpol = dormancy.DormancyPolicy(**{"holidays": args.spring_festival, **over})
    rpol = revenue.RevenuePolicy()
    t0 = time.perf_counter()
    sellers = load(args.data)
    m = measure(sellers, rpol, dpol, not args.no_decline, args.judge_days)
    elapsed = time.perf_counter() - t0
    print(f"sellers {len(sellers)}, seller-days fed {m['days_fed']:,}, {elapsed:.1f} s")
    print(f"dormancy policy: {dpol}")
    print(f"(a) dormant sellers warned within {WARN_WITHIN} days of the last sale: "
          f"{m['warned']}/{m['dormant']} = {m['recall']:.3f} (median {m['median_delay']} days after the last sale)")
    print(f"    stricter: the warning began at most {RECENT_DAYS} days before the last sale: "
          f"{m['recent']}/{m['dormant']} = {m['recent'] / max(m['dormant'], 1):.3f}")
    print(f"    cost not in (b): a warning is open on {m['open_share']:.1%} of the days between a seller's first "
          f"and last sale")
    print(f"(b) false warnings per active merchant-month (N = {args.judge_days} days): "
          f"{m['false']}/{m['months']} = {m['false_rate']:.3f}  (per month with a sale: "
          f"{m['false'] / m['months_sold']:.3f})")
    for kind in ("dormancy", "decline"):
        judged, false = m[f"{kind}_judged"], m[f"{kind}_false"]
        print(f"    {kind:9s} warnings judged {judged:5d}, false {false:5d}, "
              f"{false / m['months']:.3f} per active merchant-month")
    if args.halves:
        for half in (0, 1):
            part = {sid: s for sid, s in sellers.items() if zlib.crc32(sid.encode()) & 1 == half}
            h = measure(part, rpol, dpol, not args.no_decline, args.judge_days)
            print(f"half {half} ({len(part)} sellers): (a) {h['recall']:.3f} ({h['warned']}/{h['dormant']}), "
                  f"(b) {h['false_rate']:.3f}")
    if args.sweep:
        print()
        print(f"dormancy only, N = {args.judge_days}: {'policy':44s} {'(a)':>6s} {'(b)':>6s} {'strict':>6s} {'open':>6s}")
        for label, kw in SWEEP:
            r = measure(sellers, rpol, dormancy.DormancyPolicy(**{"holidays": False, **kw}), False,
                        args.judge_days)
            print(f"{'':28s}{label:44s} {r['recall']:6.3f} {r['false_rate']:6.3f} "
                  f"{r['recent'] / max(r['dormant'], 1):6.3f} {r['open_share']:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
