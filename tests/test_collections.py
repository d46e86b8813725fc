"""Collections and credit limits: borrower stories through the real core, and property tests.

Each story is a short list of contract events for one borrower, run through
``step``/``advance`` with the default policy (unless the story is about a
setting), with the tasks and limit changes it must give.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import replace
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.collection import DEFAULT_STAGES, CollectionPolicy
from alerts.limits import LimitPolicy
from alerts.records import CollectionTask, LimitChange
from alerts.rules import load_rules
from detectors import revenue as rv
from streams import events as ev
from streams.core import Policy, Rejection, advance, new_state, snapshot, step

TZ = dt.timezone(dt.timedelta(hours=8))
POLICY = Policy(lateness_seconds=0)  # events apply as they come: the reorder buffer is tested in test_core
_n = iter(range(10**9))


def at(day: str | dt.date, hour: int = 10) -> dt.datetime:
    d = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return dt.datetime(d.year, d.month, d.day, hour, tzinfo=TZ)


def months(first: str, n: int) -> list[str]:
    d = dt.date.fromisoformat(first)
    return [dt.date(d.year + (d.month - 1 + k) // 12, (d.month - 1 + k) % 12 + 1, d.day).isoformat()
            for k in range(n)]


def loan(dues: list[str], amount: str = "10000", when: str = "2026-01-05", loan_id: str = "L1",
         sector: str | None = None, limit: str | None = None) -> ev.LoanOpened:
    total = Decimal(amount) * len(dues)
    return ev.LoanOpened(
        event_id=f"lo-{next(_n)}", borrower_id="B1", occurred_at=at(when), loan_id=loan_id, principal=total,
        credit_limit=Decimal(limit) if limit else total, sector=sector,
        installments=[ev.Installment(seq=k + 1, due_date=dt.date.fromisoformat(d), amount_due=Decimal(amount))
                      for k, d in enumerate(dues)])


def pay(amount: str, day: str, loan_id: str = "L1", event_id: str | None = None) -> ev.Repayment:
    return ev.Repayment(event_id=event_id or f"rp-{next(_n)}", borrower_id="B1", occurred_at=at(day),
                        loan_id=loan_id, amount=Decimal(amount))


def revenue_days(first: str, last: str, daily: float = 5000.0, sector: str | None = None) -> list[ev.Revenue]:
    """Daily revenue; with a sector, shaped by the sector's seasons (so the season is no surprise)."""
    out = []
    for day in range(dt.date.fromisoformat(first).toordinal(), dt.date.fromisoformat(last).toordinal() + 1):
        amount = daily * (rv.month_factor(day, sector) if sector else 1.0)
        out.append(ev.Revenue(event_id=f"rv-{next(_n)}", borrower_id="B1", occurred_at=at(dt.date.fromordinal(day), 20),
                              amount=Decimal(f"{amount:.2f}")))
    return out


def outcome(task_id: str, day: str, kind: str, promised: str | None = None, by: str | None = None,
            loan_id: str = "L1") -> ev.CollectionOutcome:
    return ev.CollectionOutcome(
        event_id=f"co-{next(_n)}", borrower_id="B1", occurred_at=at(day, 11), task_id=task_id, loan_id=loan_id,
        outcome=kind, promised_amount=Decimal(promised) if promised else None,
        promised_date=dt.date.fromisoformat(by) if by else None)


def lender(day: str, counterparty: str) -> ev.Cashflow:
    return ev.Cashflow(event_id=f"cf-{next(_n)}", borrower_id="B1", occurred_at=at(day), account_id="A1",
                       direction="in", amount=Decimal("50000"), counterparty_type="lender_disbursement",
                       counterparty_id=counterparty)


def ordered(events: list[ev.Event]) -> list[ev.Event]:
    return sorted(events, key=lambda e: e.occurred_at)


class Story:
    """A borrower's events run through the core; outputs kept with the moment they came out."""

    def __init__(self, policy: Policy = POLICY) -> None:
        self.policy = policy
        self.state = new_state("B1")
        self.out: list = []

    def run(self, events: list[ev.Event], until: str | None = None) -> Story:
        for e in ordered(events):
            self.out.extend(step(self.state, e, self.policy))
        if until:
            # up to the start of `until` (timers of that day have not fired yet)
            self.out.extend(advance(self.state, int(at(until, 0).timestamp()) - 1, self.policy))
        return self

    def step(self, event: ev.Event) -> list:
        produced = step(self.state, event, self.policy)
        self.out.extend(produced)
        return produced

    @property
    def tasks(self) -> list[CollectionTask]:
        return [o for o in self.out if isinstance(o, CollectionTask)]

    @property
    def limits(self) -> list[LimitChange]:
        return [o for o in self.out if isinstance(o, LimitChange)]

    def open_tasks(self) -> dict[str, CollectionTask]:
        last: dict[str, CollectionTask] = {}
        for t in self.tasks:
            last[t.task_id] = t
        return {i: t for i, t in last.items() if t.status == "open"}

    def task(self, stage: str, seq: int = 1) -> CollectionTask:
        return next(t for t in self.tasks if t.stage == stage and t.installment_seq == seq)


# --------------------------------------------------------------------------- stories: collections


def test_story_always_on_time_gets_only_the_reminders_and_an_increase_after_three_cycles():
    dues = months("2026-02-05", 6)
    s = Story().run([loan(dues, limit="60000"), *revenue_days("2025-12-01", "2026-07-10"),
                     *[pay("10000", d) for d in dues]], until="2026-07-10")
    assert {t.action for t in s.tasks} == {"reminder"}
    assert Counter((t.stage, t.status) for t in s.tasks) == {
        ("reminder_d3", "open"): 6, ("reminder_d3", "done"): 6, ("reminder_d1", "open"): 6,
        ("reminder_d1", "cancelled"): 6}
    d3 = s.task("reminder_d3")
    assert d3.created_at.startswith("2026-02-02") and d3.contact_after == "2026-02-02T08:00:00+08:00"
    increases = [c for c in s.limits if c.action == "increase"]
    assert increases and increases[0].effective_at.startswith("2026-04-05")  # the third on-time payment
    assert (increases[0].status, increases[0].old_limit, increases[0].new_limit) == \
        ("applied", Decimal("60000"), Decimal("72000.00"))
    assert [r.code for r in increases[0].reasons] == ["on_time_cycles", "capacity"]
    assert "on-time installments 1-3 of L1" in increases[0].evidence
    assert snapshot(s.state, s.policy)["credit_limit"] == str(increases[-1].new_limit)


def test_story_45_days_past_due_has_one_open_task_at_the_31_60_stage_and_a_frozen_limit():
    s = Story().run([loan(["2026-02-05"])], until="2026-03-23")  # 2026-03-22 is day 45
    open_now = s.open_tasks()
    assert [t.stage for t in open_now.values()] == ["dpd_31_60"]
    assert next(iter(open_now.values())).dpd == 31  # as of its last record: the stage change
    assert snapshot(s.state, s.policy)["dpd"] == 45
    assert [(c.action, c.status, c.effective_at[:10]) for c in s.limits] == [("freeze", "applied", "2026-02-12")]


def test_story_a_promise_kept_gives_no_escalation():
    s = Story().run([loan(["2026-02-05"])], until="2026-02-28")
    call = s.task("dpd_1_30")
    s.run([outcome(call.task_id, "2026-02-28", "promise_to_pay", "10000", "2026-03-10")], until="2026-03-10")
    assert s.tasks[-1].reason == "promise to pay 10000 by 2026-03-10" and s.tasks[-1].status == "open"
    s.run([pay("10000", "2026-03-10")], until="2026-04-30")
    assert not any(t.stage == "dpd_31_60" for t in s.tasks)  # day 31 (2026-03-08) passed while the promise held
    assert s.tasks[-1].status == "cancelled" and s.tasks[-1].reason == "paid"


def test_story_a_promise_broken_escalates_the_next_day():
    s = Story().run([loan(["2026-02-05"])], until="2026-02-10")
    call = s.task("dpd_1_30")
    s.run([outcome(call.task_id, "2026-02-10", "promise_to_pay", "10000", "2026-02-14")], until="2026-02-15")
    assert not any(t.status == "escalated" for t in s.tasks)
    s.run([], until="2026-02-16")
    escalated = [t for t in s.tasks if t.status == "escalated"]
    assert len(escalated) == 1 and escalated[0].updated_at.startswith("2026-02-15")  # the day after the promise
    assert escalated[0].reason == "promise to pay broken"
    assert [t.stage for t in s.open_tasks().values()] == ["dpd_31_60"]  # one stage up at DPD 10


def test_story_a_promise_of_part_kept_holds_and_then_the_dpd_stage_applies():
    s = Story().run([loan(["2026-02-05"])], until="2026-02-20")
    call = s.task("dpd_1_30")
    s.run([outcome(call.task_id, "2026-02-20", "promise_to_pay", "4000", "2026-03-12"),
           pay("4000", "2026-03-11")], until="2026-03-12")
    assert not any(t.stage == "dpd_31_60" for t in s.tasks)  # held past day 31
    s.run([], until="2026-03-14")
    assert [t.stage for t in s.open_tasks().values()] == ["dpd_31_60"]
    assert not any(t.reason == "promise to pay broken" for t in s.tasks)


def test_story_payment_in_full_cancels_the_installments_task_in_the_same_step():
    s = Story().run([loan(["2026-02-05", "2026-03-05"])], until="2026-02-20")
    produced = s.step(pay("10000", "2026-02-20"))
    cancelled = [t for t in produced if isinstance(t, CollectionTask) and t.status == "cancelled"]
    assert [(t.installment_seq, t.stage, t.reason) for t in cancelled] == [(1, "dpd_1_30", "paid")]
    assert not any(t.installment_seq == 1 for t in s.open_tasks().values())


def test_story_a_partial_payment_lowers_the_amount_and_the_priority_of_the_same_task():
    s = Story().run([loan(["2026-02-05"])], until="2026-02-15")
    before = s.task("dpd_1_30")
    produced = s.step(pay("4000", "2026-02-15"))
    after = [t for t in produced if isinstance(t, CollectionTask)]
    assert len(after) == 1 and after[0].task_id == before.task_id and after[0].status == "open"
    assert after[0].amount_overdue == Decimal("6000") and after[0].priority < before.priority
    assert after[0].reason == "partial payment"


def test_story_three_new_calls_in_one_day_keep_to_the_call_cap_and_are_deferred_to_the_next_allowed_hour():
    # a loan moved onto the platform with three installments already overdue: three calls are due at once
    s = Story().run([loan(["2026-01-10", "2026-02-01", "2026-02-20", "2026-03-20"], when="2026-03-01")],
                    until="2026-03-02")
    calls = [t for t in s.tasks if t.status == "open" and t.action == "call"]
    assert len(calls) == 3
    assert sorted(t.contact_after for t in calls) == [
        "2026-03-01T10:00:00+08:00", "2026-03-02T08:00:00+08:00", "2026-03-03T08:00:00+08:00"]
    s.run([], until="2026-03-18")
    # the fourth contact in a week waits until the first leaves the 7-day window
    assert s.task("dpd_31_60", seq=2).contact_after == "2026-03-08T10:00:00+08:00"
    reminder = s.task("reminder_d3", seq=4)
    assert reminder.created_at.startswith("2026-03-17")
    assert reminder.contact_after == "2026-03-17T08:00:00+08:00"


def test_story_quiet_hours_defer_a_contact_to_the_morning():
    s = Story().run([loan(["2026-02-05"])], until="2026-02-07")  # the timer of 02-06 00:00 fires (as of midnight)
    call = s.task("dpd_1_30")
    assert call.created_at == "2026-02-06T00:00:00+08:00" and call.contact_after == "2026-02-06T08:00:00+08:00"


def test_story_a_dispute_sends_the_task_to_review_and_holds_escalation():
    s = Story().run([loan(["2026-02-05"])], until="2026-03-01")
    call = s.task("dpd_1_30")
    s.run([outcome(call.task_id, "2026-03-01", "dispute")], until="2026-03-14")
    review = s.tasks[-1]
    assert (review.task_id, review.action, review.queue, review.status) == (call.task_id, "review", "disputes", "open")
    assert not any(t.stage == "dpd_31_60" for t in s.tasks)  # day 31 passed during the review
    s.run([], until="2026-03-17")
    assert [t.stage for t in s.open_tasks().values()] == ["dpd_31_60"]
    back = next(t for t in s.tasks if t.task_id == call.task_id and t.status == "escalated")
    assert back.queue == "early" and back.action == "call"  # out of the review queue when the hold ends


def test_story_unreachable_switches_the_channel():
    s = Story().run([loan(["2026-02-05"])], until="2026-02-08")
    call = s.task("dpd_1_30")
    s.run([outcome(call.task_id, "2026-02-08", "unreachable")])
    assert (s.tasks[-1].task_id, s.tasks[-1].channel) == (call.task_id, "sms")
    assert s.tasks[-1].reason == "unreachable: switched to sms"


def test_story_an_outcome_for_a_task_no_longer_open_changes_nothing():
    s = Story().run([loan(["2026-02-05"])], until="2026-02-10")
    call = s.task("dpd_1_30")
    s.run([pay("10000", "2026-02-10")])
    assert s.step(outcome(call.task_id, "2026-02-11", "promise_to_pay", "10000", "2026-02-20")) == []


def test_story_an_outcome_for_an_unknown_loan_is_rejected():
    s = Story().run([loan(["2026-02-05"])])
    produced = [o for o in s.step(outcome("T-x", "2026-02-11", "contacted", loan_id="L-none"))
                if isinstance(o, Rejection)]
    assert len(produced) == 1 and "unknown loan L-none" in produced[0].reason


def test_story_paid_early_gets_no_task_at_all():
    s = Story().run([loan(["2026-02-05"]), pay("10000", "2026-01-30")], until="2026-03-01")
    assert s.tasks == []


def test_story_a_payment_five_days_late_opens_and_cancels_one_call_and_restarts_the_on_time_count():
    dues = months("2026-02-05", 4)
    s = Story().run([loan(dues, limit="40000"), *revenue_days("2025-12-01", "2026-05-10"),
                     pay("10000", "2026-02-05"), pay("10000", "2026-03-10"), pay("10000", "2026-04-05"),
                     pay("10000", "2026-05-05")], until="2026-05-10")
    calls = [t for t in s.tasks if t.action == "call"]
    assert [(t.installment_seq, t.status) for t in calls] == [(2, "open"), (2, "cancelled")]
    assert not any(c.action == "increase" for c in s.limits)  # only two on-time cycles since the late one


def test_story_two_installments_overdue_have_one_open_task_each():
    s = Story().run([loan(["2026-02-05", "2026-03-05", "2026-04-05"])], until="2026-03-20")
    assert sorted((t.installment_seq, t.stage) for t in s.open_tasks().values()) == [
        (1, "dpd_31_60"), (2, "dpd_1_30"), (3, "reminder_d3")] or \
        sorted((t.installment_seq, t.stage) for t in s.open_tasks().values()) == [(1, "dpd_31_60"), (2, "dpd_1_30")]


def test_story_more_than_90_days_past_due_goes_to_legal_after_each_stage():
    s = Story().run([loan(["2026-02-05"])], until="2026-05-20")
    assert [t.stage for t in s.tasks if t.status == "open" and t.action != "reminder"] == [
        "dpd_1_30", "dpd_31_60", "dpd_61_90", "dpd_90_plus"]
    assert [t.action for t in s.open_tasks().values()] == ["legal"]


def test_story_a_closed_loan_cancels_its_open_task():
    s = Story().run([loan(["2026-02-05"])], until="2026-02-10")
    s.run([ev.LoanClosed(event_id="lc-1", borrower_id="B1", occurred_at=at("2026-02-11"), loan_id="L1",
                        reason="written_off")])
    assert s.tasks[-1].status == "cancelled" and s.tasks[-1].reason == "closed"
    assert s.open_tasks() == {}


def test_story_a_repayment_delivered_twice_counts_once():
    s = Story().run([loan(["2026-02-05", "2026-03-05"])], until="2026-02-10")
    first = s.step(pay("10000", "2026-02-10", event_id="rp-dup"))
    again = s.step(pay("10000", "2026-02-10", event_id="rp-dup"))
    assert first and again == []


# --------------------------------------------------------------------------- stories: limits


def test_story_a_cured_borrower_is_frozen_then_unfrozen():
    s = Story().run([loan(["2026-02-05", "2026-03-05"]), pay("10000", "2026-02-16")], until="2026-02-20")
    assert [(c.action, c.effective_at[:10]) for c in s.limits] == [("freeze", "2026-02-12"), ("unfreeze", "2026-02-16")]
    assert all(c.old_limit == c.new_limit for c in s.limits)


def test_story_a_seasonal_textile_borrower_gets_an_uplift_before_its_peak_and_loses_it_after():
    dues = months("2026-01-20", 15)
    s = Story(replace(POLICY, limits=LimitPolicy(increase_after_cycles=99))).run(  # seasons only
        [loan(dues, sector="textile", limit="150000"),
         *revenue_days("2025-11-01", "2027-04-25", daily=6000.0, sector="textile"),
         *[pay("10000", d) for d in dues]], until="2027-04-25")
    ups = [c for c in s.limits if c.reasons[0].code == "season_ahead"]
    downs = [c for c in s.limits if c.reasons[0].code == "season_end"]
    assert ups and downs
    assert "2026-07-01" <= ups[0].effective_at[:10] <= "2026-09-30" and ups[0].status == "applied"
    assert "2026-10-15" <= downs[0].effective_at[:10] <= "2027-01-31"
    assert downs[0].new_limit == Decimal("150000.00")  # back to the base limit
    assert all(c.reasons[0].code in ("season_ahead", "season_end") for c in s.limits)


def test_story_other_lenders_money_cuts_the_limit():
    rules = load_rules(include_disabled=True)
    s = Story(replace(POLICY, rules=rules)).run(
        [loan(months("2026-02-05", 6), limit="100000"), pay("10000", "2026-02-05"), pay("10000", "2026-03-05"),
         lender("2026-02-20", "bank-A"), lender("2026-03-01", "fintech-B")])
    cuts = [c for c in s.limits if c.action == "decrease"]
    assert len(cuts) == 1 and cuts[0].effective_at.startswith("2026-03-01")
    assert (cuts[0].status, cuts[0].new_limit) == ("applied", Decimal("80000.00"))
    assert cuts[0].reasons[0].code == "warning_multi_lending"


def test_story_a_large_increase_is_only_proposed_for_review():
    dues = months("2026-02-05", 4)
    policy = replace(POLICY, limits=LimitPolicy(increase_step=0.25, review_above=0.2))
    s = Story(policy).run([loan(dues, limit="40000"), *revenue_days("2025-12-01", "2026-05-10"),
                           *[pay("10000", d) for d in dues]], until="2026-05-10")
    proposals = [c for c in s.limits if c.action == "increase"]
    assert proposals and {(c.status, c.new_limit) for c in proposals} == {("needs_review", Decimal("50000.00"))}
    assert proposals[0].effective_at.startswith("2026-04-05")  # proposed again only after the cooling-off
    assert snapshot(s.state, s.policy)["credit_limit"] == "40000"


# --------------------------------------------------------------------------- properties

days = st.integers(0, 150)
PROP_POLICY = Policy(lateness_seconds=0)


@st.composite
def histories(draw):
    n = draw(st.integers(1, 4))
    start = dt.date(2026, 1, 1)
    dues = sorted({(start + dt.timedelta(days=30 * (k + 1) + draw(st.integers(-5, 5)))).isoformat()
                   for k in range(n)})
    events: list[ev.Event] = [loan(dues, amount="1000", when="2026-01-01", limit="5000")]
    for _ in range(draw(st.integers(0, 8))):
        day = (start + dt.timedelta(days=draw(days))).isoformat()
        kind = draw(st.sampled_from(["pay", "pay", "pay", "outcome", "lender"]))
        if kind == "pay":
            events.append(pay(str(draw(st.sampled_from([300, 1000, 2000]))), day))
        elif kind == "lender":
            events.append(lender(day, draw(st.sampled_from(["x", "y", "z"]))))
        else:
            events.append(("outcome", day, draw(st.sampled_from(["promise_to_pay", "dispute", "unreachable"]))))
    events += revenue_days("2026-01-01", "2026-06-30", daily=draw(st.sampled_from([200.0, 2000.0])))
    return sorted(events, key=lambda e: e[1] if isinstance(e, tuple) else e.occurred_at.date().isoformat())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_property_tasks_and_limits_keep_their_invariants(history):
    s = Story(PROP_POLICY)
    frozen_days: set = set()
    for item in history:
        if isinstance(item, tuple):  # an outcome on whatever task is open now
            _, day, kind = item
            open_now = s.open_tasks()
            if not open_now:
                continue
            task = sorted(open_now.values(), key=lambda t: t.task_id)[0]
            by = (dt.date.fromisoformat(day) + dt.timedelta(days=5)).isoformat()
            produced = s.step(outcome(task.task_id, day, kind, "500", by))
        else:
            produced = s.step(item)
        dpd_now = snapshot(s.state, s.policy)["dpd"]
        for out in produced:
            if isinstance(out, LimitChange) and out.action == "increase" and out.status == "applied":
                assert dpd_now == 0, "never a limit increase while overdue"
        _check_open_tasks(s)
    s.out.extend(advance(s.state, int(at("2026-07-01", 0).timestamp()), s.policy))
    _check_open_tasks(s)
    paid = {(loan.loan_id, seq) for loan in s.state.loans for seq in range(1, loan.settled_seqs + 1)}
    for loan in s.state.loans:
        unpaid = {i.seq for i in loan.installments}
        for t in s.open_tasks().values():
            assert t.installment_seq in unpaid, "no open task for a fully paid installment"
    del paid, frozen_days
    amount_changes = [c for c in s.limits if c.status in ("applied", "needs_review") and c.old_limit != c.new_limit]
    for c in amount_changes:
        assert abs(c.new_limit - c.old_limit) <= c.old_limit * Decimal("0.25") + Decimal("0.01"), "maximum step"
    moments = [dt.date.fromisoformat(c.effective_at[:10]) for c in amount_changes]
    for a, b in zip(moments, moments[1:], strict=False):
        assert (b - a).days >= s.policy.limits.cooling_days, "cooling-off between changes"


def _check_open_tasks(s: Story) -> None:
    per_installment = Counter((t.loan_id, t.installment_seq) for t in s.open_tasks().values())
    assert all(n == 1 for n in per_installment.values()), f"two open tasks for one installment: {per_installment}"


def test_policy_without_reminders_still_works():
    overdue_only = CollectionPolicy(stages=tuple(x for x in DEFAULT_STAGES if not x.is_reminder))
    s = Story(replace(POLICY, collection=overdue_only)).run([loan(["2026-02-05"]), pay("10000", "2026-02-05")],
                                                           until="2026-03-01")
    assert s.tasks == []
