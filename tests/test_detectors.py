"""Pure tests of the per-borrower detectors on crafted series (no mocks, no I/O).

Revenue series are simulated with a fixed seed: a weekday rhythm, lognormal
day-to-day noise, and, where the story needs it, a season, a drop, a silence.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterable

import msgspec
import pytest

from detectors import cashflow as cf
from detectors import dormancy as dm
from detectors import repayment as rp
from detectors import revenue as rv
from detectors.default_model import LabelMemory, remember
from detectors.features import borrower_features

WEEK = (1.0, 1.0, 1.0, 1.05, 1.2, 1.4, 0.6)  # Monday .. Sunday
START = dt.date(2025, 3, 10).toordinal()  # after the 2025 Spring Festival window
DAY = 86_400
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def daily_revenue(days: int, *, seed: int = 0, start: int = START, base: float = 10_000.0, sigma: float = 0.2,
                  share: float = 1.0, factor: Callable[[int], float] = lambda i: 1.0,
                  sector: str | None = None) -> list[tuple[int, float]]:
    """(day, amount) per day; ``share`` of days with a sale; ``factor(i)`` scales day ``i``."""
    rng = random.Random(seed)
    out = []
    for i in range(days):
        day = start + i
        season = rv.season(day, sector) if sector else 1.0
        mult = WEEK[dt.date.fromordinal(day).weekday()] * season * factor(i)
        sold = rng.random() < share
        noise = math.exp(rng.gauss(-sigma * sigma / 2, sigma))
        out.append((day, base * mult * noise / share if sold else 0.0))
    return out


def replay(series: Iterable[tuple[int, float]], sector: str | None = None,
           policy: rv.RevenuePolicy = rv.DEFAULT_POLICY) -> tuple[rv.RevenueState, list[rv.RevenueSignals]]:
    """Feed a series as the core would: an event on days with revenue, the day timer every day."""
    state, out = rv.RevenueState(), []
    for day, amount in series:
        if amount > 0:
            rv.update(state, day, amount, sector, policy)
        out.append(rv.advance(state, day + 1, sector, policy))  # the end of `day`
    return state, out


def episodes(signals: list[rv.RevenueSignals], flag: str) -> list[int]:
    """Days on which ``flag`` turned on."""
    days, was = [], False
    for s in signals:
        on = getattr(s, flag)
        if on and not was:
            days.append(s.day)
        was = on
    return days


# --------------------------------------------------------------------------- revenue


@pytest.mark.parametrize("seed", range(5))
def test_a_revenue_drop_of_40_percent_for_three_weeks_is_flagged_within_seven_days(seed):
    onset = 200
    series = daily_revenue(onset + 21 + 30, seed=seed, factor=lambda i: 0.6 if onset <= i < onset + 21 else 1.0)
    _, sigs = replay(series)
    assert episodes(sigs[:onset], "dropped") == []
    first = episodes(sigs, "dropped")
    assert first and 0 <= first[0] - (START + onset) <= 7
    flagged = next(s for s in sigs if s.dropped)
    assert flagged.drop_ratio < flagged.drop_threshold < 1.0  # explained: value, baseline, threshold
    assert flagged.value < flagged.baseline


@pytest.mark.parametrize("seed", range(3))
def test_slow_erosion_shows_against_the_level_of_three_months_ago(seed):
    onset = 200  # then 3% less each week
    series = daily_revenue(onset + 150, seed=seed, factor=lambda i: 0.97 ** (max(i - onset, 0) / 7))
    _, sigs = replay(series)
    assert max(s.erosion for s in sigs[:onset]) < 0.25 and max(s.level_erosion for s in sigs[:onset]) < 0.10
    late = sigs[onset + 120]  # sales about 40% lower
    assert late.erosion > 0.25 and late.level_erosion > 0.10


def test_a_single_bad_day_is_not_a_drop():
    series = daily_revenue(200, seed=3, factor=lambda i: 0.0 if i == 150 else 1.0)
    _, sigs = replay(series)
    assert episodes(sigs, "dropped") == []


@pytest.mark.parametrize("shift,depth", [(0, 1.0), (12, 1.0), (0, 1.3)])
def test_a_textile_borrowers_usual_off_season_dip_raises_no_drop(shift, depth):
    # the true season: the textile prior's month shape, shifted by `shift` days and `depth` times as deep
    def factor(i: int) -> float:
        d = START + i
        return (rv.season(d - shift, "textile") ** depth) / rv.season(d, "textile")

    series = daily_revenue(2 * 365, seed=11, sector="textile", factor=factor)
    _, sigs = replay(series, "textile")
    summer = [s for s in sigs if dt.date.fromordinal(s.day).month in (6, 7, 8, 9)]
    assert min(s.season for s in summer) < 0.8  # it was a real dip ...
    assert not any(s.dropped for s in summer)  # ... and an expected one


def test_the_sector_calendar_makes_the_off_season_expected():
    series = daily_revenue(365, seed=11, sector="textile")
    _, with_calendar = replay(series, "textile")
    _, without = replay(series, "retail")  # the calendar the borrower does not get

    def july(sigs: list[rv.RevenueSignals]) -> float:
        days = [s for s in sigs if dt.date.fromordinal(s.day).month == 7]
        return sum(s.value for s in days) / sum(s.baseline for s in days)

    assert 0.93 < july(with_calendar) < 1.07
    assert july(without) < 0.93  # without it, July reads as a shortfall


def test_a_seasonal_borrower_learns_its_own_year():
    # a summer slump no calendar knows (45% deep at the start of August, June to September):
    # a shortfall against the baseline the first year, mostly expected from the third on
    peak = dt.date(2025, 8, 1).toordinal()

    def factor(i: int) -> float:
        off = (START + i - peak) % 365
        off = min(off, 365 - off)
        return 1.0 - 0.45 * math.cos(math.pi * off / 150) ** 2 if off < 75 else 1.0

    series = daily_revenue(3 * 365, seed=5, factor=factor)
    state, sigs = replay(series, "bakery")

    def summer(year: int) -> list[rv.RevenueSignals]:
        return [s for s in sigs if (d := dt.date.fromordinal(s.day)).year == year and d.month in (7, 8)]

    def ratio(year: int) -> float:
        return sum(s.value for s in summer(year)) / sum(s.baseline for s in summer(year))

    assert ratio(2025) < 0.85 < ratio(2027)  # the summer baseline follows the slump ...
    assert state.months and min(state.months) < -250  # ... July/August learned as low months,
    # though not all the way: the level absorbs part of a slump every year (about 0.9 of it)
    assert sum(s.dropped for s in summer(2027)) <= 20


def test_the_spring_festival_shutdown_raises_nothing():
    sf = rv.SPRING_FESTIVAL[2026].toordinal()

    def factor(i: int) -> float:
        off = START + i - sf
        return 0.1 if -3 <= off <= 8 else (0.6 if -10 <= off <= 15 else 1.0)

    series = daily_revenue(400, seed=2, factor=factor)
    _, sigs = replay(series)
    assert episodes(sigs, "dropped") == [] and episodes(sigs, "collapsed") == []


def test_double_11_does_not_inflate_an_ecommerce_baseline():
    def factor(i: int) -> float:
        d = dt.date.fromordinal(START + i)
        return rv.calendar_event(START + i, "ecommerce") or 1.0 if d.month in (6, 11) else 1.0

    series = daily_revenue(330, seed=4, factor=factor)
    _, sigs = replay(series, "ecommerce")
    before = next(s for s in sigs if s.day == dt.date(2025, 10, 31).toordinal())
    after = next(s for s in sigs if s.day == dt.date(2025, 11, 30).toordinal())
    assert abs(after.baseline / before.baseline - 1) < 0.1
    assert episodes(sigs, "dropped") == []


@pytest.mark.parametrize("seed", range(8))
def test_an_intermittent_seller_is_measured_against_its_own_rhythm(seed):
    # sells on ~30% of days; zero days are its normal
    series = daily_revenue(365, seed=seed, share=0.3, sigma=0.6)
    _, sigs = replay(series)
    assert 0.15 < sigs[-1].sale_share < 0.45
    assert sigs[-1].collapse_days == 0  # going quiet is the dormancy detector's business
    assert len(episodes(sigs, "dropped")) <= 1 and episodes(sigs, "collapsed") == []


def test_intermittent_sellers_rarely_alarm():
    drops = collapses = 0
    for seed in range(20):
        _, sigs = replay(daily_revenue(365, seed=100 + seed, share=0.3, sigma=0.6))
        drops += len(episodes(sigs, "dropped"))
        collapses += len(episodes(sigs, "collapsed"))
    assert drops <= 2 and collapses == 0  # at most ~0.1 drop episodes per seller-year


def test_a_steady_seller_whose_revenue_stops_collapses():
    series = daily_revenue(120, seed=7) + [(START + 120 + i, 0.0) for i in range(12)]
    state, sigs = replay(series)
    first = episodes(sigs, "collapsed")
    assert first and first[0] - (START + 120) <= 6
    assert sigs[-1].low_days >= sigs[-1].collapse_days == 6


@pytest.mark.parametrize("seed", range(6))
def test_revenue_hovering_around_the_threshold_does_not_flip_the_signal(seed):
    # 12 weeks around the drop threshold: the detector's on/off band and clear span allow one episode at most
    threshold = rv.RevenuePolicy().__class__().delta
    level = math.exp(-threshold / 2)
    rng = random.Random(seed)
    hover = [level * math.exp(rng.gauss(0, 0.08)) for _ in range(84)]
    series = daily_revenue(200 + 84, seed=seed, factor=lambda i: hover[i - 200] if i >= 200 else 1.0)
    _, sigs = replay(series)
    assert len(episodes(sigs[200:], "dropped")) <= 1


def test_rising_volatility_is_flagged():
    rng = random.Random(9)
    series = []
    for i in range(260):
        sigma = 0.15 if i < 200 else 0.8
        series.append((START + i, 10_000 * math.exp(rng.gauss(-sigma * sigma / 2, sigma))))
    _, sigs = replay(series)
    assert not any(s.volatile for s in sigs[:200])
    assert any(s.volatile for s in sigs[200:]) and sigs[-1].volatility_ratio > sigs[-1].volatility_threshold


def test_weekly_and_monthly_totals_are_normalised_to_a_daily_rate():
    state = rv.RevenueState()
    for w in range(20):
        sig = rv.update(state, START + 7 * w, 70_000.0, None, period="week")
    assert sig.ready and round(sig.baseline) == 10_000 and not sig.dropped
    monthly = rv.RevenueState()
    for m in range(1, 13):
        end = dt.date(2025, m + 1, 1) - dt.timedelta(days=1) if m < 12 else dt.date(2025, 12, 31)
        sig = rv.update(monthly, end.toordinal(), 300_000.0 * end.day / 30, None, period="month")
    assert sig.ready and abs(sig.baseline - 10_000) < 100


def test_a_late_event_within_a_day_does_not_change_the_outcome():
    series = [(d, a) for d, a in daily_revenue(60, seed=1) if a > 0]
    in_order, swapped = rv.RevenueState(), rv.RevenueState()
    for day, amount in series:
        rv.update(in_order, day, amount, None)
    events = list(series)
    for i in range(10, 50, 7):  # day i's event arrives after day i+1's
        events[i], events[i + 1] = events[i + 1], events[i]
    for day, amount in events:
        rv.update(swapped, day, amount, None)
    assert in_order == swapped


def test_revenue_state_survives_msgpack():
    state, _ = replay(daily_revenue(400, seed=3, sector="textile"), "textile")
    raw = msgspec.msgpack.encode(state)
    assert msgspec.msgpack.decode(raw, type=rv.RevenueState) == state
    assert len(raw) <= 150


# --------------------------------------------------------------------------- dormancy


def test_a_daily_seller_silent_for_ten_days_is_dormant():
    s = dm.DormancyState()
    for day in range(START, START + 90):
        dm.note_event(s, day)
    last = START + 89
    assert not dm.silent_since(s, last + 7).is_silent
    silence = dm.silent_since(s, last + 10)
    assert silence.is_silent and silence.days_silent == 10 and silence.threshold == 7.0


def test_an_intermittent_seller_with_gaps_of_five_to_ten_days_is_not_dormant_after_eight():
    rng = random.Random(4)
    s, day = dm.DormancyState(), START
    for _ in range(30):
        dm.note_event(s, day)
        day += rng.randint(5, 10)
    last = s.last_day
    silence = dm.silent_since(s, last + 8)
    assert not silence.is_silent and 5 <= silence.typical_gap <= 10
    assert dt.date.fromordinal(last) == dt.date(2025, 9, 23)
    # three quiet weeks is silence for it, but National Day's Golden Week (10-01 .. 10-07) is not silence
    assert not dm.silent_since(s, last + 21).is_silent
    assert dm.silent_since(s, last + 21 + 7).is_silent
    assert dm.silent_since(s, last + 21, dm.DormancyPolicy(holidays=False)).is_silent


def test_a_monthly_reporter_is_measured_against_its_declared_period():
    s = dm.DormancyState()
    for month in range(1, 4):  # three monthly VAT returns, on the last day of each month
        dm.note_event(s, dt.date(2025, month + 1, 1).toordinal() - 1, period="month")
    last = s.last_day
    assert not dm.silent_since(s, last + 35).is_silent  # a daily feed would be silent after 20 quiet days
    assert dm.silent_since(s, last + 46).is_silent  # 1.5 periods: a return missed
    daily = dm.DormancyState()
    for month in range(1, 4):
        dm.note_event(daily, dt.date(2025, month + 1, 1).toordinal() - 1)
    assert dm.silent_since(daily, daily.last_day + 21).is_silent


def test_a_new_borrower_is_measured_against_the_prior_rhythm():
    s = dm.DormancyState()
    dm.note_event(s, START)
    silence = dm.silent_since(s, START + 14)
    assert not silence.is_silent and silence.typical_gap == 7.0
    assert dm.silent_since(s, START + 21).is_silent


def test_a_monthly_reporter_is_not_silent_between_reports():
    s = dm.DormancyState()
    for m in range(3, 12):  # March .. November: no Spring Festival in the gaps or the silence
        dm.note_event(s, dt.date(2025, m, 28).toordinal())
    last = s.last_day
    assert not dm.silent_since(s, last + 35).is_silent
    assert dm.silent_since(s, last + 50).is_silent


def test_a_long_holiday_does_not_redefine_the_rhythm():
    s = dm.DormancyState()
    for day in range(START, START + 60):
        dm.note_event(s, day)
    dm.note_event(s, START + 100)  # 40 days away, then daily again
    for day in range(START + 101, START + 130):
        dm.note_event(s, day)
    assert dm.silent_since(s, START + 129 + 9).is_silent


def test_an_irregular_seller_is_silent_when_the_quiet_spell_is_rare_for_it_not_after_three_weeks():
    rng = random.Random(0)
    s, day, gaps = dm.DormancyState(), START, []
    while day < START + 240:  # a sale every 7 days on average, at random (gaps up to four weeks)
        dm.note_event(s, day)
        gaps.append(max(1, round(rng.expovariate(1 / 7))))
        day += gaps[-1]
    last = s.last_day
    silence = dm.silent_since(s, last + 21)
    assert not silence.is_silent and 28 < silence.threshold < 60  # three quiet weeks are ordinary for it
    assert max(gaps[:-1]) < silence.threshold
    assert dm.silent_since(s, last + 60).is_silent


def test_a_new_borrower_with_long_first_gaps_is_silent_after_three_weeks():
    s = dm.DormancyState()
    for day in (START, START + 30, START + 65):  # two gaps of a month: its rhythm is not known yet
        dm.note_event(s, day)
    assert not dm.silent_since(s, START + 65 + 20).is_silent
    assert dm.silent_since(s, START + 65 + 21).is_silent


SF_2026 = dt.date(2026, 2, 17).toordinal()  # the festival window is 02-07 .. 03-04 (detectors.revenue)


def test_a_factory_closed_over_spring_festival_is_not_silent():
    s = dm.DormancyState()
    for day in range(SF_2026 - 100, SF_2026 - 3):  # invoices every day until 02-13, then closed
        dm.note_event(s, day)
    for today in range(SF_2026 - 3, SF_2026 + 6):
        assert not dm.silent_since(s, today).is_silent
    # the silence only counts outside the window: 02-07 .. 02-13 were sales days, 02-14 .. 03-04 do not count
    silence = dm.silent_since(s, SF_2026 + 16)
    assert not silence.is_silent and silence.threshold == 7.0 + 19
    assert dm.silent_since(s, SF_2026 + 15 + 8).is_silent  # the 8th quiet day after the window
    # without the calendar the closure itself reads as silence
    assert dm.silent_since(s, SF_2026 + 6, dm.DormancyPolicy(holidays=False)).is_silent


def test_the_threshold_names_the_first_silent_day_around_spring_festival():
    """``last_day + floor(threshold) + 1`` is the first silent day, as the core's timers assume."""
    for rhythm in (1, 3, 7):
        for last in range(SF_2026 - 45, SF_2026 + 20):
            s = dm.DormancyState()
            for day in range(last - 40 * rhythm, last + 1, rhythm):
                dm.note_event(s, day)
            threshold = dm.silent_since(s, last).threshold
            first = next(t for t in range(last, last + 200) if dm.silent_since(s, t).is_silent)
            assert first == last + math.floor(threshold) + 1, (rhythm, last)
            assert dm.silent_since(s, first).threshold == threshold  # a function of the state only


def test_gaps_are_learnt_in_days_outside_spring_festival():
    s = dm.DormancyState()
    for day in range(SF_2026 - 60, SF_2026 - 10, 5):  # a sale every 5 days
        dm.note_event(s, day)
    before = (s.gap, s.dev, s.gaps)
    dm.note_event(s, SF_2026 + 3)  # the next one in the festival: 4 days that count (02-03 .. 02-06)
    dm.note_event(s, SF_2026 + 8)  # inside the window: nothing to learn
    assert s.gaps == before[2] + 1 and s.gap < before[0] and s.last_day == SF_2026 + 8
    dm.note_event(s, SF_2026 + 30)  # 02-18 .. 03-19: 15 days that count
    assert s.gaps == before[2] + 2


# --------------------------------------------------------------------------- cash flow


def cash_days(state: cf.CashflowState, days: int, *, start: int = 0, sales: float = 10_000, costs: float = 7_000,
              balance: float = 200_000, policy: cf.CashflowPolicy = cf.DEFAULT_POLICY) -> cf.CashflowSignals:
    sig = cf.advance(state, T0, policy)
    for d in range(start, start + days):
        cf.update(state, T0 + d * DAY + 3600, "in", sales, "customer", policy=policy)
        sig = cf.update(state, T0 + d * DAY + 7200, "out", costs, "supplier", balance_after=balance,
                        account_id="A1", policy=policy)
    return sig


def test_cash_runway_under_fifteen_days_is_flagged_and_clears_with_hysteresis():
    s = cf.CashflowState()
    sig = cash_days(s, 60, balance=200_000)
    assert not sig.low_runway and sig.runway_days > 25
    sig = cash_days(s, 1, start=60, balance=90_000)  # 90k against ~7k a day: under 15 days
    assert sig.low_runway and sig.runway_days < sig.runway_threshold == 15
    sig = cash_days(s, 1, start=61, balance=120_000)  # ~17 days: above 15 but under the clear level
    assert sig.low_runway
    sig = cash_days(s, 1, start=62, balance=160_000)
    assert not sig.low_runway


def test_two_other_lenders_disbursing_within_thirty_days_is_multi_lending():
    s = cf.CashflowState()
    cash_days(s, 30)
    sig = cf.update(s, T0 + 30 * DAY, "in", 50_000, "lender_disbursement", counterparty_id="lender-a")
    assert sig.other_lenders == 1 and not sig.multi_lending
    sig = cf.update(s, T0 + 50 * DAY, "in", 80_000, "lender_disbursement", counterparty_id="lender-b")
    assert sig.multi_lending and sig.lender_disbursements == 2 and sig.multi_lending_threshold == 2
    assert not cf.advance(s, T0 + 61 * DAY).multi_lending  # lender-a has left the window


def test_our_own_loan_and_old_lenders_do_not_count():
    policy = cf.CashflowPolicy(own_counterparties=frozenset({"us"}))
    s = cf.CashflowState()
    cf.update(s, T0, "in", 50_000, "lender_disbursement", counterparty_id="us", policy=policy)
    cf.update(s, T0 + DAY, "out", 5_000, "loan_repayment", counterparty_id="us", policy=policy)
    cf.update(s, T0 + DAY, "out", 5_000, "loan_repayment", policy=policy)  # whose? not counted
    sig = cf.update(s, T0 + 2 * DAY, "out", 3_000, "loan_repayment", counterparty_id="other", policy=policy)
    assert sig.other_lenders == 1 and sig.lender_repayments == 1


def test_the_lender_ring_stays_small():
    s = cf.CashflowState()
    for i in range(20):
        sig = cf.update(s, T0 + i * DAY, "in", 1_000, "lender_disbursement", counterparty_id=f"l{i}")
    assert len(s.lenders) == 2 * cf.DEFAULT_POLICY.ring_size and sig.other_lenders == 4 and sig.multi_lending


def test_a_margin_squeeze_is_a_margin_decline():
    s = cf.CashflowState()
    sig = cash_days(s, 200, costs=7_000)
    assert not sig.margin_decline and abs(sig.margin - 0.3) < 0.01
    sig = cash_days(s, 60, start=200, costs=9_000)  # 30% -> 10% for two months
    assert sig.margin_decline and sig.margin_baseline - sig.margin >= sig.margin_threshold


def test_one_squeezed_month_weighs_fully_in_the_month_margin_and_half_in_the_two_pooled():
    s = cf.CashflowState()
    cash_days(s, 212, costs=7_000)  # 2026-01-01 .. 07-31: 30% margin
    sig = cash_days(s, 31 + 1, start=212, costs=9_000)  # August at 10%, seen on 09-01
    assert abs(sig.margin_month - 0.1) < 0.01 and abs(sig.margin - 0.2) < 0.01  # fully in one, half in the other
    assert sig.margin_baseline - sig.margin_month >= 0.12  # the month rule's threshold


def test_monthly_payroll_and_rent_do_not_look_like_a_margin_decline():
    s = cf.CashflowState()
    declines = 0
    for d in range(365):
        cf.update(s, T0 + d * DAY + 3600, "in", 10_000, "customer")
        cf.update(s, T0 + d * DAY + 7200, "out", 4_000, "supplier")
        if dt.datetime.fromtimestamp(T0 + d * DAY, dt.UTC).day == 5:  # paid on the 5th
            cf.update(s, T0 + d * DAY + 9000, "out", 60_000, "payroll")
            cf.update(s, T0 + d * DAY + 9000, "out", 30_000, "rent")
        declines += cf.advance(s, T0 + (d + 1) * DAY).margin_decline
    assert declines == 0


def test_a_payday_on_the_1st_moved_to_the_friday_before_a_weekend_stays_in_its_month():
    def payday(year: int, month: int) -> dt.date:  # the 1st, or the Friday before when it falls on a weekend
        first = dt.date(year, month, 1)
        return first - dt.timedelta(days=first.weekday() - 4) if first.weekday() >= 5 else first

    start = dt.datetime.fromtimestamp(T0, dt.UTC).date()
    paydays = {payday(y, m) for y in (start.year, start.year + 1) for m in range(1, 13)}
    assert any(p.day != 1 for p in paydays)  # some move back into the previous month
    s, declines, margins = cf.CashflowState(), 0, set()
    for d in range(400):
        day = start + dt.timedelta(days=d)
        cf.update(s, T0 + d * DAY + 3600, "in", 10_000, "customer")
        cf.update(s, T0 + d * DAY + 7200, "out", 4_000, "supplier")
        if day in paydays:
            cf.update(s, T0 + d * DAY + 9000, "out", 90_000, "payroll")
        sig = cf.advance(s, T0 + (d + 1) * DAY)
        declines += sig.margin_decline
        if sig.margin is not None and d > 90:
            margins.add(round(sig.margin, 2))
    assert declines == 0 and max(margins) - min(margins) < 0.04, sorted(margins)
    bare = cf.CashflowPolicy(month_end_days=0)  # without the rule: two paydays in one month, none in the next
    s, declines = cf.CashflowState(), 0
    for d in range(400):
        day = start + dt.timedelta(days=d)
        cf.update(s, T0 + d * DAY + 3600, "in", 10_000, "customer", policy=bare)
        cf.update(s, T0 + d * DAY + 7200, "out", 4_000, "supplier", policy=bare)
        if day in paydays:
            cf.update(s, T0 + d * DAY + 9000, "out", 90_000, "payroll", policy=bare)
        declines += cf.advance(s, T0 + (d + 1) * DAY, bare).margin_decline
    assert declines > 0


def test_runway_is_unknown_until_a_month_of_movements_shows_the_monthly_lumps():
    s = cf.CashflowState()
    for d in range(45):  # 200k in the bank; 3k of costs a day, 60k of payroll on day 1 of the month
        cf.update(s, T0 + d * DAY + 3600, "in", 3_000, "customer")
        out = 3_000 + (60_000 if d in (1, 32) else 0)
        sig = cf.update(s, T0 + d * DAY + 7200, "out", out, "supplier", balance_after=200_000)
        if d < 29:
            assert sig.runway_days is None and not sig.low_runway, d  # two weeks would read ~30 days of cash
    assert sig.runway_days is not None and sig.runway_days > 25 and not sig.low_runway


def test_outflows_exceeding_inflows_are_burning():
    s = cf.CashflowState()
    cash_days(s, 59)  # January and February
    sig = cash_days(s, 32, start=59, sales=5_000, costs=9_000)  # March burns; seen on April 1
    assert sig.burning and sig.inflow_cover < sig.burn_threshold and sig.net_flow < sig.net_flow_baseline


def test_cash_sums_do_not_depend_on_arrival_order():
    rng = random.Random(3)
    moves = [(T0 + rng.randrange(40 * DAY), rng.choice(["in", "out"]), rng.uniform(100, 9_000)) for _ in range(200)]
    a, b = cf.CashflowState(), cf.CashflowState()
    for t, d, x in sorted(moves):
        cf.update(a, t, d, x, "customer" if d == "in" else "supplier")
    for t, d, x in moves:
        cf.update(b, t, d, x, "customer" if d == "in" else "supplier")
    sa, sb = cf.signals(a, T0 + 41 * DAY), cf.signals(b, T0 + 41 * DAY)
    assert sa.inflow == pytest.approx(sb.inflow, rel=1e-5) and sa.margin == pytest.approx(sb.margin, abs=1e-5)


# --------------------------------------------------------------------------- repayment


def test_consecutive_lateness_rolls_and_cures():
    s = rp.RepaymentState()
    for _ in range(6):
        rp.settled(s, 0)
    rp.went_overdue(s)
    rp.dpd_changed(s, 3)
    rp.partial_payment(s)
    rp.went_overdue(s)
    sig = rp.dpd_changed(s, 33)
    assert (sig.consecutive_late, sig.repeated_late, sig.bucket_label, sig.rolled_forward) == (2, True, "M2", True)
    assert sig.partial_count == 1 and 0.2 < sig.late_share < 0.5
    rp.settled(s, 35)
    rp.settled(s, 5)
    sig = rp.dpd_changed(s, 0)
    assert sig.bucket_label == "M0" and sig.cures == 1 and not sig.rolled_forward and sig.worst_bucket == 2
    assert rp.settled(s, 0).consecutive_late == 0


# --------------------------------------------------------------------------- size


def test_all_detector_state_of_a_borrower_after_a_year_of_daily_data_fits_in_350_bytes():
    rng = random.Random(1)
    rev, dor, cash, rep, mem = (rv.RevenueState(), dm.DormancyState(), cf.CashflowState(), rp.RepaymentState(),
                                LabelMemory())
    sig_r = sig_c = None
    for i in range(365):
        day = START + i
        sig_r = rv.update(rev, day, 12_345.67 * math.exp(rng.gauss(0, 0.3)), "ecommerce")
        dm.note_event(dor, day)
        for acct in ("A1", "A2", "A3"):
            cf.update(cash, T0 + i * DAY + 3600, "in", 8_000 * rng.random(), "customer",
                      balance_after=150_000 + rng.random() * 1e4, account_id=acct)
        sig_c = cf.update(cash, T0 + i * DAY + 7200, "out", 6_000 * rng.random(), "supplier")
        if i % 7 == 0:
            cf.update(cash, T0 + i * DAY + 9000, "in", 50_000, "lender_disbursement", counterparty_id=f"bank{i % 5}")
            cf.update(cash, T0 + i * DAY + 9000, "out", 5_000, "loan_repayment", counterparty_id=f"bank{i % 3}")
        if i % 30 == 0:
            rp.settled(rep, rng.choice([0, 0, 3]))
            rp.dpd_changed(rep, rng.choice([0, 0, 5]))
        remember(mem, day, borrower_features(sig_r, sig_c, rp.signals(rep)))
    sizes = {name: len(msgspec.msgpack.encode(s)) for name, s in
             (("revenue", rev), ("dormancy", dor), ("cashflow", cash), ("repayment", rep), ("labels", mem))}
    assert sum(sizes.values()) <= 350, sizes
