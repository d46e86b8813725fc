"""The pure core: ``step(state, event)`` and ``advance(state, now)``.

One function handles one event for one borrower; another moves the borrower's
time forward so that what happens by the mere passing of time (a due date
passing unpaid, DPD reaching a new stage) is seen. The live worker and the
offline replay are thin loops around these two. Nothing here does I/O or reads
the clock: time is the events' ``occurred_at``, or the ``now`` a shell passes
to :func:`advance` (the wall clock in live mode, event time in replay).

Timer rule, the same everywhere: a moment ``m`` (an installment reaching a DPD
threshold) fires once time has passed ``m + lateness``, and is evaluated *as of*
``m``. Events that arrive up to ``lateness`` late are therefore applied before
the timers they could change, and the outputs do not depend on when a shell
happened to advance time.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from alerts import contact, lifecycle
from alerts.classification import ClassThresholds, risk_class
from alerts.collection import CollectionPolicy, Stage
from alerts.limits import LimitPolicy
from alerts.records import Alert, CollectionTask, LimitChange, record_id
from alerts.rules import RuleSet, evaluate, load_rules
from detectors import cashflow, default_model, dormancy, outage, repayment, revenue
from detectors.features import pack
from detectors.limit import LimitModel, LimitState, note_settled
from streams import events as ev
from streams.core import credit, signals
from streams.core.shared import Partition
from streams.core.state import (
    ID_BYTES,
    BorrowerState,
    Contribution,
    Held,
    Installment,
    Loan,
    OpenTask,
    has_id,
    id_key,
)

ZERO = Decimal(0)
DAY = 86_400


@dataclass(frozen=True, slots=True)
class Policy:
    """What the core needs from the settings, read once and passed down."""

    timezone: str = "Asia/Shanghai"
    lateness_seconds: int = 2 * 3600
    grace_days: int = 0
    alert_dpd: int = 30
    recent_ids: int = 24  # event ids kept per borrower to recognise a re-delivery (repayments: all, per loan)
    dormancy: dormancy.DormancyPolicy = dormancy.DEFAULT_POLICY  # the silent-feed detector's (public holidays)
    default_dpd: int = 90  # a borrower reaching this DPD is a positive label of the PD model
    label_horizon_days: int = 90  # ... for the features it had this long before (a negative: survived that long)
    pd_min_positives: int = 20  # defaults a partition's PD model must learn before it gets any weight
    pd_prior_labels: int = 500  # labels at which the learned PD and the rule prior weigh the same
    collection: CollectionPolicy = field(default_factory=CollectionPolicy)
    classes: ClassThresholds = field(default_factory=ClassThresholds)
    rules: Any = None  # alerts.rules.RuleSet; None: the packaged alerts/rules.toml
    limits: LimitPolicy = field(default_factory=LimitPolicy)
    contact: contact.ContactPolicy = field(default_factory=contact.ContactPolicy)
    limit_model: LimitModel = field(default_factory=LimitModel)
    repayment_policy: repayment.RepaymentPolicy = field(init=False, repr=False, compare=False)
    tz: ZoneInfo = field(init=False, repr=False, compare=False)
    signals_used: frozenset[str] = field(init=False, repr=False, compare=False)
    alert_bands: tuple[int, ...] = field(init=False, repr=False, compare=False)
    timer_dpds: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # DPD levels at which an open delinquency alert is updated: it opens, then the class changes
        bands = {self.alert_dpd, self.classes.substandard_dpd + 1, self.classes.doubtful_dpd + 1,
                 self.classes.loss_dpd + 1}
        object.__setattr__(self, "alert_bands", tuple(sorted(x for x in bands if x >= self.alert_dpd)))
        # DPD levels at which something may change: the timers of an unpaid installment
        timers = {x for x in (self.grace_days + 1, *self.alert_bands, *self.collection.thresholds(),
                              self.limits.freeze_dpd) if x > self.grace_days}
        timers |= {x for x in self.collection.thresholds() if x < 0}  # pre-due reminders
        object.__setattr__(self, "timer_dpds", tuple(sorted(timers)))
        object.__setattr__(self, "tz", ZoneInfo(self.timezone))
        object.__setattr__(self, "repayment_policy", repayment.RepaymentPolicy(grace_days=self.grace_days))
        if self.rules is None:
            object.__setattr__(self, "rules", load_rules(timezone=self.timezone))
        object.__setattr__(self, "signals_used", frozenset(r.signal for r in self.rules.rules))

    @property
    def ruleset(self) -> RuleSet:
        return self.rules  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Rejection:
    """A valid event the core cannot apply (e.g. a repayment for an unknown loan)."""

    event_id: str
    borrower_id: str
    reason: str
    kind: str = "rejection"
    event: Any = field(default=None, compare=False, repr=False)  # the event, for its dead letter


Output = Alert | CollectionTask | LimitChange | Rejection

def event_hash(event_id: str) -> int:
    """A stable 64-bit hash of an event id (Python's ``hash`` is salted per process).

    >>> event_hash("rp-1") == event_hash("rp-1")
    True
    """
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big")


def epoch(t: dt.datetime) -> int:
    return int(t.timestamp())


def local_day(t: int, policy: Policy) -> int:
    """The borrower's local calendar day (ordinal) at epoch second ``t``.

    Every time zone's midnight falls on a quarter hour, so the day is the same
    within a quarter-hour bucket: cached by bucket.
    """
    return _local_day(t - t % 900, policy.timezone)


def day_start(ordinal: int, policy: Policy) -> int:
    """Epoch second at which local day ``ordinal`` starts."""
    return _day_start(ordinal, policy.timezone)


@functools.lru_cache(maxsize=1 << 16)
def _local_day(bucket: int, zone: str) -> int:
    return dt.datetime.fromtimestamp(bucket, ZoneInfo(zone)).date().toordinal()


@functools.lru_cache(maxsize=1 << 16)
def _day_start(ordinal: int, zone: str) -> int:
    d = dt.date.fromordinal(ordinal)
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(zone)).timestamp())


def iso(t: int, policy: Policy) -> str:
    return dt.datetime.fromtimestamp(t, policy.tz).isoformat()


# --------------------------------------------------------------------------- step


def new_state(borrower_id: str) -> BorrowerState:
    return BorrowerState(borrower_id=borrower_id)


def step(state: BorrowerState, event: ev.Event, policy: Policy, part: Partition | None = None) -> list[Output]:
    """Take one event into the borrower's state (in place) and return the outputs now due.

    Events are applied in event-time order, not in arrival order: an event is
    held until the borrower's clock (the latest ``occurred_at`` seen, or a
    tick's time in :func:`advance`) is ``lateness_seconds`` past it, then
    applied with the timers due before it, each as of its own moment. So the
    records do not depend on the arrival order of events within the allowed
    lateness. An event later than that is applied at once, as of the time
    already reached. A re-delivered event (same ``event_id``) changes nothing
    and returns nothing.

    ``part``: what the borrowers of the partition share
    (:class:`streams.core.shared.Partition`): the outage days of its feed
    board do not count as the borrower's silence, and the risk score comes
    from its models, to which the borrower's reconciles contribute (kept in
    the state until the partition learns them). ``None`` (a single borrower on
    its own): no outages are known and the risk score is the rule-based prior.
    """
    h = event_hash(event.event_id)
    seen = id_key(h)
    if has_id(state.seen_ids, seen) or any(x.h == h for x in state.held):
        return []
    t = epoch(event.occurred_at)
    state.clock = max(state.clock, t)
    state.seen_ids = (state.seen_ids + seen)[-max(policy.recent_ids, 1) * ID_BYTES:]
    state.events_applied += 1  # taken in: applied now or held
    if isinstance(event, ev.Revenue):  # as it arrives: the partition counts who reported for each day
        _note_report(state, local_day(t, policy), event.source)
    outputs: list[Output] = []
    if t <= state.advanced_to:  # later than the allowed lateness: time has moved on without it
        outputs.extend(_apply_event(state, event, t, h, state.advanced_to, policy, part))
    else:
        at, key = len(state.held), _order(t, h, event)
        while at and _order(state.held[at - 1].t, state.held[at - 1].h, state.held[at - 1].event) > key:
            at -= 1
        state.held.insert(at, Held(t, h, event))
    outputs.extend(advance(state, state.clock, policy, part=part))
    return outputs


def _order(t: int, h: int, event: ev.Event) -> tuple[int, int, int]:
    """Event-time order; at the same second our own records (loans, repayments) before the account feeds."""
    return t, isinstance(event, _NO_LEDGER), h


def advance(state: BorrowerState, now: int, policy: Policy, *, final: bool = False,
            part: Partition | None = None) -> list[Output]:
    """Move the borrower's time to ``now`` (epoch seconds) less the allowed lateness.

    The held events and the timers due by then are applied in time order, a
    timer before an event of the same second, each as of its own moment.
    ``final``: the end of a replay, when no more events can come, so nothing
    waits for the lateness.
    """
    limit = now if final else now - policy.lateness_seconds
    outputs: list[Output] = []
    while True:
        timer = state.next_at if state.next_at and state.next_at <= limit else None
        held = state.held[0] if state.held and state.held[0].t <= limit else None
        if held is not None and (timer is None or held.t < timer):
            del state.held[0]
            state.advanced_to = max(state.advanced_to, held.t)
            outputs.extend(_apply_event(state, held.event, held.t, held.h, held.t, policy, part))
        elif timer is not None:
            moment = state.advanced_to = timer
            if state.revenue is not None and state.feed is not None:
                # a day is over: close the revenue days before yesterday's, but not past the feed's last
                # report: days after it are unknown (a silent feed is dormancy's), not days without a sale
                last = min(local_day(moment, policy) - 1, state.feed.last_day + 1)
                revenue.advance(state.revenue, last, state.sector or None)
            outputs.extend(_reconcile(state, moment, moment, policy, part, timer=True))
            state.next_at = next_timer(state, policy, part) or 0
        else:
            break
    state.advanced_to = max(state.advanced_to, limit)
    return outputs


def _apply_event(state: BorrowerState, event: ev.Event, t: int, h: int, as_of: int,
                 policy: Policy, part: Partition | None) -> list[Output]:
    """Apply one event to the ledgers and detectors and reconcile what it changes, as of ``as_of``."""
    outputs: list[Output] = []
    rejection = _apply(state, event, t, h, policy, part)
    if rejection is not None:
        outputs.append(Rejection(event.event_id, event.borrower_id, rejection, event=event))
    elif isinstance(event, _NO_LEDGER):
        if _signals_may_change(state, event, policy):
            today = local_day(as_of, policy) if as_of else 0
            dpds = _dpds(state, today, policy)
            worst = max(dpds.values(), default=0)
            reading = _read(state, today, as_of, worst, part, policy)
            _contribute(state, today, as_of, worst, reading, part, policy)
            changed = _reconcile_alerts(state, t, policy, reading, dpds)
            if changed:  # an alert opened, changed or resolved: the credit line may have to follow (same reading)
                outputs.extend(changed)
                outputs.extend(credit.review(state, today, as_of, worst, reading, iso(t, policy), policy))
    else:
        if isinstance(event, ev.CollectionOutcome):
            outputs.extend(_outcome(state, event, t, policy, part))
        outputs.extend(_reconcile(state, as_of, t, policy, part))
    state.next_at = next_timer(state, policy, part) or 0
    return outputs


def next_wake(state: BorrowerState, policy: Policy) -> int | None:
    """When the borrower next needs time to pass: its next timer or its earliest held event.

    The shell ticks the borrower once its clock is ``lateness_seconds`` past this. The timer is the
    one :func:`step` and :func:`advance` keep in ``next_at`` (they know the partition's outages).
    """
    moments = [m for m in (state.next_at, state.held[0].t if state.held else None) if m]
    return min(moments, default=None)


def next_timer(state: BorrowerState, policy: Policy, part: Partition | None = None) -> int | None:
    """The earliest moment after ``advanced_to`` at which something may change."""
    today = local_day(state.advanced_to, policy) if state.advanced_to else None
    best: int | None = None
    for loan in state.loans:
        if loan.closed:
            continue
        for inst in loan.installments:
            if inst.outstanding <= 0:
                continue
            for k in policy.timer_dpds:
                day = inst.due + k
                if today is not None and day <= today:
                    continue
                moment = day_start(day, policy)
                if moment > state.advanced_to and (best is None or moment < best):
                    best = moment
                break
    for loan in state.loans:  # a promise or a dispute that runs out: escalation is looked at again
        for task in loan.tasks:
            if task.hold_until:
                expiry = day_start(task.hold_until + 1, policy)
                if expiry > state.advanced_to and (best is None or expiry < best):
                    best = expiry
    deadline = lifecycle.next_deadline(state.alerts, policy.ruleset.policy)
    if deadline is not None and deadline > state.advanced_to and (best is None or deadline < best):
        best = deadline
    if state.feed is not None and state.feed.last_day and today is not None \
            and "dormant_days" in policy.signals_used:
        # the feed's silence reaching a warning or critical level
        silent = _silence_day(state, today, _excused(state, today, part), policy)
        if silent is not None:
            moment = day_start(silent, policy)
            if best is None or moment < best:
                best = moment
    return best


def _excused(state: BorrowerState, today: int, part: Partition | None) -> int:
    """Days of the revenue feed's silence so far that were outage days of its source (not the borrower's)."""
    if part is None or state.feed is None or not state.feed.last_day or not state.source:
        return 0
    return outage.excused(part.board, state.source, state.feed.last_day + 1, today - 1)


def _outage_in_gap(state: BorrowerState, day: int, part: Partition | None) -> tuple[int, int] | None:
    """The outage days of the borrower's source between its last revenue report and ``day`` (None: none)."""
    if part is None or state.feed is None or not state.feed.last_day or not state.source:
        return None
    return outage.outage_within(part.board, state.source, state.feed.last_day + 1, day - 1)


def _read(state: BorrowerState, today: int, now: int, dpd: int, part: Partition | None,
          policy: Policy) -> signals.Reading:
    """The detectors' signals, scored with the partition's models of the day (the rule prior without them)."""
    if part is None:
        return signals.read(state, today, now, dpd, silence_policy=policy.dormancy)
    anomaly, pd = part.version(today)
    return signals.read(state, today, now, dpd, excused=_excused(state, today, part), pd=pd, anomaly=anomaly,
                        silence_policy=policy.dormancy)


def _note_report(state: BorrowerState, day: int, source: str) -> None:
    """A revenue report arrived for local ``day``: remember it among the last 8 days (a bit each)."""
    state.source = source
    if day > state.report_day:
        shift = day - state.report_day
        state.reported = ((state.reported << shift) | 1) & 0xFF if shift < 8 else 1
        state.report_day = day
    elif state.report_day - day < 8:
        state.reported |= 1 << (state.report_day - day)


_CONTRIB_DAYS = 5  # contributions are kept this many days: the partition learns them two days on


def _contribute(state: BorrowerState, today: int, moment: int, dpd: int, reading: signals.Reading,
                part: Partition | None, policy: Policy) -> None:
    """What the borrower gives the shared models at a reconcile, kept in its state until the partition learns
    it: its first reconcile of a day gives an anomaly sample and feeds its label memory (an aged snapshot is
    a negative); reaching default gives the positive."""
    if part is None:
        return
    given: list[tuple[list[int], int]] = []
    if today > state.sampled_day and not state.defaulted:
        state.sampled_day = today
        if state.labels is None:
            state.labels = default_model.LabelMemory()
        if "anomaly_score" in policy.signals_used:  # the anomaly model learns only while a rule reads it
            given.append((pack(reading.features), -1))
        for x, y in default_model.remember(state.labels, today, reading.features, policy.label_horizon_days):
            given.append((pack(x), int(y)))
    if dpd >= policy.default_dpd and not state.defaulted:
        state.defaulted = True
        label = default_model.on_default(state.labels or default_model.LabelMemory(), today,
                                         policy.label_horizon_days)
        state.labels = None
        if label is not None:
            given.append((pack(label[0]), 1))
    if given or state.contrib:
        state.contrib = [c for c in state.contrib if c.day > today - _CONTRIB_DAYS]
        state.contrib.extend(Contribution(today, moment, x, y) for x, y in given)


def _silence_day(state: BorrowerState, today: int, excused: int, policy: Policy) -> int | None:
    """The next day on which the revenue feed's silence crosses a level of the rules on ``dormant_days``.

    ``dormant_days`` counts complete quiet days (signals.read: the days before
    today) once more than the borrower's own threshold have passed
    (detectors.dormancy), so a level of ``n`` days is reached at the start of
    day ``last + n + 1``; each rule's level is read from the rule set (a
    multiple of the whole days allowed, with its floor, for a baseline-scaled
    rule). ``excused``: outage days of its source so far, not its silence.
    """
    assert state.feed is not None
    threshold = dormancy.silent_since(state.feed, today, policy.dormancy, excused=excused).threshold
    last = state.feed.last_day
    allowed = math.floor(threshold)  # the whole quiet days the rhythm allows (signals.read's baseline)
    days = []
    for rule in policy.ruleset.rules:
        if rule.signal != "dormant_days" or rule.op not in (">=", ">"):
            continue
        for level in rule.levels:
            need = max(level.threshold * (allowed if rule.scale == "baseline" else 1), rule.floor or 0.0)
            first = math.floor(need) + 1 if rule.op == ">" else math.ceil(need)  # the least whole days that do
            days.append(last + max(first, allowed + 1) + 1)  # silent first: more than the days allowed
    return min((d for d in days if d > today), default=None)


# --------------------------------------------------------------------------- apply

# events that do not touch the loan ledgers: no tasks or delinquency alerts can change
_NO_LEDGER = (ev.Revenue, ev.Cashflow)
_LENDER_FLOWS = ("lender_disbursement", "loan_repayment")
_CASH_SIGNALS = frozenset({"cash_runway_days", "margin_decline"})
_LENDER_SIGNALS = frozenset({"other_lenders_30d"})
_REVENUE_SIGNALS = frozenset({"revenue_drop_ratio", "revenue_drop_days", "revenue_collapsed",
                              "revenue_volatility_ratio", "dormant_days"})


def _signals_may_change(state: BorrowerState, event: ev.Event, policy: Policy) -> bool:
    """Whether a revenue or cash-flow event can change what an enabled alert rule reads.

    Revenue signals move when a day closes (or a silent feed speaks again);
    cash-flow signals only through other lenders' money, unless a rule on
    runway or margin is switched on. Skipping the others keeps the per-event
    cost down; the timers re-read everything when they fire.
    """
    used = policy.signals_used
    if isinstance(event, ev.Revenue):
        assert state.revenue is not None
        return bool(used & _REVENUE_SIGNALS) and (
            state.revenue.open_day != state.closed_day or "dormancy" in lifecycle.open_types(state.alerts))
    if isinstance(event, ev.Cashflow):
        return bool(used & _CASH_SIGNALS) or (bool(used & _LENDER_SIGNALS)
                                             and event.counterparty_type in _LENDER_FLOWS)
    return False


_OWN_AMOUNTS = 4


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _note_own_amount(state: BorrowerState, amount: Decimal) -> None:
    """Remember what we paid out or were paid: a lender flow of that amount on the account is us.

    The account data names lenders by hashed ids only, so our own
    disbursements and the repayments to us are recognised by their amounts
    (to the cent) and would otherwise look like another lender (多头借贷).
    """
    if amount <= 0:
        return
    cents = _cents(amount)
    state.own_amounts.append(cents)
    del state.own_amounts[:-_OWN_AMOUNTS]
    flows = state.lender_flows
    for i in range(0, len(flows), 2):
        if flows[i] == cents and state.cash is not None:
            cashflow.note_own_key(state.cash, flows[i + 1])


def _apply(state: BorrowerState, event: ev.Event, t: int, h: int, policy: Policy,
           part: Partition | None) -> str | None:
    """Change the ledgers for one event; a string return is why it cannot apply."""
    if isinstance(event, ev.LoanOpened):
        if state.loan(event.loan_id) is not None:
            return f"loan {event.loan_id} was already opened"
        if not state.sector and event.sector:
            state.sector = event.sector
        state.loans.append(Loan(
            loan_id=event.loan_id,
            product=event.product,
            credit_limit=event.credit_limit,
            installments=[_installment(i) for i in sorted(event.installments, key=lambda i: i.seq)],
            drawn=event.principal if event.product != "revolving_line" else ZERO,
        ))
        _note_own_amount(state, event.principal)
        return None
    if isinstance(event, ev.Revenue):
        day = local_day(t, policy)
        if state.revenue is None:
            state.revenue, state.feed = revenue.RevenueState(), dormancy.DormancyState()
        state.closed_day = state.revenue.open_day
        gap = _outage_in_gap(state, day, part)
        if gap is not None:  # the source's pipeline was down: those days are unknown, not days without a sale
            revenue.skip(state.revenue, gap[0], gap[1], state.sector or None)
        revenue.update(state.revenue, day, float(event.amount), state.sector or None, period=event.period)
        dormancy.note_event(state.feed, day, policy.dormancy, period=event.period)  # type: ignore[arg-type]
        return None
    if isinstance(event, ev.Cashflow):
        if state.cash is None:
            state.cash = cashflow.CashflowState()
        if event.counterparty_type in _LENDER_FLOWS and event.counterparty_id:
            key, cents = cashflow.lender_key(event.counterparty_id), _cents(event.amount)
            if cents in state.own_amounts:
                cashflow.note_own_key(state.cash, key)  # our own money: not another lender
            else:  # our repayment record may come after the account's movement
                state.lender_flows.extend((cents, key))
                del state.lender_flows[:-2 * _OWN_AMOUNTS]
        cashflow.update(state.cash, t, event.direction, float(event.amount), event.counterparty_type,
                        balance_after=float(event.balance_after) if event.balance_after is not None else None,
                        counterparty_id=event.counterparty_id, account_id=event.account_id)
        return None
    if isinstance(event, ev.CollectionOutcome):
        return None if state.loan(event.loan_id) is not None else \
            f"collection_outcome/1 for unknown loan {event.loan_id} (no loan_opened/1 seen)"
    loan = state.loan(event.loan_id)
    if loan is None:
        return f"{type(event).__name__} for unknown loan {event.loan_id} (no loan_opened/1 seen)"
    if isinstance(event, ev.Repayment):
        seen = id_key(h)
        if has_id(loan.repaid_ids, seen):
            return None
        loan.repaid_ids += seen
        _note_own_amount(state, event.amount)
        for inst in _allocate(loan, event.amount, event.installment_seq, local_day(t, policy)):
            if state.limit is None:
                state.limit = LimitState()
            note_settled(state.limit, inst.seq, days_late=inst.paid_on - inst.due, grace_days=policy.grace_days)
            repayment.settled(_repay(state), inst.paid_on - inst.due, policy.repayment_policy, overdue_reported=inst.late)
        if loan.product == "revolving_line":
            loan.drawn = max(loan.drawn - event.amount, ZERO)
    elif isinstance(event, ev.InstallmentDue):
        _put_installment(loan, _installment(event))
    elif isinstance(event, ev.ScheduleChanged):
        _replace_schedule(loan, event.installments)
    elif isinstance(event, ev.Drawdown):
        loan.drawn += event.amount
        _note_own_amount(state, event.amount)
    elif isinstance(event, ev.LoanClosed):
        loan.closed = True
    return None


def _installment(i: ev.Installment | ev.InstallmentDue) -> Installment:
    seq = i.seq
    return Installment(seq=seq, due=i.due_date.toordinal(), amount_due=i.amount_due)


def _put_installment(loan: Loan, new: Installment) -> None:
    for k, old in enumerate(loan.installments):
        if old.seq == new.seq:
            new.paid = min(old.paid, new.amount_due)
            loan.installments[k] = new
            return
    loan.installments.append(new)
    loan.installments.sort(key=lambda i: (i.due, i.seq))


def _replace_schedule(loan: Loan, installments: list[ev.Installment]) -> None:
    paid = {i.seq: i.paid for i in loan.installments}
    loan.installments = []
    for i in sorted(installments, key=lambda i: (i.due_date, i.seq)):
        new = _installment(i)
        new.paid = min(paid.get(i.seq, ZERO), new.amount_due)
        loan.installments.append(new)


def _allocate(loan: Loan, amount: Decimal, seq: int | None, day: int) -> list[Installment]:
    """Explicit installment first, then the oldest open ones; returns the installments settled in full."""
    order = sorted(loan.installments, key=lambda i: (i.seq != seq, i.due, i.seq))
    settled = []
    remaining = amount
    for inst in order:
        if remaining <= 0:
            break
        pay = min(inst.outstanding, remaining)
        if pay <= 0:
            continue
        inst.paid += pay
        remaining -= pay
        if inst.outstanding <= 0:
            inst.paid_on = day
            settled.append(inst)
    return settled


# --------------------------------------------------------------------------- reconcile


def _reconcile(state: BorrowerState, as_of: int, stamp: int, policy: Policy, part: Partition | None, *,
               timer: bool = False) -> list[Output]:
    """Bring tasks and alerts in line with the ledgers as of ``as_of``; records stamped ``stamp``."""
    today = local_day(as_of, policy) if as_of else 0
    dpds = _dpds(state, today, policy)
    worst = max(dpds.values(), default=0)
    state.max_dpd = max(state.max_dpd, worst)
    _note_lateness(state, today, worst, policy)
    reading = _read(state, today, as_of, worst, part, policy)
    _contribute(state, today, as_of, worst, reading, part, policy)
    outputs: list[Output] = []
    for loan in state.loans:
        loan.max_dpd = max(loan.max_dpd, dpds[loan.loan_id])
        outputs.extend(_reconcile_tasks(state, loan, today, stamp, reading.risk_score, policy))
        _prune_settled(loan)
    outputs.extend(_reconcile_alerts(state, stamp, policy, reading, dpds))
    outputs.extend(credit.review(state, today, as_of, worst, reading, iso(stamp, policy), policy, timer=timer))
    return outputs


def _repay(state: BorrowerState) -> repayment.RepaymentState:
    if state.repay is None:
        state.repay = repayment.RepaymentState()
    return state.repay


def _note_lateness(state: BorrowerState, today: int, worst: int, policy: Policy) -> None:
    """Count each installment that passed its due date (plus grace) unpaid once; track the DPD bucket."""
    for loan in state.loans:
        if loan.closed:
            continue
        for inst in loan.installments:
            if not inst.late and inst.outstanding > 0 and today - inst.due > policy.grace_days:
                inst.late = True
                repayment.went_overdue(_repay(state), policy.repayment_policy)
    if state.repay is not None:
        repayment.dpd_changed(state.repay, worst, policy.repayment_policy)


def _reconcile_alerts(state: BorrowerState, stamp: int, policy: Policy, reading: signals.Reading,
                      dpds: dict[str, int]) -> list[Output]:
    """Evaluate the alert rules on the detectors' ``reading`` and the loans' DPD (``dpds``, by loan id, as of
    the reading's day), and run the lifecycle."""
    worst = max(dpds.values(), default=0)
    rules = policy.ruleset
    findings = evaluate(rules, reading.signals, reading.baselines, open_types=lifecycle.open_types(state.alerts))
    for loan in state.loans:
        findings += evaluate(rules, {"dpd": float(dpds[loan.loan_id])}, {}, loan_id=loan.loan_id,
                             open_types=lifecycle.open_types(state.alerts, loan.loan_id))
    critical = lifecycle.has_open(state.alerts, "critical") or any(f.severity == "critical" for f in findings)
    klass = risk_class(worst, critical, policy.classes)
    return list(lifecycle.reconcile(state.alerts, state.borrower_id, findings, stamp, reading.risk_score, klass,
                                    rules.policy))


def _dpds(state: BorrowerState, today: int, policy: Policy) -> dict[str, int]:
    """Each loan's days past due on local day ``today``, by loan id."""
    return {loan.loan_id: _loan_dpd(loan, today, policy) for loan in state.loans}


def _loan_dpd(loan: Loan, today: int, policy: Policy) -> int:
    if loan.closed:
        return 0
    dpd = 0
    for inst in loan.installments:
        if inst.outstanding > 0 and today - inst.due > policy.grace_days:
            dpd = max(dpd, today - inst.due)
    return dpd


def _reconcile_tasks(state: BorrowerState, loan: Loan, today: int, stamp: int, score: float,
                     policy: Policy) -> list[Output]:
    """Keep one task per unpaid installment in the stage its DPD (or the days to its due date) calls for.

    Stages never go back while the installment is unpaid; a promise to pay or a
    dispute holds escalation until ``hold_until``; a promise broken by then
    escalates one stage at once. Payment in full cancels the task in the same step.
    """
    col = policy.collection
    unpaid = {} if loan.closed else {i.seq: i for i in loan.installments if i.outstanding > 0}
    outputs: list[Output] = []
    kept: list[OpenTask] = []
    for task in loan.tasks:
        inst = unpaid.pop(task.seq, None)
        if inst is None:
            why = "closed" if loan.closed else "paid"
            outputs.append(_task(state, loan, task, "cancelled", why, stamp, score, 0, policy))
            continue
        dpd = today - inst.due
        current = col.rank(task.stage)
        rank, why = max(_rank_for(dpd, score, policy, loan.product), current), ""
        if task.hold_until and today <= task.hold_until:
            rank = current  # held by a promise to pay or a dispute
        elif task.hold_until:
            broken, reviewed = inst.paid < task.keep_paid, task.review
            task.hold_until, task.keep_paid, task.review = 0, ZERO, False
            if broken:
                rank, why = min(max(rank, current + 1), len(col.stages) - 1), "promise to pay broken"
            elif reviewed:
                why = "dispute review period over: back with the collection queue"
        if rank != current:
            stage = col.stages[rank]
            done = col.stages[current].is_reminder if current >= 0 else False
            outputs.append(_task(state, loan, task, "done" if done else "escalated",
                                 why or f"{'superseded' if done else 'escalated'} by {stage.name}",
                                 stamp, score, dpd, policy))
            new = _open_task(state, inst, stage, stamp, policy)
            outputs.append(_task(state, loan, new, "open", why or _opening_reason(stage), stamp, score, dpd,
                                 policy))
            kept.append(new)
        elif inst.outstanding != task.amount_overdue or why:
            task.amount_overdue = inst.outstanding
            outputs.append(_task(state, loan, task, "open", why or "partial payment", stamp, score, dpd, policy))
            kept.append(task)
        else:
            kept.append(task)
    for _seq, inst in sorted(unpaid.items()):
        dpd = today - inst.due
        rank = _rank_for(dpd, score, policy, loan.product)
        if rank >= 0:
            stage = col.stages[rank]
            new = _open_task(state, inst, stage, stamp, policy)
            outputs.append(_task(state, loan, new, "open", _opening_reason(stage), stamp, score, dpd, policy))
            kept.append(new)
    loan.tasks = kept
    return outputs


def _open_task(state: BorrowerState, inst: Installment, stage: Stage, stamp: int, policy: Policy) -> OpenTask:
    """A new task; one that contacts the borrower gets its moment from the contact policy."""
    task = OpenTask(inst.seq, stage.name, inst.outstanding, stamp)
    if stage.action in policy.contact.contact_actions:
        task.contact_at = contact.schedule(state.contacts, stamp, stage.channel in policy.contact.call_channels,
                                           policy.tz, policy.contact)
    return task


def _rank_for(dpd: int, score: float, policy: Policy, product: str) -> int:
    """Rank of the stage an unpaid installment is in (-1: none yet); the grace days keep the last reminder."""
    col = policy.collection
    stage = col.stage_for(dpd if dpd > policy.grace_days else min(dpd, 0), score, product)
    return col.rank(stage.name) if stage is not None else -1


def _opening_reason(stage: Stage) -> str:
    return f"due in {-stage.min_dpd} days" if stage.is_reminder else "overdue"


def _outcome(state: BorrowerState, event: ev.CollectionOutcome, t: int, policy: Policy,
             part: Partition | None) -> list[Output]:
    """The task record a collector's report changes (none when it changes nothing).

    An outcome for a task no longer open (paid, superseded) changes nothing.
    """
    loan = state.loan(event.loan_id)
    task = next((x for x in loan.tasks if _task_id(loan, x) == event.task_id), None) if loan else None
    inst = next((i for i in loan.installments if i.seq == task.seq), None) if loan and task else None
    if loan is None or task is None or inst is None:
        return []
    today = local_day(t, policy)
    why = apply_outcome(task, inst, event, today, policy)
    if why is None:
        return []
    score = _read(state, today, t, today - inst.due, part, policy).risk_score
    return [_task(state, loan, task, "open", why, t, score, today - inst.due, policy)]


def apply_outcome(task: OpenTask, inst: Installment, event: ev.CollectionOutcome, today: int,
                  policy: Policy) -> str | None:
    """A collector's report on an open task: hold, review or switch channel; returns why it changed the task."""
    col = policy.collection
    if event.outcome == "promise_to_pay" and event.promised_date is not None:
        task.hold_until = event.promised_date.toordinal() + col.promise_grace_days
        promised = event.promised_amount if event.promised_amount is not None else inst.outstanding
        task.keep_paid = inst.paid + min(promised, inst.outstanding)
        return f"promise to pay {promised} by {event.promised_date.isoformat()}"
    if event.outcome == "dispute":
        task.review, task.hold_until, task.keep_paid = True, today + col.dispute_hold_days, ZERO
        return "disputed: with the review queue"
    if event.outcome == "unreachable" and not task.switched:
        stage = _stage(task.stage, policy)
        if stage.alt_channel:
            task.switched = True
            return f"unreachable: switched to {stage.alt_channel}"
    return None


def _stage(name: str, policy: Policy) -> Stage:
    for stage in policy.collection.stages:
        if stage.name == name:
            return stage
    raise KeyError(f"unknown collection stage {name!r}: the policy changed under open tasks")


def _task_id(loan: Loan, task: OpenTask) -> str:
    return record_id("task", loan.loan_id, task.seq, task.stage)


def _task(state: BorrowerState, loan: Loan, task: OpenTask, status: str, reason: str, stamp: int,
          score: float, dpd: int, policy: Policy) -> CollectionTask:
    stage = _stage(task.stage, policy)
    amount = task.amount_overdue
    return CollectionTask(
        task_id=_task_id(loan, task),
        loan_id=loan.loan_id,
        borrower_id=state.borrower_id,
        installment_seq=task.seq,
        action="review" if task.review else stage.action,
        channel=stage.alt_channel if task.switched and stage.alt_channel else stage.channel,
        priority=policy.collection.priority(stage, amount, score) if status == "open" else 0.0,
        dpd=max(dpd, 0),  # a reminder's installment is not yet due: 0
        amount_overdue=amount,
        status=status,
        due_by=iso(task.opened_at + stage.respond_days * DAY, policy),
        reason=reason,
        stage=stage.name,
        queue="disputes" if task.review else stage.queue,
        created_at=iso(task.opened_at, policy),
        updated_at=iso(stamp, policy),
        contact_after=iso(task.contact_at, policy) if task.contact_at and status == "open" else "",
    )


def _prune_settled(loan: Loan) -> None:
    """Drop installments settled in full: reconcile has closed their tasks, nothing refers to them."""
    keep = [i for i in loan.installments if i.outstanding > 0]
    loan.settled_seqs += len(loan.installments) - len(keep)
    loan.installments = keep


# --------------------------------------------------------------------------- snapshot


def snapshot(state: BorrowerState, policy: Policy, part: Partition | None = None) -> dict[str, object]:
    """The borrower's standing as of the time it has been advanced to."""
    today = local_day(state.advanced_to, policy) if state.advanced_to else 0
    dpd = max((_loan_dpd(loan, today, policy) for loan in state.loans), default=0)
    return {
        "borrower_id": state.borrower_id,
        "risk_score": round(_read(state, today, state.advanced_to, dpd, part, policy).risk_score, 4),
        "risk_class": risk_class(dpd, lifecycle.has_open(state.alerts, "critical"), policy.classes),
        "dpd": dpd,
        "max_dpd": max(state.max_dpd, dpd),
        "credit_limit": str(sum((loan.credit_limit for loan in state.loans if not loan.closed), ZERO)),
        "open_alerts": len(state.alerts.alerts),
    }
