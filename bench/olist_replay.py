"""Dormancy and decline on Olist through the whole pipeline: ``revenue/1`` events replayed by the core.

    python bench/olist_replay.py                  # writes the events and the replay under a temp dir
    python bench/olist_replay.py --out olist-out  # ... or here (events.jsonl.gz, alerts.jsonl, ...)
    python bench/olist_replay.py --no-holidays    # Brazilian sellers: [core] public_holidays = false

``bench/olist_dormancy.py`` feeds the two detectors directly. This script does
what a lender would: every seller-day with a sale becomes a ``revenue/1`` event
(``source`` ``ecommerce``, ``period`` ``day``, at 23:59:59 local time), the
events are replayed by the processor ``loanwatch replay`` uses (alert rules,
lifecycle and hysteresis, the feed board that holds back dormancy on a
pipeline outage, the same default settings), with the dormancy rules
(``feed_silent``, ``feed_silent_long``, off by default) switched on beside the
default rules, to the window's end (2018-08-31). (a) and (b) are then read
from the ``alerts.jsonl`` it wrote, with the definitions of
``bench/olist_dormancy.py``:

(a) a dormant seller (no sale in the window's last 90+ days) is warned when a
    ``dormancy`` or ``revenue_decline`` alert was open on some day in
    ``(last sale, last sale + 21]``;
(b) every alert opened (one per episode: the lifecycle keeps one open alert per
    borrower and type) is judged as in that script (a ``dormancy`` alert is
    false when the seller sells again within 30 days; a ``revenue_decline``
    one when the next 30 days bring at least 70% of the usual); alerts opened
    in the window's last 30 days are not judged; per active merchant-month.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import gzip
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import olist_dormancy as od  # noqa: E402

from alerts.rules import RuleSet, load_rules  # noqa: E402
from streams.processor import Processor  # noqa: E402
from streams.replay import JsonlSink, ReplaySummary, read_lines, replay  # noqa: E402
from streams.settings import Core, Settings  # noqa: E402

KINDS = {"dormancy": "dormancy", "revenue_decline": "decline"}
WATCH = ("feed_silent", "feed_silent_long")  # the dormancy rules, off by default


def write_events(data: Path, path: Path, tz: dt.tzinfo) -> int:
    """Olist's seller-days with a sale as ``revenue/1`` events in time order (gzip JSON Lines)."""
    rows = []
    with open(data / "seller_daily_revenue.csv", newline="") as f:
        for row in csv.DictReader(f):
            rows.append((row["date"], row["seller_id"], row["revenue"]))
    rows.sort()
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for day, seller, amount in rows:
            at = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(23, 59, 59), tz)
            out.write(json.dumps({"schema": "revenue/1", "event_id": f"olist-{seller}-{day}",
                                  "borrower_id": seller, "occurred_at": at.isoformat(), "amount": amount,
                                  "period": "day", "source": "ecommerce"}) + "\n")
    return len(rows)


def rules_with_dormancy() -> RuleSet:
    """The default rules plus the dormancy rules."""
    on = {r.name for r in load_rules().rules} | set(WATCH)
    every = load_rules(include_disabled=True)
    return dataclasses.replace(every, rules=tuple(r for r in every.rules if r.name in on))


def _day(stamp: str, tz: dt.tzinfo) -> int:
    """The local day a record's moment ends or falls in (an alert opened at midnight is the past day's)."""
    return (dt.datetime.fromisoformat(stamp).astimezone(tz) - dt.timedelta(seconds=1)).date().toordinal()


def episodes(alerts_file: Path, tz: dt.tzinfo) -> dict[str, list[tuple[str, int, int]]]:
    """Per seller: (kind, first day open, last day open) of each alert of the watched types."""
    spans: dict[str, tuple[str, str, int, int | None]] = {}  # alert_id -> (seller, kind, opened day, resolved day)
    for line in alerts_file.open(encoding="utf-8"):
        a = json.loads(line)
        if a["type"] not in KINDS:
            continue
        opened = _day(a["opened_at"], tz)
        end = _day(a["updated_at"], tz) - 1 if a["status"] == "resolved" else None
        spans[a["alert_id"]] = (a["borrower_id"], KINDS[a["type"]], opened, end)
    out: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for seller, kind, opened, end in spans.values():
        out[seller].append((kind, opened, od.WINDOW_END if end is None else end))
    return out


def measure(sellers: dict[str, od.Seller], found: dict[str, list[tuple[str, int, int]]]) -> dict[str, float]:
    dormant = warned = fresh = 0
    judged = {"dormancy": [0, 0], "decline": [0, 0]}
    months = sum(od.months_between(min(s.sales), max(s.sales)) for s in sellers.values())
    delays = []
    for sid, seller in sellers.items():
        mine = found.get(sid, [])
        for kind, opened, _end in mine:
            if opened + od.JUDGE_DAYS > od.WINDOW_END:
                continue
            judged[kind][0] += 1
            judged[kind][1] += od.is_false(seller, kind, opened)
        if seller.dormant:
            dormant += 1
            lo, hi = seller.last + 1, seller.last + od.WARN_WITHIN
            hits = [max(opened, lo) for _k, opened, end in mine if opened <= hi and end >= lo]
            if hits:
                warned += 1
                delays.append(min(hits) - seller.last)
                fresh += any(lo <= opened <= hi for _k, opened, _e in mine)
    delays.sort()
    false = judged["dormancy"][1] + judged["decline"][1]
    return {"dormant": dormant, "warned": warned, "fresh": fresh, "months": months, "false": false,
            "median_delay": delays[len(delays) // 2] if delays else float("nan"),
            **{f"{k}_judged": v[0] for k, v in judged.items()}, **{f"{k}_false": v[1] for k, v in judged.items()}}


def run(data: Path, out: Path, holidays: bool) -> tuple[int, ReplaySummary, float, dict[str, float], float]:
    """Write the events under ``out``, replay them there, measure: (events, summary, seconds, metrics, resolve
    days of a dormancy alert)."""
    # as a lender would: [core] public_holidays = false in the settings for Brazilian sellers
    policy = Settings(core=Core(public_holidays=holidays)).policy()
    policy = dataclasses.replace(policy, rules=rules_with_dormancy())
    events = out / "olist_events.jsonl.gz"
    n = write_events(data, events, policy.tz)
    t0 = time.perf_counter()
    sink = JsonlSink(out)
    end = dt.datetime.fromordinal(od.WINDOW_END + 1).replace(tzinfo=policy.tz)
    try:
        summary = replay(read_lines(events), Processor(policy), sink, source=str(events), until=end)
    finally:
        sink.close()
    elapsed = time.perf_counter() - t0
    m = measure(od.load(data), episodes(out / "alerts.jsonl", policy.tz))
    return n, summary, elapsed, m, policy.rules.policy.span("dormancy") / 86400


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=od.DATA)
    ap.add_argument("--out", type=Path, default=None, help="keep the events and the replay's files here")
    ap.add_argument("--no-holidays", action="store_true",
                    help="China's public holidays are silence like any day ([core] public_holidays = false)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        n, summary, elapsed, m, resolve_days = run(args.data, out, holidays=not args.no_holidays)
    print(f"{n:,} revenue/1 events, {summary.borrowers:,} sellers, replayed in {elapsed:.1f} s "
          f"({summary.dead_letters} dead letters); public holidays excused: {not args.no_holidays}")
    print(f"(a) dormant sellers with a dormancy or decline alert open within {od.WARN_WITHIN} days of the last "
          f"sale: {m['warned']}/{m['dormant']} = {m['warned'] / m['dormant']:.3f} (median {m['median_delay']} days)")
    print(f"    of which opened after the last sale: {m['fresh']} = {m['fresh'] / m['dormant']:.3f} (the others were "
          f"open already: opened on an earlier silence, resolved only {resolve_days:g} clear days after it)")
    print(f"(b) false alerts per active merchant-month: {m['false']}/{m['months']} = "
          f"{m['false'] / m['months']:.3f}")
    for kind in ("dormancy", "decline"):
        print(f"    {kind:9s} alerts judged {m[f'{kind}_judged']:5d}, false {m[f'{kind}_false']:5d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
