"""Borrower stories as event files (tests/scenarios_detectors) through the detectors, checked day by day.

The runner here is also the reference for how the core calls the detectors:
per event type (``revenue/1`` -> revenue.update + dormancy.note_event,
``cashflow/1`` -> cashflow.update, ``loan_opened/1`` -> the sector) and at the
end of every local day (revenue.advance, dormancy.silent_since, cashflow.advance).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from detectors import cashflow as cf
from detectors import dormancy as dm
from detectors import revenue as rv

HERE = Path(__file__).resolve().parent / "scenarios_detectors"
TZ = ZoneInfo("Asia/Shanghai")
STORIES = sorted(p.name[: -len(".jsonl")] for p in HERE.glob("*.jsonl"))


def local_day(stamp: str) -> int:
    return dt.datetime.fromisoformat(stamp).astimezone(TZ).date().toordinal()


def day_end(day: int) -> int:
    """Epoch second at which local day ``day`` ends."""
    d = dt.date.fromordinal(day + 1)
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=TZ).timestamp())


def run_story(name: str) -> tuple[dict[str, dict[int, bool]], dict]:
    """Signals per name per local day, and the expectations."""
    events = [json.loads(line) for line in (HERE / f"{name}.jsonl").read_text().splitlines()]
    meta = json.loads((HERE / f"{name}.expect.json").read_text())
    rev, dor, cash = rv.RevenueState(), dm.DormancyState(), cf.CashflowState()
    sector: str | None = None
    by_day: dict[int, list[dict]] = {}
    for e in events:
        by_day.setdefault(local_day(e["occurred_at"]), []).append(e)
    first = min(by_day)
    last = max(max(by_day), dt.date.fromisoformat(meta["until"]).toordinal() if meta.get("until") else 0)
    seen: dict[str, dict[int, bool]] = {}
    for day in range(first, last + 1):
        for e in by_day.get(day, []):
            schema = e["schema"]
            if schema == "loan_opened/1":
                sector = e.get("sector")
            elif schema == "revenue/1":
                rv.update(rev, day, float(e["amount"]), sector, period=e.get("period", "day"))
                dm.note_event(dor, day)
            elif schema == "cashflow/1":
                t = int(dt.datetime.fromisoformat(e["occurred_at"]).timestamp())
                balance = e.get("balance_after")
                cf.update(cash, t, e["direction"], float(e["amount"]), e.get("counterparty_type", "other"),
                          balance_after=float(balance) if balance is not None else None,
                          counterparty_id=e.get("counterparty_id"), account_id=e.get("account_id"))
        # the end of the local day
        r = rv.advance(rev, day + 1, sector)
        c = cf.advance(cash, day_end(day))
        now = {
            "revenue.dropped": r.dropped, "revenue.collapsed": r.collapsed, "revenue.volatile": r.volatile,
            "dormancy.silent": dm.silent_since(dor, day).is_silent,
            "cashflow.low_runway": c.low_runway, "cashflow.multi_lending": c.multi_lending,
            "cashflow.margin_decline": c.margin_decline, "cashflow.burning": c.burning,
        }
        for k, v in now.items():
            seen.setdefault(k, {})[day] = v
    return seen, meta


def test_there_are_detector_stories():
    assert len(STORIES) >= 12


@pytest.mark.parametrize("name", STORIES)
def test_detector_story(name):
    seen, meta = run_story(name)
    for exp in meta["expect"]:
        days = seen[exp["signal"]]
        ons = sorted(d for d, v in days.items() if v)
        rises = [d for d in sorted(days) if days[d] and not days.get(d - 1, False)]
        what = f"{name}: {exp}"
        if exp.get("never"):
            assert not ons, f"{what}: on at {[dt.date.fromordinal(d).isoformat() for d in ons[:5]]}"
        if "first_between" in exp:
            lo, hi = (dt.date.fromisoformat(x).toordinal() for x in exp["first_between"])
            assert ons and lo <= ons[0] <= hi, f"{what}: first on {dt.date.fromordinal(ons[0]) if ons else None}"
        if "on" in exp:
            assert days[dt.date.fromisoformat(exp["on"]).toordinal()], what
        if "off" in exp:
            assert not days[dt.date.fromisoformat(exp["off"]).toordinal()], what
        if "max_episodes" in exp:
            assert len(rises) <= exp["max_episodes"], f"{what}: {len(rises)} episodes"


def test_the_story_files_match_their_generator(tmp_path, monkeypatch):
    sys.path.insert(0, str(HERE))
    try:
        import make_detector_scenarios as gen
    finally:
        sys.path.remove(str(HERE))
    for story in gen.stories():
        story.write(tmp_path)
    for p in tmp_path.iterdir():
        assert p.read_text() == (HERE / p.name).read_text(), f"{p.name} differs: rerun {gen.__file__}"
