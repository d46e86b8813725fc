"""Stress scenarios: parsing, the shock on one borrower's events, and nothing changes outside the shock."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from streams.settings import load
from streams.simulate import simulate, write
from streams.stress import Shock, ShockError, borrower_profiles, parse_shock, run_stress, shock_borrower

TZ = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2025, 3, 1, tzinfo=TZ).timestamp()
END = dt.datetime(2025, 12, 31, tzinfo=TZ).timestamp()


# --------------------------------------------------------------------------- parsing


def test_a_shock_is_read_from_key_value_pairs() -> None:
    assert parse_shock("sector=textile,revenue=-30%") == Shock(sector="textile", revenue=-0.3)
    assert parse_shock("receivable_delay=30d, sector=catering") == Shock(sector="catering", receivable_delay_days=30)
    assert parse_shock("region=CN-33,revenue=-0.25,suppliers=fixed") == Shock(region="CN-33", revenue=-0.25,
                                                                             suppliers="fixed")


@pytest.mark.parametrize("text, words", [
    ("sector=textile", "changes nothing"),
    ("sector=textile,revenue=lots", "-30%"),
    ("revenue=-150%", "more than all revenue"),
    ("colour=red,revenue=-10%", "unknown shock key"),
    ("receivable_delay=-3d", ">= 0"),
    ("textile", "key=value"),
])
def test_a_shock_that_cannot_be_understood_is_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(ShockError, match=words):
        parse_shock(text)


# --------------------------------------------------------------------------- one borrower


def ev(schema: str, day: str, sec: int = 43200, **fields) -> dict:
    t = dt.datetime.fromisoformat(day).replace(tzinfo=TZ) + dt.timedelta(seconds=sec)
    return {"schema": schema, "event_id": f"{schema}-{day}-{sec}", "borrower_id": "B1",
            "occurred_at": t.isoformat(), **fields}


def cash(day: str, direction: str, amount: str, balance: str, kind: str, sec: int = 43200) -> dict:
    return ev("cashflow/1", day, sec, account_id="A1", direction=direction, amount=amount, balance_after=balance,
              counterparty_type=kind)


def test_revenue_and_customer_inflows_are_scaled_only_from_the_start() -> None:
    events = [ev("revenue/1", "2025-02-10", amount="100.00"), ev("revenue/1", "2025-03-10", amount="100.00"),
              cash("2025-02-11", "in", "100.00", "1100.00", "customer"),
              cash("2025-03-11", "in", "100.00", "1200.00", "customer"),
              cash("2025-03-12", "out", "50.00", "1150.00", "payroll")]
    out, deferred, counts = shock_borrower(events, [Shock(revenue=-0.3)], START, END, TZ)
    amounts = [(e["schema"], e["occurred_at"][:10], e["amount"], e.get("balance_after")) for _, e in out]
    assert amounts == [("revenue/1", "2025-02-10", "100.00", None),
                       ("cashflow/1", "2025-02-11", "100.00", "1100.00"),
                       ("revenue/1", "2025-03-10", "70.00", None),
                       ("cashflow/1", "2025-03-11", "70.00", "1170.00"),
                       ("cashflow/1", "2025-03-12", "50.00", "1120.00")]
    assert deferred == [] and counts["revenue"] == 1 and counts["inflows"] == 1


def test_a_receivable_delay_moves_customer_inflows_later() -> None:
    events = [cash("2025-03-05", "in", "100.00", "1100.00", "customer"),
              cash("2025-03-06", "out", "10.00", "1090.00", "rent")]
    out, _, _ = shock_borrower(events, [Shock(receivable_delay_days=30)], START, END, TZ)
    assert [(e["counterparty_type"], e["occurred_at"][:10], e["balance_after"]) for _, e in out] == [
        ("rent", "2025-03-06", "990.00"), ("customer", "2025-04-04", "1090.00")]


def test_a_repayment_the_balance_cannot_cover_waits_until_it_can_with_its_closure() -> None:
    events = [
        cash("2025-03-01", "in", "1000.00", "1000.00", "customer", sec=3600),
        cash("2025-03-05", "out", "800.00", "200.00", "loan_repayment"),
        ev("repayment/1", "2025-03-05", 43300, loan_id="L1", amount="800.00", channel="app"),
        ev("loan_closed/1", "2025-03-05", 43300, loan_id="L1", reason="repaid"),
        cash("2025-03-20", "in", "1000.00", "1200.00", "customer"),
    ]
    out, deferred, _ = shock_borrower(events, [Shock(revenue=-0.5)], START, END, TZ)
    # 500 in, 800 cannot be paid on 3-05; after 500 more on 3-20 the balance (1000) covers it
    order = [(e["schema"], e["occurred_at"][:10], e.get("balance_after")) for _, e in out]
    assert order == [("cashflow/1", "2025-03-01", "500.00"), ("cashflow/1", "2025-03-20", "1000.00"),
                     ("cashflow/1", "2025-03-20", "200.00"), ("repayment/1", "2025-03-20", None),
                     ("loan_closed/1", "2025-03-20", None)]
    [held] = deferred
    assert held["amount"] == "800.00" and held["due_at"].startswith("2025-03-05")
    assert held["paid_at"] == out[2][1]["occurred_at"]


def test_a_repayment_never_covered_is_never_made() -> None:
    events = [cash("2025-03-01", "in", "100.00", "100.00", "customer", sec=3600),
              cash("2025-03-05", "out", "90.00", "10.00", "loan_repayment"),
              ev("repayment/1", "2025-03-05", 43300, loan_id="L1", amount="90.00", channel="app")]
    out, deferred, _ = shock_borrower(events, [Shock(revenue=-0.5)], START, END, TZ)
    assert [e["schema"] for _, e in out] == ["cashflow/1"]
    assert deferred[0]["paid_at"] is None


def test_an_unchanged_borrower_is_unchanged_by_a_zero_effect_pass() -> None:
    events = [cash("2025-03-01", "in", "100.00", "100.00", "customer", sec=3600),
              cash("2025-03-05", "out", "90.00", "10.00", "loan_repayment"),
              ev("repayment/1", "2025-03-05", 43300, loan_id="L1", amount="90.00", channel="app")]
    out, deferred, _ = shock_borrower(events, [Shock(revenue=0.2)], END, END + 1, TZ)  # starts after the data
    assert [e for _, e in out] == events and deferred == []


# --------------------------------------------------------------------------- a portfolio


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stress-portfolio")
    events, labels = simulate(140, months=10, seed=19, progress=False)
    events_path, _ = write(out, events, labels, progress=False)
    return events_path


@pytest.fixture(scope="module")
def textile(portfolio, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("stress-textile")
    report = run_stress(load(env={}), portfolio, [parse_shock("sector=textile,revenue=-60%")], out, workers=2,
                        progress=False)
    return out, report


def lines_by_borrower(path: Path) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = defaultdict(list)
    for line in path.read_bytes().splitlines():
        out[msgspec.json.decode(line)["borrower_id"]].append(line)
    return out


def test_a_stress_leaves_other_sectors_events_byte_for_byte_and_in_order(portfolio, textile) -> None:
    out, _ = textile
    sectors = {b: p.get("sector") for b, p in borrower_profiles(portfolio).items()}
    before, after = lines_by_borrower(portfolio), lines_by_borrower(out / "shocked" / "events.jsonl")
    assert set(before) == set(after)
    others = [b for b in before if sectors.get(b) != "textile"]
    assert others and all(before[b] == after[b] for b in others)
    assert any(before[b] != after[b] for b in before if sectors.get(b) == "textile")


def test_a_stress_changes_nothing_for_borrowers_outside_the_shocked_sector(portfolio, textile) -> None:
    out, report = textile
    assert report["unchanged_outside_shock"] and report["outside_shock_changed"] == []
    sectors = {b: p.get("sector") for b, p in borrower_profiles(portfolio).items()}
    # and independently of the report: every output record of another sector is the same in both runs
    for name in ("alerts.jsonl", "tasks.jsonl", "limits.jsonl", "borrowers.jsonl", "snapshots.jsonl"):
        runs = []
        for run in ("base", "shocked"):
            records = [json.loads(line) for line in (out / run / name).read_text().splitlines()]
            runs.append(sorted(json.dumps(r, sort_keys=True) for r in records
                               if sectors.get(r["borrower_id"]) != "textile"))
        assert runs[0] == runs[1], name


def test_a_textile_revenue_shock_gives_an_explained_list_of_textile_borrowers(textile) -> None:
    out, report = textile
    crossing = [a for a in report["affected"] if a["crossed"]]
    assert crossing, "a 60 % fall in textile sales should push some textile borrowers over a threshold"
    for a in crossing:
        assert a["sector"] == "textile"
        assert set(a["crossed"]) <= {"warning", "class", "limit"}
        assert a["explanation"].startswith(a["borrower_id"]) and "revenue -60%" in a["explanation"]
        assert a["explanation_zh"] and float(a["exposure"]["credit_limit"]) > 0
    totals = report["totals"]
    assert totals["borrowers_crossing"] == len(crossing)
    assert float(totals["exposure_credit_limit"]) == pytest.approx(
        sum(float(a["exposure"]["credit_limit"]) for a in crossing))
    assert json.loads((out / "stress.json").read_text())["totals"] == totals


def test_a_receivable_delay_in_catering_changes_nothing_elsewhere(portfolio, tmp_path) -> None:
    report = run_stress(load(env={}), portfolio, [parse_shock("receivable_delay=30d,sector=catering")], tmp_path,
                        workers=2, progress=False)
    assert report["unchanged_outside_shock"]
    assert all(a["sector"] == "catering" for a in report["affected"])
    assert report["events"]["customer_inflows_changed"] > 0
