"""Backtest metrics: known answers on crafted cases, and the partitioned replay equals the single one."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from streams.backtest import (
    DEFINITIONS,
    BacktestConfig,
    RunData,
    auc,
    monthly_cutoffs,
    nab_sigmoid,
    roc_curve,
    run_core,
    score,
    warnings_of,
)
from streams.replay import last_records
from streams.settings import load
from streams.simulate import simulate, write

TZ = ZoneInfo("Asia/Shanghai")


def at(day: str) -> str:
    d = dt.date.fromisoformat(day)
    return dt.datetime(d.year, d.month, d.day, tzinfo=TZ).isoformat()


def alert(aid: str, borrower: str, opened: str, *, severity: str = "critical", status: str = "open",
          kind: str = "delinquency", updated: str | None = None) -> dict:
    return {"alert_id": aid, "borrower_id": borrower, "loan_id": f"L-{borrower}", "type": kind,
            "severity": severity, "status": status, "reasons": [], "risk_score": 0.5,
            "risk_class": "special_mention", "opened_at": at(opened), "updated_at": at(updated or opened),
            "inhibited_by": None, "kind": "alert"}


# --------------------------------------------------------------------------- AUC and ROC


def test_the_auc_of_a_perfect_scorer_is_one_and_of_a_reversed_one_zero() -> None:
    y = [0, 0, 0, 1, 1]
    assert auc([0.1, 0.2, 0.3, 0.8, 0.9], y) == 1.0
    assert auc([0.9, 0.8, 0.7, 0.2, 0.1], y) == 0.0


def test_tied_scores_count_one_half() -> None:
    assert auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == 0.5
    assert auc([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1]) == pytest.approx(0.875)


def test_the_auc_equals_the_share_of_correctly_ordered_pairs() -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(120), 1)  # many ties
    y = rng.random(120) < 0.3
    pairs = [(p, n) for p, n in itertools.product(scores[y], scores[~y])]
    expected = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    assert auc(scores, y) == pytest.approx(expected)


def test_the_auc_is_undefined_without_both_classes() -> None:
    assert math.isnan(auc([0.1, 0.2], [0, 0]))


def test_the_roc_curve_runs_from_the_origin_to_one_one_and_never_falls() -> None:
    rng = np.random.default_rng(5)
    fpr, tpr = roc_curve(rng.random(500), rng.random(500) < 0.2)
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert all(b >= a for a, b in itertools.pairwise(fpr)) and all(b >= a for a, b in itertools.pairwise(tpr))


def test_the_nab_sigmoid_rewards_early_detection() -> None:
    assert nab_sigmoid(-1.0) > nab_sigmoid(-0.5) > nab_sigmoid(-0.1) > nab_sigmoid(0.0) == 0.0


def test_monthly_cutoffs_are_the_first_of_each_month_in_local_time() -> None:
    cuts = monthly_cutoffs(dt.datetime(2025, 1, 15, tzinfo=TZ), dt.datetime(2025, 4, 1, tzinfo=TZ), TZ)
    assert [c.isoformat() for c in cuts] == [at("2025-02-01"), at("2025-03-01"), at("2025-04-01")]


# --------------------------------------------------------------------------- a crafted portfolio


@pytest.fixture
def crafted() -> tuple[RunData, list[dict]]:
    """Five borrowers over 2025 whose scores and warnings have answers known by hand.

    A defaults 2025-06-01, warned 2025-04-02 (lead 60 days); B never defaults but is warned
    2025-03-01 (a false warning, followed up for more than 180 days); C defaults 2025-09-01
    unwarned (a miss); D defaults 2025-05-01 and is warned only after (2025-05-10); E is quiet.
    The risk score is perfect: 0.9 in the 90 days before a default, 0.1 otherwise.
    """
    defaults = {"A": "2025-06-01", "C": "2025-09-01", "D": "2025-05-01"}
    labels = [{"borrower_id": b, "sector": "textile", "story": "x", "defaulted": b in defaults,
               "default_date": defaults.get(b), "onset_date": None, "recovered": False, "benign_date": None}
              for b in "ABCDE"]
    cutoffs = monthly_cutoffs(dt.datetime(2025, 1, 1, 9, tzinfo=TZ), dt.datetime(2025, 12, 31, 23, tzinfo=TZ), TZ)
    snapshots = []
    for c in cutoffs:
        for b in "ABCDE":
            d = defaults.get(b)
            soon = d is not None and c < dt.datetime.fromisoformat(at(d)) <= c + dt.timedelta(days=90)
            snapshots.append({"cutoff": c.isoformat(), "borrower_id": b, "risk_score": 0.9 if soon else 0.1,
                              "risk_class": "normal", "dpd": 0, "max_dpd": 0, "credit_limit": "1000.00",
                              "open_alerts": 0})
    alerts = [
        alert("a1", "A", "2025-04-02"),
        alert("a1", "A", "2025-04-02", status="updated", updated="2025-06-02"),
        alert("b1", "B", "2025-03-01", severity="warning", kind="revenue_drop"),
        alert("b1", "B", "2025-03-01", severity="warning", kind="revenue_drop", status="resolved",
              updated="2025-03-20"),
        alert("d1", "D", "2025-05-10"),
        alert("e-info", "E", "2025-02-01", severity="info", kind="cash_buffer"),
    ]
    borrowers = [{"borrower_id": b, "risk_score": 0.1, "risk_class": "normal", "dpd": 0, "max_dpd": 0,
                  "credit_limit": "1000.00", "open_alerts": 0} for b in "ABCDE"]
    meta = {"first_event": dt.datetime(2025, 1, 1, 9, tzinfo=TZ).isoformat(),
            "until": dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=TZ).isoformat()}
    return RunData(Path("."), alerts, [], [], snapshots, borrowers, meta), labels


def test_a_perfect_risk_score_has_an_auc_of_one(crafted) -> None:
    run, labels = crafted
    assert score(run, labels, TZ)["auc_90d"] == 1.0


def test_the_lead_is_the_days_from_the_first_true_warning_to_default(crafted) -> None:
    m = score(*crafted, TZ)
    assert m["lead_days_by_defaulter"] == {"A": 60.0}
    assert m["median_lead_days"] == 60.0
    assert m["missed_defaulters"] == ["C", "D"]


def test_warnings_are_counted_true_false_or_after_default_by_their_definitions(crafted) -> None:
    m = score(*crafted, TZ)
    assert (m["warnings"], m["true_warnings"], m["false_warnings"], m["after_default_warnings"]) == (3, 1, 1, 1)
    assert m["censored_false_warnings"] == 0
    assert m["precision"] == 0.5
    assert m["recall"] == pytest.approx(1 / 3, abs=1e-4)
    # 11 cutoffs x 5 borrowers on the book, one false warning
    assert m["borrower_months"] == 55
    assert m["false_alerts_per_100_borrower_months"] == pytest.approx(100 / 55, abs=1e-3)


def test_an_info_alert_is_not_a_warning_and_any_alert_type_counts(crafted) -> None:
    run, _ = crafted
    kinds = {w["type"] for w in warnings_of(run.alerts, ("warning", "critical"))}
    assert kinds == {"delinquency", "revenue_drop"}


def test_warnings_are_scored_per_alert_type(crafted) -> None:
    by_type = score(*crafted, TZ)["warnings_by_type"]
    assert by_type["delinquency"] == {"warnings": 2, "true": 1, "false": 0, "after_default": 1, "first_true": 1,
                                      "precision": 1.0}
    assert by_type["revenue_drop"]["false"] == 1 and by_type["revenue_drop"]["precision"] == 0.0
    assert "cash_buffer" not in by_type


def test_an_alert_raised_to_warning_later_is_timed_when_it_was_raised() -> None:
    records = [alert("x", "A", "2025-03-01", severity="info"),
               alert("x", "A", "2025-03-01", severity="warning", status="updated", updated="2025-03-15")]
    [w] = warnings_of(records, ("warning", "critical"))
    assert w["at"] == at("2025-03-15")


def test_the_reviewer_load_is_warnings_per_day_over_the_capacity(crafted) -> None:
    run, labels = crafted
    m = score(run, labels, TZ, BacktestConfig(reviewer_capacity=2.0))
    days = (run.until - run.first).total_seconds() / 86400
    assert m["warnings_per_day"] == pytest.approx(3 / days, abs=1e-3)
    assert m["warnings_per_reviewer_day"] == pytest.approx(3 / days / 2.0, abs=1e-4)


def test_the_nab_score_follows_its_documented_formula(crafted) -> None:
    m = score(*crafted, TZ)
    raw = nab_sigmoid(-60 / 180) - 1.0 - 1.0 - 0.11  # A early, C and D missed, one false warning
    null, perfect = -3.0, 3 * nab_sigmoid(-1.0)
    assert m["nab_raw"] == pytest.approx(raw, abs=1e-3)
    assert m["nab_score"] == pytest.approx(100 * (raw - null) / (perfect - null), abs=0.01)
    assert "sigma(y) = 2 / (1 + exp(5 y)) - 1" in DEFINITIONS["nab_score"]


def test_a_false_warning_near_the_end_of_the_data_counts_as_false_and_is_said_to_be_censored(crafted) -> None:
    run, labels = crafted
    run.alerts.append(alert("e1", "E", "2025-11-01", severity="warning", kind="revenue_drop"))
    m = score(run, labels, TZ)
    assert m["false_warnings"] == 2 and m["censored_false_warnings"] == 1


def test_borrower_months_whose_horizon_runs_past_the_data_are_left_out_of_the_auc(crafted) -> None:
    run, labels = crafted
    m = score(run, labels, TZ)
    # cutoffs from 2025-02-01 to 2025-10-01 have their 90 days within the data: 9 of 11;
    # defaulted borrowers leave the pool from their default on: A 5 cutoffs (Jun-Oct), D 6, C 2
    assert m["auc_pool"]["borrower_months"] == 9 * 5 - 5 - 6 - 2
    # default within 90 days of the cutoff: A on Apr 1 and May 1 (Mar 1 + 90 days is May 30),
    # C on Jul 1 and Aug 1, D on Feb 1, Mar 1 and Apr 1
    assert m["auc_pool"]["positives"] == 2 + 2 + 3


# --------------------------------------------------------------------------- the replay shell


@pytest.fixture(scope="module")
def small_portfolio(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("portfolio")
    events, labels = simulate(60, months=5, seed=23, progress=False)
    events_path, _ = write(out, events, labels, progress=False)
    with events_path.open("ab") as f:
        f.write(b'{"schema": "revenue/1", "borrower_id": "B00001"}\nnot json at all\n')  # two dead letters
    return events_path


def test_a_replay_split_over_two_processes_gives_the_same_records_and_snapshots(small_portfolio, tmp_path) -> None:
    settings = load(env={})
    one = run_core(settings, small_portfolio, tmp_path / "one", workers=1, progress=False)
    two = run_core(settings, small_portfolio, tmp_path / "two", workers=2, progress=False)
    assert one.summary.events == two.summary.events and one.summary.outputs == two.summary.outputs
    assert one.summary.dead_letters == two.summary.dead_letters == 2
    for name, key in (("alerts.jsonl", "alert_id"), ("tasks.jsonl", "task_id"), ("limits.jsonl", "change_id")):
        assert last_records(tmp_path / "one" / name, key) == last_records(tmp_path / "two" / name, key)
    letters = [{k: {f: v for f, v in r.items() if f != "received_at"} for k, r in
                last_records(tmp_path / d / "dead_letters.jsonl", "dead_letter_id").items()} for d in ("one", "two")]
    assert letters[0] == letters[1]
    for name in ("borrowers.jsonl", "snapshots.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert not (tmp_path / "two" / ".parts").exists()


def test_snapshots_are_taken_for_every_borrower_at_every_monthly_cutoff(small_portfolio, tmp_path) -> None:
    run = run_core(load(env={}), small_portfolio, tmp_path / "run", workers=1, progress=False)
    assert [c.date().isoformat() for c in run.cutoffs] == ["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]
    lines = (tmp_path / "run" / "snapshots.jsonl").read_text().splitlines()
    assert len(lines) >= 4 * 55  # a few borrowers have no event before the first cutoff
