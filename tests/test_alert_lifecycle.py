"""The alert lifecycle: one alert per fingerprint, hysteresis, inhibition, re-notify, determinism.

Property tests drive :func:`alerts.lifecycle.reconcile` the way the core does:
a call at every change of findings and, like the core's timer, at every
:func:`next_deadline`; some drive it without the timer, or with extra calls.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.lifecycle import (
    DAY,
    LIFECYCLE_CODES,
    SEVERITIES,
    Finding,
    InhibitRule,
    LifecycleState,
    OpenAlert,
    Policy,
    has_open,
    next_deadline,
    open_types,
    reconcile,
)
from alerts.records import Alert, Reason, alert_id
from alerts.rules import evaluate, load_rules

T0 = 1_767_225_600  # 2026-01-01T08:00:00+08:00
TARGETS = ("revenue_decline", "cash_runway")
INHIBIT = (InhibitRule("delinquency", TARGETS),)
POLICY = Policy(resolve_after=7 * DAY, resolve_after_by_type={"delinquency": 0, "anomaly": 2 * DAY},
                renotify_every=7 * DAY, inhibit=INHIBIT)
CODES = {
    "revenue_decline": ("revenue_drop", "revenue_collapse"),
    "cash_runway": ("cash_runway", "cash_burn"),
    "anomaly": ("anomaly",),
    "delinquency": ("dpd_30_plus", "dpd_over_90"),
}
FINGERPRINTS = (("revenue_decline", None), ("cash_runway", None), ("anomaly", None), ("delinquency", "L1"),
                ("delinquency", "L2"))
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def finding(alert_type: str, severity: str = "warning", codes: Sequence[str] = (), loan: str | None = None,
            value: float = 1.0) -> Finding:
    codes = tuple(codes) or CODES[alert_type][:1]
    return Finding(alert_type, severity, tuple(Reason(c, f"{c} en", f"{c} zh", value, 0.0, 0.5) for c in codes),
                   loan)


def epoch(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).timestamp())


def fingerprints(findings: Sequence[Finding]) -> set[tuple[str, str]]:
    return {f.fingerprint for f in findings}


# --------------------------------------------------------------------------- strategies


@st.composite
def finding_sets(draw: st.DrawFn) -> tuple[Finding, ...]:
    chosen = draw(st.lists(st.sampled_from(FINGERPRINTS), unique=True, max_size=4))
    out = []
    for alert_type, loan in chosen:
        severity = draw(st.sampled_from(SEVERITIES))
        codes = draw(st.lists(st.sampled_from(CODES[alert_type]), min_size=1, unique=True))
        out.append(finding(alert_type, severity, codes, loan, draw(st.floats(0, 1))))
    return tuple(out)


GAPS = st.one_of(st.sampled_from([1, 3600, DAY, 2 * DAY, 7 * DAY - 1, 7 * DAY, 7 * DAY + 1, 10 * DAY]),
                 st.integers(1, 20 * DAY))


@st.composite
def histories(draw: st.DrawFn, max_size: int = 12) -> list[tuple[int, tuple[Finding, ...]]]:
    """Moments at which the findings change, ending with all of them gone."""
    steps = draw(st.lists(st.tuples(GAPS, finding_sets()), min_size=1, max_size=max_size))
    t, out = T0, []
    for gap, findings in steps:
        out.append((t, findings))
        t += gap
    out.append((t, ()))
    return out


policies = st.builds(
    lambda span, dq, renotify: Policy(resolve_after=span, resolve_after_by_type={"delinquency": dq},
                                      renotify_every=renotify, inhibit=INHIBIT),
    st.sampled_from([0, 1, 3600, 3 * DAY, 7 * DAY]),
    st.sampled_from([0, 3600]),
    st.sampled_from([0, DAY, 7 * DAY]),
)


# --------------------------------------------------------------------------- driver


@dataclass
class Run:
    records: list[Alert] = field(default_factory=list)
    calls: list[tuple[int, tuple[Finding, ...]]] = field(default_factory=list)
    state: LifecycleState = field(default_factory=LifecycleState)


def drive(history: Sequence[tuple[int, Sequence[Finding]]], policy: Policy = POLICY, *, timer: bool = True,
          extra: Sequence[int] = (), horizon_days: int = 40) -> Run:
    """Call reconcile at each change, at each deadline (``timer``) and at the ``extra`` moments.

    Between two changes the findings stay as they were. Checks, after every
    call, what must hold at all times.
    """
    run = Run()
    horizon = history[-1][0] + horizon_days * DAY
    extras = sorted(set(extra))
    k = 0

    def call(now: int, findings: Sequence[Finding]) -> None:
        out = reconcile(run.state, "B1", list(findings), now, 0.5, "normal", policy)
        run.records.extend(out)
        run.calls.append((now, tuple(findings)))
        keys = [(a.type, a.loan) for a in run.state.alerts]
        assert len(keys) == len(set(keys)), "two open alerts with one fingerprint in the state"
        assert next_deadline(run.state, policy) is None or next_deadline(run.state, policy) > now
        check_inhibition_is_current(run, policy)

    for i, (t, findings) in enumerate(history):
        call(t, findings)
        until = history[i + 1][0] if i + 1 < len(history) else horizon
        while True:
            while k < len(extras) and extras[k] <= run.state.clock:
                k += 1
            moments = [m for m in (next_deadline(run.state, policy) if timer else None,
                                   extras[k] if k < len(extras) else None) if m is not None and m < until]
            if not moments:
                break
            call(min(moments), findings)
    if not timer:
        call(horizon, ())
    return run


# --------------------------------------------------------------------------- invariants


def view_after_each_moment(records: Sequence[Alert]):
    """The risk desk's view (last record per id) after each moment's records."""
    view: dict[str, Alert] = {}
    for _, group in itertools.groupby(records, key=lambda r: epoch(r.updated_at)):
        group = list(group)
        for r in group:
            view[r.alert_id] = r
        yield group, view


def open_inhibitors(view: dict[str, Alert]) -> set[str]:
    return {a.alert_id for a in view.values()
            if a.type == "delinquency" and a.severity == "critical" and a.status != "resolved"}


def check_inhibition_is_current(run: Run, policy: Policy) -> None:
    """After a call, every active target alert's last record is inhibited iff an inhibitor is open."""
    view = {r.alert_id: r for r in run.records}
    inhibitors = open_inhibitors(view)
    for a in run.state.alerts:
        if a.clear_since:
            continue
        last = view[alert_id("B1", a.type, a.loan or None, a.opened)]
        if a.type in TARGETS and last.severity in ("info", "warning") and inhibitors:
            assert last.inhibited_by in inhibitors
        else:
            assert last.inhibited_by is None


def check_records(run: Run, policy: Policy) -> None:
    records = run.records
    # one open alert per fingerprint, a sane status sequence per id, time never runs backwards
    last: dict[str, Alert] = {}
    moment = 0
    for r in records:
        assert epoch(r.updated_at) >= moment
        moment = epoch(r.updated_at)
        prev = last.get(r.alert_id)
        if prev is None:
            assert r.status == "open" and r.opened_at == r.updated_at
        else:
            assert prev.status != "resolved" and r.status != "open"
            assert r.opened_at == prev.opened_at
        last[r.alert_id] = r
        still_open = Counter((a.type, a.loan_id) for a in last.values() if a.status != "resolved")
        assert max(still_open.values(), default=0) <= 1
    # every record is explained; inhibition is said in a reason
    for r in records:
        assert r.reasons
        assert (r.inhibited_by is not None) == any(x.code == "inhibited" for x in r.reasons)
    # inhibition is recorded as it stands at that moment
    for group, view in view_after_each_moment(records):
        inhibitors = open_inhibitors(view)
        for r in group:
            if r.status == "resolved":
                continue
            if r.type in TARGETS and r.severity in ("info", "warning") and inhibitors:
                assert r.inhibited_by in inhibitors
            else:
                assert r.inhibited_by is None
    # updated only for a change of severity, codes or inhibitor, or as a reminder on the re-notify grid
    prev_of: dict[str, Alert] = {}
    for r in records:
        prev = prev_of.get(r.alert_id)
        if r.status == "updated":
            assert prev is not None

            def codes(a: Alert) -> list[str]:
                return sorted({x.code for x in a.reasons} - LIFECYCLE_CODES)

            changed = (r.severity, codes(r), r.inhibited_by) != (prev.severity, codes(prev), prev.inhibited_by)
            reminder = any(x.code == "reminder" for x in r.reasons)
            assert changed != reminder
            if reminder:
                gap = epoch(r.updated_at) - epoch(prev.updated_at)
                assert policy.renotify_every and gap >= policy.renotify_every
                assert gap % policy.renotify_every == 0
                assert r.inhibited_by is None
        prev_of[r.alert_id] = r


def check_resolutions(run: Run, policy: Policy) -> None:
    """Resolved exactly when the finding has been absent for the span, never before; everything resolves."""
    for r in run.records:
        if r.status != "resolved":
            continue
        fp = (r.type, r.loan_id or "")
        resolved, opened = epoch(r.updated_at), epoch(r.opened_at)
        present = [t for t, fs in run.calls if opened <= t <= resolved and fp in fingerprints(fs)]
        assert present and present[0] == opened
        cleared = min(t for t, _ in run.calls if t > present[-1])
        assert cleared <= resolved
        assert resolved == max(cleared + policy.span(r.type), opened + 1)
    last = {r.alert_id: r for r in run.records}
    assert all(r.status == "resolved" for r in last.values())
    assert run.state.alerts == []


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(histories(), policies, st.booleans())
def test_never_two_open_alerts_with_one_fingerprint_and_every_update_has_a_reason(history, policy, timer):
    run = drive(history, policy, timer=timer)
    check_records(run, policy)


@PROPERTY
@given(histories(), policies, st.booleans())
def test_an_alert_whose_condition_is_gone_resolves_after_the_span_and_not_before(history, policy, timer):
    run = drive(history, policy, timer=timer)
    check_resolutions(run, policy)


@PROPERTY
@given(histories(), policies, st.lists(st.integers(0, 120 * DAY), max_size=25))
def test_outputs_do_not_depend_on_extra_calls_without_changes(history, policy, offsets):
    plain = drive(history, policy)
    busy = drive(history, policy, extra=[T0 + x for x in offsets])
    assert busy.records == plain.records
    assert busy.state.alerts == plain.state.alerts


@PROPERTY
@given(histories(max_size=6), policies, st.lists(st.integers(0, 60 * DAY), max_size=10))
def test_without_the_timer_the_same_alerts_open_and_resolve_at_the_same_moments(history, policy, offsets):
    """Deadlines found late are applied at their own moment: the same open/resolved records."""
    def lifecycle(run: Run) -> list[tuple[str, str, str]]:
        return [(r.alert_id, r.status, r.updated_at) for r in run.records if r.status in ("open", "resolved")]

    timed = drive(history, policy)
    late = drive(history, policy, timer=False, extra=[T0 + x for x in offsets])
    assert lifecycle(late) == lifecycle(timed)


@PROPERTY
@given(st.lists(st.tuples(st.integers(1, 10), st.integers(0, 6)), min_size=2, max_size=10))
def test_a_condition_that_flickers_within_the_span_gives_one_alert(runs):
    """Present for some days, absent for fewer than the 7-day span, again and again: one id."""
    history, day = [], 0
    for present_days, absent_days in runs:
        history.append((T0 + day * DAY, (finding("revenue_decline"),)))
        day += present_days
        if absent_days:
            history.append((T0 + day * DAY, ()))
            day += absent_days
    history.append((T0 + day * DAY, ()))
    run = drive(history)
    assert len({r.alert_id for r in run.records}) == 1
    assert [r.status for r in run.records].count("open") == 1
    assert [r.status for r in run.records].count("resolved") == 1
    assert all("reminder" in {x.code for x in r.reasons} for r in run.records if r.status == "updated")


@PROPERTY
@given(st.lists(st.tuples(st.integers(1, 10), st.floats(0.20, 0.45), st.integers(0, 6), st.floats(0.0, 0.149)),
                min_size=2, max_size=10),
       st.floats(0.30, 0.45))
def test_revenue_hovering_around_the_threshold_for_weeks_gives_at_most_one_alert(runs, first):
    """With the default rules: value around the 30% threshold, short dips below `clear`, for weeks."""
    rules = load_rules(include_disabled=True)  # every rule, switched off by default or not
    state, records, day = LifecycleState(), [], 0
    last: list[Finding] = []

    def at(d: int, value: float) -> None:
        nonlocal last
        now = T0 + d * DAY
        while (deadline := next_deadline(state, rules.policy)) is not None and deadline < now:
            records.extend(reconcile(state, "B1", last, deadline, 0.1, "normal", rules.policy))
        last = evaluate(rules, {"revenue_drop_ratio": value, "revenue_drop_days": 21}, {},
                        open_types=open_types(state))
        records.extend(reconcile(state, "B1", last, now, 0.1, "normal", rules.policy))

    at(0, first)
    for high_days, high, low_days, low in runs:
        for _ in range(high_days):
            day += 1
            at(day, high)
        for _ in range(low_days):
            day += 1
            at(day, low)
    assert len({r.alert_id for r in records}) == 1
    assert [r.status for r in records].count("open") == 1
    assert {r.severity for r in records} == {"warning"}
    assert all("reminder" in {x.code for x in r.reasons} for r in records if r.status == "updated")


@PROPERTY
@given(st.lists(st.floats(0.40, 0.60), min_size=7, max_size=90))
def test_severity_hovering_at_the_critical_boundary_does_not_flap(values):
    """Up at once, down only after the lower level has lasted the span: few severity changes."""
    rules = load_rules(include_disabled=True)  # every rule, switched off by default or not
    span_days = rules.policy.span("revenue_decline") // DAY
    state, records, last = LifecycleState(), [], []
    for day, value in enumerate(values):
        now = T0 + day * DAY
        while (deadline := next_deadline(state, rules.policy)) is not None and deadline < now:
            records.extend(reconcile(state, "B1", last, deadline, 0.1, "normal", rules.policy))
        last = evaluate(rules, {"revenue_drop_ratio": value, "revenue_drop_days": 21}, {},
                        open_types=open_types(state))
        records.extend(reconcile(state, "B1", last, now, 0.1, "normal", rules.policy))
    assert len({r.alert_id for r in records}) == 1
    severities = [r.severity for r in records]
    changes = sum(1 for a, b in itertools.pairwise(severities) if a != b)
    downs = sum(1 for a, b in itertools.pairwise(severities) if (a, b) == ("critical", "warning"))
    assert downs <= len(values) // span_days
    assert changes <= 2 * downs + 1


@PROPERTY
@given(st.integers(1, 120), st.lists(st.integers(1, 120 * DAY), max_size=20), st.sampled_from([DAY, 7 * DAY]))
def test_an_alert_left_open_is_sent_again_on_the_renotify_cadence(days, extra, every):
    policy = Policy(renotify_every=every, inhibit=INHIBIT)
    steady = (finding("cash_runway"),)
    end = T0 + days * DAY
    run = drive([(T0, steady), (end, ())], policy, extra=[T0 + x for x in extra if x < days * DAY])
    times = [epoch(r.updated_at) for r in run.records if r.status != "resolved"]
    assert times == list(range(T0, end, every))
    assert all(x.code == "reminder" for r in run.records[1:-1] for x in r.reasons[-1:])


# --------------------------------------------------------------------------- scenarios


def statuses(records: Sequence[Alert]) -> list[tuple[str, str, str, bool]]:
    return [(r.updated_at[:10], r.type, r.status, r.inhibited_by is not None) for r in records]


def test_a_warning_opens_once_and_resolves_seven_days_after_its_condition_is_gone():
    run = drive([(T0, (finding("revenue_decline"),)), (T0 + 3 * DAY, ())])
    assert statuses(run.records) == [("2026-01-01", "revenue_decline", "open", False),
                                     ("2026-01-11", "revenue_decline", "resolved", False)]
    resolved = run.records[-1]
    assert resolved.updated_at == "2026-01-11T08:00:00+08:00"
    assert resolved.reasons[0].code == "condition_cleared"
    assert resolved.reasons[0].message == ("The revenue decline condition has not been seen since "
                                           "2026-01-04 08:00, for the full hysteresis span of 7 days; "
                                           "the alert is resolved.")


def test_a_finding_back_within_the_span_keeps_the_alert_and_a_new_episode_gets_a_new_id():
    f = (finding("revenue_decline"),)
    run = drive([(T0, f), (T0 + DAY, ()), (T0 + 7 * DAY, f), (T0 + 8 * DAY, ()), (T0 + 30 * DAY, f),
                 (T0 + 31 * DAY, ())])
    opened = [r for r in run.records if r.status == "open"]
    assert [r.updated_at[:10] for r in opened] == ["2026-01-01", "2026-01-31"]
    assert opened[0].alert_id != opened[1].alert_id
    assert [r.status for r in run.records if r.alert_id == opened[0].alert_id] == ["open", "resolved"]
    assert opened[0].alert_id == alert_id("B1", "revenue_decline", None, T0)


def test_values_drifting_do_not_update_but_a_new_reason_code_or_higher_severity_does():
    p = Policy(renotify_every=0)
    s = LifecycleState()
    assert [a.status for a in reconcile(s, "B1", [finding("revenue_decline", value=0.31)], T0, 0, "n", p)] == ["open"]
    assert reconcile(s, "B1", [finding("revenue_decline", value=0.39)], T0 + DAY, 0, "n", p) == []
    two = finding("revenue_decline", codes=("revenue_drop", "revenue_collapse"))
    [a] = reconcile(s, "B1", [two], T0 + 2 * DAY, 0, "n", p)
    assert (a.status, [r.code for r in a.reasons]) == ("updated", ["revenue_drop", "revenue_collapse"])
    [a] = reconcile(s, "B1", [finding("revenue_decline", "critical", ("revenue_drop", "revenue_collapse"))],
                    T0 + 3 * DAY, 0, "n", p)
    assert (a.status, a.severity) == ("updated", "critical")


def test_a_fall_in_severity_is_emitted_only_once_it_has_lasted_the_span():
    p = Policy(renotify_every=0)
    s = LifecycleState()
    reconcile(s, "B1", [finding("cash_runway", "critical")], T0, 0, "n", p)
    assert reconcile(s, "B1", [finding("cash_runway", "warning")], T0 + DAY, 0, "n", p) == []
    assert next_deadline(s, p) == T0 + 8 * DAY
    [a] = reconcile(s, "B1", [finding("cash_runway", "warning")], T0 + 9 * DAY, 0, "n", p)
    assert (a.status, a.severity, a.updated_at[:10]) == ("updated", "warning", "2026-01-09")


def test_critical_delinquency_inhibits_the_revenue_warning_and_both_resolve_when_the_loan_is_cured():
    """The acceptance story, with the default rules: 30+ DPD inhibits, cure releases, both resolve."""
    rules = load_rules(include_disabled=True)  # every rule, switched off by default or not
    state, records, last = LifecycleState(), [], []

    def day(d: int, drop: float, dpd: int) -> None:
        nonlocal last
        now = T0 + d * DAY
        while (deadline := next_deadline(state, rules.policy)) is not None and deadline < now:
            records.extend(reconcile(state, "B1", last, deadline, 0.3, "special_mention", rules.policy))
        last = (evaluate(rules, {"revenue_drop_ratio": drop, "revenue_drop_days": 21}, {},
                         open_types=open_types(state))
                + evaluate(rules, {"dpd": dpd}, {}, loan_id="L1", open_types=open_types(state, "L1")))
        records.extend(reconcile(state, "B1", last, now, 0.3, "special_mention", rules.policy))

    day(0, 0.40, 0)
    day(2, 0.40, 30)
    day(5, 0.40, 12)  # partly paid: still overdue, the delinquency alert stays open
    day(9, 0.40, 0)  # cured
    day(10, 0.05, 0)  # revenue back too
    day(30, 0.05, 0)
    assert statuses(records) == [
        ("2026-01-01", "revenue_decline", "open", False),
        ("2026-01-03", "delinquency", "open", False),
        ("2026-01-03", "revenue_decline", "updated", True),
        ("2026-01-10", "delinquency", "resolved", False),
        ("2026-01-10", "revenue_decline", "updated", False),
        ("2026-01-18", "revenue_decline", "resolved", False),
    ]
    inhibitor = records[1].alert_id
    assert records[2].inhibited_by == inhibitor and records[1].loan_id == "L1"
    held = records[2].reasons[-1]
    assert held.code == "inhibited" and inhibitor in held.message and "L1" in held.message_zh
    assert records[4].reasons[-1].code == "inhibition_lifted"
    assert records[3].reasons[0].message == ("Loan L1 is no longer past due (repaid, cured or closed); "
                                             "the delinquency alert is resolved.")


def test_an_inhibited_alert_whose_condition_clears_is_still_resolved():
    dq, rv = finding("delinquency", "critical", loan="L1"), finding("revenue_decline")
    run = drive([(T0, (dq, rv)), (T0 + DAY, (dq,)), (T0 + 20 * DAY, ())])
    resolved = [r for r in run.records if r.status == "resolved"]
    assert [(r.type, r.updated_at[:10]) for r in resolved] == [("revenue_decline", "2026-01-09"),
                                                                ("delinquency", "2026-01-21")]
    assert resolved[0].inhibited_by == run.records[0].alert_id  # resolved while inhibited, and says so
    assert [x.code for x in resolved[0].reasons] == ["condition_cleared", "inhibited"]


def test_an_inhibited_alert_is_not_reminded_and_a_critical_target_is_not_inhibited():
    dq = finding("delinquency", "critical", loan="L1")
    run = drive([(T0, (dq, finding("revenue_decline"), finding("cash_runway", "critical"))),
                 (T0 + 20 * DAY, ())])
    by_type = {t: [r for r in run.records if r.type == t] for t in ("revenue_decline", "cash_runway")}
    assert [r.status for r in by_type["revenue_decline"]] == ["open", "resolved"]
    assert by_type["revenue_decline"][0].inhibited_by is not None
    assert [r.status for r in by_type["cash_runway"]] == ["open", "updated", "updated", "resolved"]
    assert all(r.inhibited_by is None for r in by_type["cash_runway"])


def test_an_escalating_delinquency_inhibits_in_the_same_moment():
    s, p = LifecycleState(), POLICY
    reconcile(s, "B1", [finding("delinquency", "warning", loan="L1"), finding("revenue_decline")], T0, 0, "n", p)
    out = reconcile(s, "B1", [finding("delinquency", "critical", loan="L1"), finding("revenue_decline")],
                    T0 + DAY, 0, "n", p)
    assert [(a.type, a.status, a.inhibited_by is not None) for a in out] == [
        ("delinquency", "updated", False), ("revenue_decline", "updated", True)]


def test_delinquency_resolves_at_once_but_not_in_the_second_it_opened():
    s, p = LifecycleState(), POLICY
    dq = finding("delinquency", "critical", loan="L1")
    reconcile(s, "B1", [dq], T0, 0, "n", p)
    assert reconcile(s, "B1", [], T0, 0, "n", p) == []  # same second: waits one second
    assert next_deadline(s, p) == T0 + 1
    [a] = reconcile(s, "B1", [], T0 + 1, 0, "n", p)
    assert a.status == "resolved"
    [b] = reconcile(s, "B1", [dq], T0 + 1, 0, "n", p)
    assert b.status == "open" and b.alert_id != a.alert_id


def test_time_never_runs_backwards():
    s, p = LifecycleState(), POLICY
    reconcile(s, "B1", [finding("anomaly")], T0 + DAY, 0, "n", p)
    [a] = reconcile(s, "B1", [finding("anomaly", "critical")], T0, 0, "n", p)
    assert a.updated_at == "2026-01-02T08:00:00+08:00"


def test_timestamps_are_iso_8601_in_the_policy_time_zone():
    [a] = reconcile(LifecycleState(), "B1", [finding("anomaly")], T0, 0, "n", Policy(timezone="UTC"))
    assert (a.opened_at, a.updated_at) == ("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00")


def test_duplicate_findings_for_one_fingerprint_merge_into_one_alert():
    s = LifecycleState()
    out = reconcile(s, "B1", [finding("revenue_decline"), finding("revenue_decline", "critical",
                                                                   ("revenue_collapse",))], T0, 0, "n", POLICY)
    [a] = out
    assert a.severity == "critical" and [r.code for r in a.reasons] == ["revenue_drop", "revenue_collapse"]
    with pytest.raises(ValueError, match="severity 'urgent'"):
        reconcile(s, "B1", [finding("anomaly", "urgent")], T0, 0, "n", POLICY)


def test_the_state_is_tiny_and_round_trips_through_msgpack():
    s = LifecycleState()
    reconcile(s, "B1", [finding("delinquency", "critical", ("dpd_over_90",), loan="LN-2026-00012345"),
                        finding("revenue_decline", codes=("revenue_drop", "revenue_collapse")),
                        finding("cash_runway"), finding("anomaly", "info")], T0, 0, "n", POLICY)
    reconcile(s, "B1", [finding("delinquency", "critical", ("dpd_over_90",), loan="LN-2026-00012345")],
              T0 + DAY, 0, "n", POLICY)
    raw = msgspec.msgpack.encode(s)
    assert msgspec.msgpack.decode(raw, type=LifecycleState) == s
    assert len(s.alerts) == 4
    assert len(raw) <= 120 * len(s.alerts)
    for a in s.alerts:
        assert len(msgspec.msgpack.encode(a)) <= 120
    assert has_open(s) and open_types(s, "LN-2026-00012345") == {"delinquency"}
    assert isinstance(s.alerts[0], OpenAlert)
