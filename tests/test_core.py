"""Pure tests of the core: ledgers, DPD, timers, tasks, alerts, idempotency."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.collection import DEFAULT_STAGES, CollectionPolicy
from alerts.rules import load_rules
from streams import events as ev
from streams.core import Policy, Rejection, advance, new_state, snapshot, step
from streams.core import state as codec

TZ = dt.timezone(dt.timedelta(hours=8))
# these tests are about overdue handling: the pre-due reminders (tests/test_collections.py) are left out
OVERDUE_ONLY = CollectionPolicy(stages=tuple(s for s in DEFAULT_STAGES if not s.is_reminder))
# and events are applied as they come (no lateness to wait for): the reorder buffer is tested on its own below
POLICY = Policy(collection=OVERDUE_ONLY, lateness_seconds=0)
LATE_2H = Policy(collection=OVERDUE_ONLY, lateness_seconds=7200)


def at(day: str, hour: int = 12) -> dt.datetime:
    d = dt.date.fromisoformat(day)
    return dt.datetime(d.year, d.month, d.day, hour, tzinfo=TZ)


def ts(day: str, hour: int = 12) -> int:
    return int(at(day, hour).timestamp())


_n = iter(range(10**9))


def loan(borrower: str = "B1", loan_id: str = "L1", dues: tuple[str, ...] = ("2026-02-05", "2026-03-05"),
         amount: str = "1000", when: str = "2026-01-05") -> ev.LoanOpened:
    return ev.LoanOpened(
        event_id=f"lo-{next(_n)}", borrower_id=borrower, occurred_at=at(when), loan_id=loan_id,
        principal=Decimal(amount) * len(dues), credit_limit=Decimal(amount) * len(dues),
        installments=[ev.Installment(seq=i + 1, due_date=dt.date.fromisoformat(d), amount_due=Decimal(amount))
                      for i, d in enumerate(dues)])


def pay(amount: str, day: str, seq: int | None = None, borrower: str = "B1", loan_id: str = "L1",
        event_id: str | None = None) -> ev.Repayment:
    return ev.Repayment(event_id=event_id or f"rp-{next(_n)}", borrower_id=borrower, occurred_at=at(day),
                        loan_id=loan_id, amount=Decimal(amount), installment_seq=seq)


def run(events: list[ev.Event], until: str | None = None, policy: Policy = POLICY):
    state = new_state(events[0].borrower_id)
    outputs = []
    for e in events:
        outputs.extend(step(state, e, policy))
    if until:
        outputs.extend(advance(state, ts(until, 0), policy))
    return state, outputs


def tasks(outputs):
    return [o for o in outputs if getattr(o, "kind", "") == "task"]


def alerts(outputs):
    return [o for o in outputs if getattr(o, "kind", "") == "alert"]


def test_an_installment_paid_on_time_creates_no_task():
    _, out = run([loan(), pay("1000", "2026-02-04"), pay("1000", "2026-03-05")], until="2026-06-01")
    assert out == []


def test_a_due_date_passing_unpaid_opens_one_collection_task_the_next_day():
    _, out = run([loan()], until="2026-02-10")
    [task] = tasks(out)
    assert (task.status, task.installment_seq, task.dpd, task.stage) == ("open", 1, 1, "dpd_1_30")
    assert task.created_at.startswith("2026-02-06T00:00:00")
    assert task.amount_overdue == Decimal("1000")


def test_a_partial_payment_lowers_the_amount_overdue_of_the_same_task():
    _, out = run([loan(), pay("400", "2026-02-08")], until="2026-02-10")
    opened, updated = tasks(out)
    assert opened.task_id == updated.task_id
    assert updated.amount_overdue == Decimal("600") and updated.status == "open"


def test_payment_in_full_cancels_the_open_task_in_the_same_step():
    state, _ = run([loan()], until="2026-02-10")
    out = step(state, pay("1000", "2026-02-11"), POLICY)
    [task] = tasks(out)
    assert task.status == "cancelled" and task.updated_at.startswith("2026-02-11")


def test_a_repayment_without_seq_pays_the_oldest_open_installment_first():
    state, _ = run([loan(), pay("1500", "2026-03-10")], until="2026-03-10")
    inst = {i.seq: i for i in state.loans[0].installments}
    assert 1 not in inst and inst[2].paid == Decimal("500")


def test_a_repayment_with_seq_pays_that_installment_first():
    state, _ = run([loan(), pay("1000", "2026-01-20", seq=2)])
    inst = {i.seq: i for i in state.loans[0].installments}
    assert 2 not in inst and inst[1].paid == 0


def test_dpd_crossing_30_raises_a_critical_alert_that_resolves_when_the_loan_is_current():
    state, out = run([loan()], until="2026-03-08")
    [alert] = [a for a in alerts(out) if a.type == "delinquency"]
    assert (alert.status, alert.severity, alert.type) == ("open", "critical", "delinquency")
    assert alert.reasons[0].value == 30 and alert.reasons[0].threshold == 30
    assert "逾期" in alert.reasons[0].message_zh
    out = step(state, pay("2000", "2026-03-09"), POLICY)
    [resolved] = [a for a in alerts(out) if a.type == "delinquency"]
    assert resolved.alert_id == alert.alert_id and resolved.status == "resolved"


def test_stages_escalate_and_only_one_task_per_installment_is_open():
    _, out = run([loan(dues=("2026-02-05",))], until="2026-06-01")
    by_id: dict[str, object] = {}
    for t in tasks(out):
        by_id[t.task_id] = t
    open_ = [t for t in by_id.values() if t.status == "open"]
    assert len(open_) == 1 and open_[0].stage == "dpd_90_plus"
    assert sorted(t.stage for t in by_id.values() if t.status == "escalated") == [
        "dpd_1_30", "dpd_31_60", "dpd_61_90"]


def test_risk_class_follows_the_five_categories():
    cases = {"2026-02-01": "normal", "2026-03-01": "special_mention", "2026-06-01": "substandard",
             "2026-12-01": "doubtful", "2027-03-01": "loss"}
    for until, expected in cases.items():
        state, _ = run([loan(dues=("2026-02-05",))], until=until)
        assert snapshot(state, POLICY)["risk_class"] == expected, until


def test_a_redelivered_event_changes_nothing():
    first = pay("400", "2026-02-08", event_id="rp-dup")
    state, _ = run([loan(), first], until="2026-02-10")
    before = codec.encode(state)
    assert step(state, first, POLICY) == []
    assert codec.encode(state) == before


def test_a_state_written_with_the_old_id_lists_still_recognises_its_events():
    from streams.core.step import event_hash

    first = pay("400", "2026-02-08", event_id="rp-old")
    state, _ = run([loan(), first], until="2026-02-10")
    # as written before the packed keys: 64-bit hashes in recent_ids and the loan's payment_ids
    hashes = [event_hash(e) for e in ("lo-x", "rp-old")]
    old = msgspec.structs.replace(state, seen_ids=b"", recent_ids=hashes,
                                  loans=[msgspec.structs.replace(state.loans[0], repaid_ids=b"",
                                                                 payment_ids=[hashes[1]])])
    restored = codec.decode(codec.encode(old))
    assert restored.recent_ids == [] and len(restored.seen_ids) == 2 * codec.ID_BYTES
    assert restored.loans[0].payment_ids == [] and restored.loans[0].repaid_ids == codec.id_key(hashes[1])
    assert step(restored, first, POLICY) == []  # the re-delivery is recognised
    assert restored.loans[0].installments[0].paid == Decimal("400")


def sale(day: str, amount: str = "800", borrower: str = "B1") -> ev.Revenue:
    """A day's sales, reported at the day's end."""
    d = dt.date.fromisoformat(day)
    return ev.Revenue(event_id=f"rv-{next(_n)}", borrower_id=borrower, amount=Decimal(amount),
                      occurred_at=dt.datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=TZ))


def test_a_repayment_is_never_booked_twice_however_many_events_came_after_it():
    first = pay("400", "2026-04-01", event_id="rp-early")
    days = [(dt.date(2026, 4, 2) + dt.timedelta(days=k)).isoformat() for k in range(40)]
    state, _ = run([loan(), first] + [sale(d) for d in days])
    assert len(state.seen_ids) == POLICY.recent_ids * codec.ID_BYTES  # the ring has moved past the payment ...
    assert step(state, first, POLICY) == []  # ... the loan's own keys still know it
    assert state.loans[0].installments[0].paid == Decimal("400")


def dormancy_alerts(days: list[str], until: str, policy: Policy) -> list:
    rules = load_rules(include_disabled=True)  # the dormancy rules are off by default
    _, outputs = run([sale(d) for d in days], until=until, policy=dataclasses.replace(policy, rules=rules))
    return [a for a in alerts(outputs) if a.type == "dormancy" and a.status == "open"]


def dormancy_opened(days: list[str], until: str, policy: Policy) -> list[str]:
    return [a.opened_at for a in dormancy_alerts(days, until, policy)]


def test_a_daily_seller_is_warned_once_more_complete_quiet_days_than_its_threshold_have_passed():
    april = [(dt.date(2026, 4, 1) + dt.timedelta(days=k)).isoformat() for k in range(30)]
    # threshold 7 days (the floor); 05-01 .. 05-08 are eight whole days without a report
    [opened] = dormancy_alerts(april, "2026-05-20", POLICY)
    assert opened.opened_at == "2026-05-09T00:00:00+08:00"
    reason = opened.reasons[0]
    assert (reason.value, reason.threshold) == (8, 7)
    assert "for 8 days" in reason.message and "threshold 7 days" in reason.message


def test_golden_week_is_not_silence_unless_the_settings_say_the_portfolio_is_outside_china():
    from streams.settings import Core, Settings

    september = [(dt.date(2026, 9, 1) + dt.timedelta(days=k)).isoformat() for k in range(29)]
    # 09-30 and 10-08 .. 10-14 are eight quiet days that count; 10-01 .. 10-07 is the holiday
    assert dormancy_opened(september, "2026-10-25", POLICY) == ["2026-10-15T00:00:00+08:00"]
    abroad = Settings(core=Core(public_holidays=False)).policy()
    assert not abroad.dormancy.holidays
    outside = dataclasses.replace(POLICY, dormancy=abroad.dormancy)
    assert dormancy_opened(september, "2026-10-25", outside) == ["2026-10-08T00:00:00+08:00"]


def test_a_repayment_for_an_unknown_loan_is_rejected_with_a_reason():
    state = new_state("B1")
    [rejection] = step(state, pay("10", "2026-01-01", loan_id="L404"), POLICY)
    assert isinstance(rejection, Rejection) and "unknown loan L404" in rejection.reason


def test_the_state_round_trips_and_stays_small():
    dues = tuple((dt.date(2026, 1, 5) + dt.timedelta(days=30 * k)).isoformat() for k in range(1, 25))
    state, _ = run([loan(dues=dues, amount="5000")] + [pay("5000", d) for d in dues[:6]], until="2026-08-01")
    raw = codec.encode(state)
    assert codec.decode(raw) == state
    assert len(raw) < 2048


def test_a_payment_that_arrives_late_within_the_lateness_is_applied_in_event_time_order():
    # paid at 23:00 on the due date, delivered after an event of 00:30 the next day: still on time
    paid = ev.Repayment(event_id="rp-late", borrower_id="B1", occurred_at=at("2026-02-05", 23), loan_id="L1",
                        amount=Decimal("1000"))
    other = ev.Revenue(event_id="rv-1", borrower_id="B1", occurred_at=at("2026-02-06", 0) + dt.timedelta(minutes=30),
                       amount=Decimal("500"))
    _, out = run([loan(dues=("2026-02-05",)), other, paid], until="2026-03-01", policy=LATE_2H)
    assert tasks(out) == []
    # past the lateness it is late: the day-1 task opens, then the payment cancels it
    later = ev.Revenue(event_id="rv-2", borrower_id="B1", occurred_at=at("2026-02-06", 3), amount=Decimal("500"))
    _, out = run([loan(dues=("2026-02-05",)), later, paid], until="2026-03-01", policy=LATE_2H)
    assert [(t.stage, t.status) for t in tasks(out)] == [("dpd_1_30", "open"), ("dpd_1_30", "cancelled")]


def test_records_wait_for_the_lateness_and_come_out_in_event_time_order():
    """With a 2 h lateness nothing is applied until the clock is 2 h past it; then in occurred_at order."""
    state = new_state("B1")
    assert step(state, loan(dues=("2026-02-05",)), LATE_2H) == []  # held
    out = step(state, pay("1000", "2026-02-10"), LATE_2H)  # the loan and the timers up to 10:00 are applied ...
    assert [(t.stage, t.status) for t in tasks(out)] == [("dpd_1_30", "open")]
    assert [type(h.event).__name__ for h in state.held] == ["Repayment"]
    out = advance(state, ts("2026-02-10", 14), LATE_2H)  # ... the payment of 12:00 once the clock is 2 h past it
    assert [(t.stage, t.status) for t in tasks(out)] == [("dpd_1_30", "cancelled")]
    assert state.held == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=12))
def test_outputs_do_not_depend_on_when_time_is_advanced(tick_days):
    """Advancing time at arbitrary moments between events gives the same records as not advancing."""
    base = dt.date(2026, 2, 1)
    events = [loan(dues=("2026-02-05", "2026-03-05", "2026-04-05")),
              pay("700", "2026-02-20", event_id="a"), pay("1800", "2026-04-20", event_id="b")]
    _, plain = run(events, until="2026-09-01")
    state = new_state("B1")
    ticked = []
    ticks = sorted(int(dt.datetime.combine(base + dt.timedelta(days=d), dt.time(), TZ).timestamp())
                   for d in tick_days)
    for e in events:
        e_t = int(e.occurred_at.timestamp())
        while ticks and ticks[0] <= e_t:
            ticked.extend(advance(state, ticks.pop(0), POLICY))
        ticked.extend(step(state, e, POLICY))
    ticked.extend(advance(state, ts("2026-09-01", 0), POLICY))
    enc = msgspec.json.Encoder(decimal_format="string")
    assert [enc.encode(o) for o in ticked] == [enc.encode(o) for o in plain]


def test_a_closed_loan_cancels_its_tasks_and_resolves_its_alert():
    state, _ = run([loan(dues=("2026-02-05",))], until="2026-04-01")
    closed = ev.LoanClosed(event_id="c1", borrower_id="B1", occurred_at=at("2026-04-02"), loan_id="L1",
                           reason="written_off")
    out = step(state, closed, POLICY)
    assert {o.status for o in tasks(out)} == {"cancelled"}
    assert [a.status for a in alerts(out)] == ["resolved"]


@pytest.mark.parametrize("grace", [0, 3])
def test_grace_days_delay_the_first_task(grace):
    policy = Policy(grace_days=grace, collection=OVERDUE_ONLY)
    _, out = run([loan(dues=("2026-02-05",))], until="2026-02-20", policy=policy)
    first = tasks(out)[0]
    assert first.dpd == grace + 1


def test_a_replay_with_backtest_cutoffs_writes_the_same_records_as_without(tmp_path):
    from streams_data import seeded_stream

    from streams.processor import Processor
    from streams.replay import JsonlSink, replay

    lines = list(enumerate(seeded_stream(borrowers=60, seed=4), 1))
    until = dt.datetime(2025, 12, 1, tzinfo=TZ)
    outputs = {}
    snaps: list[tuple[str, dict]] = []
    for name, cutoffs in (("plain", ()), ("cut", [dt.datetime(2024, m, 1, tzinfo=TZ) for m in range(2, 13)])):
        sink = JsonlSink(tmp_path / name)
        replay(lines, Processor(POLICY), sink, source="s", until=until, cutoffs=cutoffs,
               on_snapshot=lambda c, s: snaps.append((c, s)))
        sink.close()
        # the same records; only their order in the file may differ (timers fire at the cutoffs)
        outputs[name] = {f: sorted((tmp_path / name / f).read_bytes().splitlines()) for f in
                         ("alerts.jsonl", "tasks.jsonl", "borrowers.jsonl")}
    assert outputs["plain"] == outputs["cut"]
    assert len([s for c, s in snaps if c.startswith("2024-12-01")]) == 60  # borrowers join in Jan-Feb
    assert any(s["dpd"] > 0 for _, s in snaps)


def cash(day: str, direction: str, amount: str, kind: str, counterparty: str | None = None) -> ev.Cashflow:
    return ev.Cashflow(event_id=f"cf-{next(_n)}", borrower_id="B1", occurred_at=at(day), account_id="A1",
                       direction=direction, amount=Decimal(amount), counterparty_type=kind,
                       counterparty_id=counterparty)


def test_our_own_disbursement_and_repayments_are_not_another_lender():
    """多头借贷 counts other lenders only: our money on the account is recognised by its amount."""
    events = [loan(amount="1000", dues=("2026-02-05", "2026-03-05")),  # principal 2,000
              cash("2026-01-05", "in", "2000", "lender_disbursement", "cp-us"),
              cash("2026-01-20", "in", "5000", "lender_disbursement", "cp-bank-a"),
              pay("1000", "2026-02-04"),
              cash("2026-02-04", "out", "1000", "loan_repayment", "cp-us")]
    state, outputs = run(events)
    assert not [a for a in alerts(outputs) if a.type == "multi_lending"]
    assert state.cash is not None and state.cash.own
    # a second other lender within 30 days of the first is multi-lending
    _, more = run([*events, cash("2026-02-10", "in", "8000", "lender_disbursement", "cp-bank-b")])
    found = [a for a in alerts(more) if a.type == "multi_lending"]
    assert [(a.status, a.reasons[0].value) for a in found] == [("open", 2.0)]


@pytest.mark.parametrize("debit_first", [True, False])
def test_our_repayment_is_recognised_whichever_of_the_debit_and_our_record_comes_first(debit_first):
    """The account's debit and our repayment record carry the same moment; either may be applied first."""
    debit = cash("2026-02-04", "out", "1000", "loan_repayment", "cp-us")
    ours = pay("1000", "2026-02-04")
    events = [loan(amount="1000", dues=("2026-02-05", "2026-03-05")),
              cash("2026-01-20", "in", "5000", "lender_disbursement", "cp-bank-a"),
              *((debit, ours) if debit_first else (ours, debit))]
    state, outputs = run(events, until="2026-02-10")
    assert state.cash is not None and state.cash.own
    assert [a.status for a in alerts(outputs) if a.type == "multi_lending"] == \
        (["open"] if debit_first else [])  # one step with two lenders when the debit comes first ...
    assert not [a for a in alerts(run(events, until="2026-02-10", policy=LATE_2H)[1]) if a.type == "multi_lending"]
