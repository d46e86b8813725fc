"""The credit-limit policy (alerts/limits.py) and model (detectors/limit.py), unit and property tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.limits import LimitPolicy, Situation, decide, recommended
from detectors import revenue
from detectors.limit import LimitState, capacity, note_overdue, note_settled, season_ahead

P = LimitPolicy()
L = Decimal("100000")


def test_an_on_time_borrower_with_room_gets_the_usual_increase_applied():
    d = decide(Situation(limit=L, on_time=3, capacity=300_000.0, stable=True), P)
    assert d is not None and (d.action, d.status, d.new_limit) == ("increase", "applied", Decimal("120000"))


def test_no_increase_before_enough_cycles_or_without_stable_revenue_or_capacity():
    assert decide(Situation(limit=L, on_time=2, capacity=300_000.0, stable=True), P) is None
    assert decide(Situation(limit=L, on_time=5, capacity=300_000.0, stable=False), P) is None
    assert decide(Situation(limit=L, on_time=5, capacity=None, stable=True), P) is None


def test_the_increase_stops_at_the_recommended_limit():
    d = decide(Situation(limit=L, on_time=3, capacity=105_000.0, stable=True), P)
    assert d is not None and d.new_limit == Decimal("105000")
    assert decide(Situation(limit=L, on_time=3, capacity=90_000.0, stable=True), P) is None


def test_overdue_freezes_at_once_and_current_again_unfreezes():
    d = decide(Situation(limit=L, dpd=45, on_time=9, capacity=300_000.0, stable=True, days_since_change=2), P)
    assert d is not None and (d.action, d.new_limit, d.frozen) == ("freeze", L, True)
    assert decide(Situation(limit=L, dpd=46, frozen=True), P) is None
    d = decide(Situation(limit=L, dpd=0, frozen=True), P)
    assert d is not None and (d.action, d.frozen) == ("unfreeze", False)


def test_multi_lending_cuts_the_limit_by_at_most_the_step_towards_the_recommendation():
    d = decide(Situation(limit=L, warnings=("multi_lending",), capacity=10_000.0), P)
    assert d is not None and (d.action, d.new_limit, d.status) == ("decrease", Decimal("80000"), "applied")
    d = decide(Situation(limit=L, warnings=("multi_lending",), capacity=90_000.0), P)
    assert d is not None and (d.new_limit, d.status) == (Decimal("90000"), "applied")
    assert [r.code for r in d.reasons] == ["warning_multi_lending"]


def test_a_seasonal_uplift_comes_before_the_peak_and_goes_after_it():
    up = decide(Situation(limit=L, season=1.2, capacity=300_000.0, stable=True), P)
    assert up is not None and (up.action, up.new_limit, up.uplift) == ("increase", Decimal("120000"), Decimal("20000"))
    assert decide(Situation(limit=up.new_limit, uplift=up.uplift, season=1.2, capacity=300_000.0, stable=True),
                  P) is None
    down = decide(Situation(limit=up.new_limit, uplift=up.uplift, season=0.95, capacity=300_000.0,
                            stable=True), P)
    assert down is not None and (down.action, down.new_limit, down.uplift) == ("decrease", L, Decimal("0"))
    assert down.reasons[0].code == "season_end"


def test_a_large_change_is_only_proposed():
    big = LimitPolicy(increase_step=0.25, review_above=0.2)
    d = decide(Situation(limit=L, on_time=3, capacity=300_000.0, stable=True), big)
    assert d is not None and d.status == "needs_review" and d.reasons[-1].code == "review"
    d = decide(Situation(limit=Decimal("10000000"), on_time=3, capacity=1e9, stable=True), P)
    assert d is not None and d.status == "needs_review"  # 20% of 10 M is above review_amount


def test_recommended_limit_takes_the_risk_haircut():
    assert recommended(Situation(limit=L, capacity=100_000.0, risk_score=0.5), P) == Decimal("50000")
    assert recommended(Situation(limit=L, capacity=100_000.0, risk_score=1.0), P) == Decimal("10000")


situations = st.builds(
    Situation,
    limit=st.integers(0, 500_000_000).map(lambda x: Decimal(x) / 100),
    uplift=st.integers(0, 1_000_000).map(lambda x: Decimal(x) * 10),
    frozen=st.booleans(), dpd=st.integers(0, 200), critical=st.booleans(),
    warnings=st.lists(st.sampled_from(["multi_lending", "revenue_drop", "dormancy", "delinquency"]),
                      max_size=3).map(tuple),
    on_time=st.integers(0, 12), capacity=st.none() | st.floats(0, 1e9),
    risk_score=st.floats(0, 1), season=st.floats(0.3, 2.0), stable=st.booleans(),
    days_since_change=st.none() | st.integers(0, 400))


@settings(max_examples=400, deadline=None)
@given(situations)
def test_property_guardrails_hold_for_every_situation(sit: Situation):
    d = decide(sit, P)
    if d is None:
        return
    assert d.old_limit == sit.limit
    if d.action == "freeze":
        assert sit.dpd >= P.freeze_dpd or sit.critical
    if d.action == "increase":
        assert sit.dpd == 0 and not sit.frozen and not sit.critical, "never an increase while overdue"
    if d.moves_amount:
        assert sit.days_since_change is None or sit.days_since_change >= P.cooling_days, "cooling-off"
        assert abs(d.new_limit - sit.limit) <= sit.limit * Decimal(str(P.max_step)), "maximum step"
        assert (d.new_limit > sit.limit) == (d.action == "increase")
        big = abs(d.new_limit - sit.limit) > sit.limit * Decimal(str(P.review_above)) or \
            abs(d.new_limit - sit.limit) > P.review_amount
        assert (d.status == "needs_review") == big
    else:
        assert d.new_limit == sit.limit and d.action in ("freeze", "unfreeze")


def test_on_time_cycles_count_and_reset():
    s = LimitState()
    for seq in (1, 2):
        note_settled(s, seq, days_late=0, grace_days=0)
    note_overdue(s)
    assert s.on_time == 0
    note_settled(s, 3, days_late=2, grace_days=3)
    assert (s.on_time, s.first_seq, s.last_seq) == (1, 3, 3)


def test_capacity_is_unknown_without_enough_revenue_history_and_capped_by_inflow():
    today = dt.date(2026, 5, 1).toordinal()
    assert capacity(None, None, None, today).capacity is None
    young = revenue.RevenueState(level=100_000, slow=100_000, days=10)
    assert capacity(young, None, None, today).capacity is None
    rev = revenue.RevenueState(level=100_000, slow=100_000, days=100)  # 1,000.00 a day
    assert round(capacity(rev, None, None, today).capacity) == round(1.5 * 1000 * 30.4)
    assert round(capacity(rev, 100.0, None, today).capacity) == round(1.5 * 100 * 30.4)
    falling = revenue.RevenueState(level=80_000, slow=100_000, days=100)
    assert not capacity(falling, None, None, today).stable


def test_textile_season_ahead_rises_before_autumn_and_falls_after():
    by_month = {m: season_ahead(None, "textile", dt.date(2026, m, 15).toordinal()) for m in range(1, 13)}
    assert by_month[8] > 1.1 > by_month[12]
    assert max(by_month, key=lambda m: by_month[m]) in (8, 9)
