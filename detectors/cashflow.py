"""Cash flow per borrower: net-flow trend, cash runway, margin proxy, multi-lending (多头借贷).

Learned online from ``cashflow/1`` movements in a state of roughly 90–150
bytes. Time is the movement's ``occurred_at`` as epoch seconds, passed in.

* **Flows are bucketed by calendar month** (UTC): the current month and the
  two before it, each holding operating inflows, outflows, customer inflows and
  costs. Payroll and rent are monthly lumps; an exponentially decayed sum over
  a month swings by half a payroll between paydays, complete months do not.
  A late movement goes to its own month's bucket (up to two months back), so
  the buckets do not depend on arrival order. *Operating* inflows leave out
  transfers between own accounts and lender disbursements (borrowed money is
  not income); outflows leave out transfers only.
* **Recent** means the last complete month for the flows and the last two
  complete months pooled for the margin (the current month while they cover
  under two weeks); the **baseline** is an EWMA over the months before them
  (``baseline_months``), so a change shows within a month or two. For the
  margin, payroll and rent paid in a month's last three days count for the
  next month: a payday on the 1st that moves to the Friday before a weekend
  would otherwise put two paydays in one month and none in the next.
* **Net flow**: recent inflow minus outflow per day against the baseline's;
  *burning* when recent inflows cover less than ``burn_cover`` of outflows.
* **Runway**: the latest ``balance_after`` summed over the borrower's accounts,
  divided by the typical daily outflow (the two complete months and the
  current one), in days.
* **Margin proxy**: ``1 - (supplier + payroll + rent outflows) / customer
  inflows``, recent against baseline; in *decline* when it fell by
  ``margin_drop`` (absolute). Not judged while the recent months are the
  trade's usual slow season (``season``, the revenue detector's month
  profile, under ``off_season_factor``): lower sales over the same payroll
  and rent lower the margin every year; the revenue detector, which knows
  the season, watches the sales meanwhile.
* **Multi-lending**: disbursements from, and repayments to, lenders other than
  us (``own_counterparties``) within ``lender_window_days``, counted as distinct
  hashed ``counterparty_id`` in a fixed ring of ``ring_size`` entries.

Each boolean has hysteresis (a separate, looser clear level) kept in the state
by :func:`update`/:func:`advance`; the alert layer adds its own clear span.

>>> DAY = 86_400
>>> s, p = CashflowState(), CashflowPolicy()
>>> t0 = 1_767_225_600                          # 2026-01-01
>>> for d in range(40):                          # sales in, costs out, 60k in the bank
...     _ = update(s, t0 + d * DAY, "in", 10_000, "customer", policy=p)
...     sig = update(s, t0 + d * DAY + 3600, "out", 8_000, "supplier", balance_after=60_000, policy=p)
>>> round(sig.runway_days, 1), sig.low_runway, round(sig.margin, 2)
(7.3, True, 0.2)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import msgspec
from river.base import AnomalyDetector
from river.base.typing import FeatureName

__all__ = ["CashflowPolicy", "CashflowState", "CashflowSignals", "update", "advance", "signals", "lender_key",
           "note_own", "note_own_key", "CashflowDetector"]

_DAY = 86_400
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_CENT = 100.0
_R = 10_000.0
# state.flags bits
_LOW_RUNWAY, _MARGIN, _BURNING = 1, 2, 4
# bucket fields: operating inflow, outflow, customer inflow, costs (cents)
_IN, _OUT, _CUST, _COST = range(4)


@dataclass(frozen=True, slots=True)
class CashflowPolicy:
    """Parameters of the cash-flow detector (configuration is data).

    Defaults: two complete months against an EWMA of about half a year of
    months before them; runway under 15 days; a margin 8 points below its
    baseline; inflows covering less than 80% of outflows; two other lenders
    within 30 days.
    """

    min_history_days: float = 14.0  # no signal before two weeks of movements
    baseline_months: float = 6.0  # EWMA memory of the monthly baselines
    margin_min_months: int = 2  # months in the baseline before a margin decline can be judged
    burn_cover: float = 0.8  # burning: recent operating inflows cover < 80% of outflows
    burn_clear: float = 0.9
    runway_days: float = 15.0  # low runway: balance lasts fewer days than this
    runway_min_days: float = 30.0  # ... judged once a month of movements is known (payroll and rent are monthly)
    runway_clear_days: float = 20.0
    margin_drop: float = 0.08  # decline: the margin fell this much (absolute) against its baseline
    margin_clear: float = 0.04
    lender_window_days: int = 30
    min_other_lenders: int = 2  # distinct other lenders within the window that make multi-lending
    ring_size: int = 4
    max_accounts: int = 3
    own_counterparties: frozenset[str] = frozenset()  # our own (hashed) counterparty ids
    cost_types: frozenset[str] = frozenset({"supplier", "payroll", "rent"})
    monthly_types: frozenset[str] = frozenset({"payroll", "rent"})  # monthly obligations: ...
    month_end_days: int = 3  # ... paid in a month's last 3 days, they count for the next month (margin)
    off_season_factor: float = 0.9  # the margin is not judged over months whose seasonal factor is under this
    _own_keys: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_own_keys", frozenset(lender_key(c) for c in self.own_counterparties))


DEFAULT_POLICY = CashflowPolicy()


class CashflowState(msgspec.Struct, array_like=True, omit_defaults=True):
    """Per-borrower cash-flow state: monthly buckets in cents, baselines, balances, the lender ring."""

    t: int = 0  # epoch seconds of the latest movement
    first: int = 0  # epoch seconds of the first movement
    month: int = 0  # the current bucket's month (year * 12 + month - 1)
    cur: list[int] = []  # [in, out, customer, costs] this month
    prev: list[int] = []  # ... last month
    prev2: list[int] = []  # ... the month before
    months: int = 0  # months that have entered the baselines
    base_net: int = 0  # EWMA of monthly net flow per day, cents
    base_margin: int = 0  # EWMA of monthly margin proxy, 1/10,000 (months with customer inflows)
    margin_months: int = 0
    flags: int = 0
    accounts: list[int] = []  # flat [account key, balance cents, ...]
    lenders: list[int] = []  # flat ring [lender key << 1 | is_repayment, epoch day, ...]
    own: int = 0  # the lender key recognised as us (see note_own): never another lender
    ahead: int = 0  # costs counted for the month after the current one (paid at its eve), cents


@dataclass(frozen=True, slots=True)
class CashflowSignals:
    """Cash-flow signals at a moment; daily rates in major units, each with its threshold."""

    ready: bool  # at least min_history_days of movements
    inflow: float  # operating inflow per day, last complete month
    outflow: float  # outflow per day, last complete month
    net_flow: float  # inflow - outflow (recent)
    net_flow_baseline: float  # the same, baseline months
    inflow_cover: float  # inflow / outflow (recent)
    burn_threshold: float
    burning: bool
    balance: float | None  # latest balance over all accounts (None: never reported)
    typical_outflow: float  # outflow per day over the two complete months and this one
    runway_days: float | None  # balance / typical outflow (None: unknown, or under a month of movements)
    runway_threshold: float
    low_runway: bool
    margin: float | None  # 1 - costs / customer inflows, last two months; None without customer inflows
    margin_baseline: float | None  # the same, baseline months
    margin_month: float | None  # the margin of the last complete month alone (None: no customer inflows in it)
    margin_judged: bool  # the baseline holds margin_min_months months and they are not the slow season
    margin_threshold: float  # the drop (absolute) that makes a decline
    margin_decline: bool
    other_lenders: int  # distinct other lenders seen within the window
    lender_disbursements: int  # ... of which disbursed to the borrower
    lender_repayments: int  # ... of which repaid by the borrower
    lender_window_days: int
    multi_lending_threshold: int
    multi_lending: bool


def lender_key(counterparty_id: str | None) -> int:
    """A stable 30-bit key for a hashed counterparty id (0 for an unknown one).

    >>> lender_key("bank-9f2c") == lender_key("bank-9f2c") != lender_key("bank-0001")
    True
    >>> lender_key(None)
    0
    """
    if not counterparty_id:
        return 0
    return int.from_bytes(hashlib.blake2b(counterparty_id.encode(), digest_size=4).digest(), "big") >> 2 or 1


def note_own(state: CashflowState, counterparty_id: str | None) -> bool:
    """Recognise ``counterparty_id`` as us, the lender (in place): its flows are not multi-lending.

    The contract's counterparty ids are hashed by the data provider, so the
    core recognises ours by its amounts (a disbursement of our loan's
    principal, a repayment of what we were paid) and calls this; a movement of
    that lender already in the ring is taken out. Returns whether it was new.

    >>> s = CashflowState()
    >>> t = 1_767_225_600
    >>> _ = update(s, t, "in", 50_000, "lender_disbursement", counterparty_id="us")
    >>> sig = update(s, t + 60, "in", 30_000, "lender_disbursement", counterparty_id="bank-b")
    >>> sig.multi_lending, note_own(s, "us"), signals(s, t + 60).other_lenders
    (True, True, 1)
    """
    return note_own_key(state, lender_key(counterparty_id))


def note_own_key(state: CashflowState, key: int) -> bool:
    """:func:`note_own` for a lender key (see :func:`lender_key`)."""
    if not key or key == state.own:
        return False
    state.own = key
    ring = state.lenders
    state.lenders = [x for i in range(0, len(ring), 2) if ring[i] >> 1 != key for x in ring[i:i + 2]]
    return True


def update(state: CashflowState, t: int, direction: str, amount: float, counterparty_type: str = "other",
           *, balance_after: float | None = None, counterparty_id: str | None = None,
           account_id: str | None = None, policy: CashflowPolicy = DEFAULT_POLICY) -> CashflowSignals:
    """Book one ``cashflow/1`` movement at epoch second ``t`` (in place) and return the signals.

    A ``loan_repayment`` without ``counterparty_id`` cannot be told apart from a
    repayment to us and does not count as multi-lending; a
    ``lender_disbursement`` without one counts as one unknown other lender. A
    ``balance_after`` older than the account's latest is ignored.

    >>> s = CashflowState()
    >>> t = 1_767_225_600
    >>> _ = update(s, t, "in", 50_000, "lender_disbursement", counterparty_id="bank-a")
    >>> sig = update(s, t + 86_400, "in", 30_000, "lender_disbursement", counterparty_id="bank-b")
    >>> sig.other_lenders, sig.lender_disbursements, sig.multi_lending
    (2, 2, True)
    >>> sig.inflow                                  # borrowed money is not operating income
    0.0
    """
    x = round(max(float(amount), 0.0) * _CENT)
    if not state.first:
        state.first, state.t, state.month = t, t, _month(t)
        state.cur, state.prev, state.prev2 = [0] * 4, [0] * 4, [0] * 4
    else:
        state.first = min(state.first, t)
    _roll_to(state, _month(t), policy)
    bucket = {0: state.cur, 1: state.prev, 2: state.prev2}.get(state.month - _month(t))
    if direction == "in":
        if bucket is not None and counterparty_type not in ("transfer", "lender_disbursement"):
            bucket[_IN] += x
        if bucket is not None and counterparty_type == "customer":
            bucket[_CUST] += x
        if counterparty_type == "lender_disbursement":
            _note_lender(state, counterparty_id, t, False, policy)
    else:
        if bucket is not None and counterparty_type != "transfer":
            bucket[_OUT] += x
        if counterparty_type in policy.cost_types:
            _note_cost(state, t, x, counterparty_type in policy.monthly_types, policy)
        if counterparty_type == "loan_repayment" and counterparty_id:
            _note_lender(state, counterparty_id, t, True, policy)
    if balance_after is not None and t >= state.t:
        _note_balance(state, account_id, round(float(balance_after) * _CENT), policy)
    state.t = max(state.t, t)
    return advance(state, state.t, policy)


def advance(state: CashflowState, t: int, policy: CashflowPolicy = DEFAULT_POLICY) -> CashflowSignals:
    """The signals at epoch second ``t`` (e.g. the daily timer): rolls the months and keeps the hysteresis.

    >>> s = CashflowState()
    >>> advance(s, 1_767_225_600).ready
    False
    """
    if state.first:
        _roll_to(state, _month(t), policy)
    sig = signals(state, t, policy)
    flags = 0
    flags |= _LOW_RUNWAY if sig.low_runway else 0
    flags |= _MARGIN if sig.margin_decline else 0
    flags |= _BURNING if sig.burning else 0
    state.flags = flags
    return sig


def signals(state: CashflowState, t: int, policy: CashflowPolicy = DEFAULT_POLICY, *,
            season: Callable[[int], float] | None = None) -> CashflowSignals:
    """The signals at epoch second ``t`` without changing the state.

    ``season``: the seasonal factor (1.0: an average month) of a day ordinal
    for the borrower's trade (the revenue detector's month profile); the margin
    is not judged when the middle of either month it pools is under
    ``off_season_factor``. ``None``: no season known.

    >>> signals(CashflowState(), 0).runway_days is None
    True
    >>> s, day = CashflowState(), 86_400
    >>> for d in range(185):                      # margin 0.3 in 1970's first four months, then 0.1
    ...     _ = update(s, d * day, "in", 10_000, "customer")
    ...     _ = update(s, d * day + 3600, "out", 7_000 if d < 120 else 9_000, "supplier")
    >>> signals(s, 185 * day).margin_decline, signals(s, 185 * day, season=lambda d: 0.72).margin_decline
    (True, False)
    """
    t = max(t, state.t)
    age = (t - state.first) / _DAY if state.first else 0.0
    ready = bool(state.first) and age >= policy.min_history_days
    views: list[tuple[list[int], float]] = []  # (bucket, days it covers): this month, last, the one before
    if state.first:
        month = _month(t)
        lag = month - state.month if month > state.month else 0  # months not rolled yet: empty buckets
        seq = ([_EMPTY] * lag + [state.cur, state.prev, state.prev2])[:3]
        end = t
        for i, bucket in enumerate(seq):
            start = _month_start(month - i)
            views.append((bucket, (end - max(start, state.first)) / _DAY if end > state.first else 0.0))
            end = start
    # recent: the last complete month for the flows, the last two (pooled) for the margin;
    # topped up with this month while they cover under two weeks (a new borrower)
    last = _window(views[:2])
    two = _window(views[:3])
    days = max(sum(d for _, d in last), 1.0)
    inflow = sum(b[_IN] for b, _ in last) / _CENT / days
    outflow = sum(b[_OUT] for b, _ in last) / _CENT / days
    cust = sum(b[_CUST] for b, _ in two)
    cost = sum(b[_COST] for b, _ in two)
    cover = inflow / outflow if outflow > 0 else float("inf")
    was = state.flags
    burning = ready and outflow > 0 and (
        cover < policy.burn_cover or (bool(was & _BURNING) and cover < policy.burn_clear))
    span = max(sum(d for _, d in views), 1.0)
    typical = sum(b[_OUT] for b, _ in views) / _CENT / span
    balance = sum(state.accounts[1::2]) / _CENT if state.accounts else None
    # unknown until a month of movements is seen: payroll and rent are monthly lumps
    runway = balance / typical if balance is not None and typical > 0 and span >= policy.runway_min_days else None
    low_runway = ready and runway is not None and (
        runway < policy.runway_days or (bool(was & _LOW_RUNWAY) and runway < policy.runway_clear_days))
    margin = 1.0 - cost / cust if cust > 0 else None
    margin = max(margin, -1.0) if margin is not None else None
    month_bucket = views[1][0] if len(views) > 1 and views[1][1] >= 14 else None
    margin_month = max(1.0 - month_bucket[_COST] / month_bucket[_CUST], -1.0) \
        if month_bucket is not None and month_bucket[_CUST] > 0 else None
    baseline = state.base_margin / _R if state.margin_months else None
    judged = state.margin_months >= policy.margin_min_months
    if judged and season is not None and state.first:  # the pooled months' middles (views[1], views[2])
        mids = (_month_start(_month(t) - k) // _DAY + _EPOCH_ORDINAL + 14 for k in (1, 2))
        judged = min(season(d) for d in mids) >= policy.off_season_factor
    decline = (judged and margin is not None and baseline is not None
               and (baseline - margin >= policy.margin_drop
                    or (bool(was & _MARGIN) and baseline - margin >= policy.margin_clear)))
    lenders: set[int] = set()
    kinds = [0, 0]  # distinct lenders that disbursed, that were repaid
    if state.lenders:
        since = t // _DAY - policy.lender_window_days + 1
        ring = state.lenders
        for i in range(0, len(ring), 2):
            if ring[i + 1] >= since:
                lenders.add(ring[i] >> 1)
                kinds[ring[i] & 1] += 1  # one ring entry per (lender, kind)
    return CashflowSignals(
        ready=ready,
        inflow=inflow,
        outflow=outflow,
        net_flow=inflow - outflow,
        net_flow_baseline=state.base_net / _CENT if state.months else inflow - outflow,
        inflow_cover=cover,
        burn_threshold=policy.burn_cover,
        burning=burning,
        balance=balance,
        typical_outflow=typical,
        runway_days=runway,
        runway_threshold=policy.runway_days,
        low_runway=low_runway,
        margin=margin,
        margin_baseline=baseline,
        margin_month=margin_month,
        margin_judged=judged,
        margin_threshold=policy.margin_drop,
        margin_decline=decline,
        other_lenders=len(lenders),
        lender_disbursements=kinds[0],
        lender_repayments=kinds[1],
        lender_window_days=policy.lender_window_days,
        multi_lending_threshold=policy.min_other_lenders,
        multi_lending=len(lenders) >= policy.min_other_lenders,
    )


_EMPTY = [0, 0, 0, 0]


def _window(views: list[tuple[list[int], float]]) -> list[tuple[list[int], float]]:
    """The complete months among ``views`` (this month first), plus this month if they span under 14 days."""
    out = [v for v in views[1:] if v[1] > 0]
    if sum(d for _, d in out) < 14 and views:
        out.append(views[0])
    return out


def _month(t: int) -> int:
    return _month_of_day(t // _DAY)


@lru_cache(maxsize=4096)
def _month_of_day(epoch_day: int) -> int:
    d = dt.date.fromordinal(_EPOCH_ORDINAL + epoch_day)
    return d.year * 12 + d.month - 1


@lru_cache(maxsize=4096)
def _month_start(month: int) -> int:
    return int(dt.datetime(month // 12, month % 12 + 1, 1, tzinfo=dt.UTC).timestamp())


def _month_days(month: int) -> int:
    return (_month_start(month + 1) - _month_start(month)) // _DAY


def _note_cost(state: CashflowState, t: int, cents: int, monthly: bool, policy: CashflowPolicy) -> None:
    """Book a cost in its month's bucket; a monthly obligation (payroll, rent) paid in the last
    ``month_end_days`` days of a month counts for the next: a payday on the 1st that moves to the Friday
    before a weekend stays in its month, so the margin proxy does not see two paydays in one month and none
    in the next."""
    month = _month(t)
    if monthly and (_month_start(month + 1) - t) < policy.month_end_days * _DAY:
        month += 1
    back = state.month - month
    if back == -1:
        state.ahead += cents
    elif 0 <= back <= 2:
        (state.cur, state.prev, state.prev2)[back][_COST] += cents


def _roll_to(state: CashflowState, month: int, policy: CashflowPolicy) -> None:
    """Close months up to ``month``: the month leaving the recent window enters the baselines."""
    steps = 0
    while state.month < month and steps < 24:
        leaving = state.prev2
        if state.months or any(leaving):
            a = max(1.0 / (state.months + 1), 1.0 / policy.baseline_months)
            days = _month_days(state.month - 2)
            net = (leaving[_IN] - leaving[_OUT]) / days
            state.base_net = round(state.base_net + a * (net - state.base_net)) if state.months else round(net)
            state.months += 1
            if leaving[_CUST] > 0:
                m = max(1.0 - leaving[_COST] / leaving[_CUST], -1.0) * _R
                am = max(1.0 / (state.margin_months + 1), 1.0 / policy.baseline_months)
                state.base_margin = round(state.base_margin + am * (m - state.base_margin))
                state.margin_months += 1
        state.prev2, state.prev, state.cur = state.prev, state.cur, [0, 0, 0, state.ahead]
        state.ahead = 0
        state.month += 1
        steps += 1
    if state.month < month:  # a silence of years: start the buckets afresh
        state.month = month
        state.cur, state.prev, state.prev2, state.ahead = [0] * 4, [0] * 4, [0] * 4, 0


def _note_balance(state: CashflowState, account_id: str | None, cents: int, policy: CashflowPolicy) -> None:
    key = lender_key(account_id) & 0xFFFF
    acc = state.accounts
    for i in range(0, len(acc), 2):
        if acc[i] == key:
            acc[i + 1] = cents
            return
    if len(acc) // 2 >= policy.max_accounts:  # forget the first account seen
        del acc[0:2]
    acc.extend((key, cents))


def _note_lender(state: CashflowState, counterparty_id: str | None, t: int, repayment: bool,
                 policy: CashflowPolicy) -> None:
    key = lender_key(counterparty_id)
    if key and (key == state.own or key in policy._own_keys):
        return
    code, day = key << 1 | int(repayment), t // _DAY
    ring = state.lenders
    for i in range(0, len(ring), 2):
        if ring[i] == code:
            ring[i + 1] = max(ring[i + 1], day)
            return
    if len(ring) // 2 < policy.ring_size:
        ring.extend((code, day))
        return
    oldest = min(range(0, len(ring), 2), key=lambda i: ring[i + 1])
    if ring[oldest + 1] < day:
        ring[oldest], ring[oldest + 1] = code, day


class CashflowDetector(AnomalyDetector):
    """The cash-flow detector behind river's anomaly-detector protocol (one borrower's account).

    ``x`` is one movement: ``t`` (epoch seconds; default a day after the
    latest), ``amount`` (in major units: positive in, negative out),
    ``kind`` (the ``counterparty_type``; default ``customer`` in, ``supplier``
    out), optional ``balance`` (``balance_after``) and ``counterparty`` (a
    lender's hashed id). ``score_one`` is how far the movement would take the
    account past the nearest of its thresholds (1.0: at one): the runway
    threshold over the runway, the margin's fall over ``margin_drop``, other
    lenders over ``min_other_lenders``, the burn cover over the inflow cover.
    It does not learn.

    Parameters
    ----------
    runway_days
        Low runway: the balance lasts fewer days than this.
    margin_drop
        Margin decline: the margin fell this much (absolute) against its baseline.
    min_other_lenders
        Distinct other lenders within 30 days that make multi-lending.

    Examples
    --------

    >>> det, t0, day = CashflowDetector(), 1_767_225_600, 86_400
    >>> for d in range(40):                       # sales in, costs out, a comfortable balance
    ...     det.learn_one({"t": t0 + d * day, "amount": 10_000.0, "balance": 400_000.0})
    ...     det.learn_one({"t": t0 + d * day + 3600, "amount": -8_000.0})
    >>> det.score_one({"t": t0 + 40 * day, "amount": 10_000.0}) < 1.0
    True
    >>> det.score_one({"t": t0 + 40 * day, "amount": -390_000.0, "balance": 10_000.0}) >= 1.0   # cash gone
    True
    """

    def __init__(self, runway_days: float = 15.0, margin_drop: float = 0.08, min_other_lenders: int = 2):
        self.runway_days = runway_days
        self.margin_drop = margin_drop
        self.min_other_lenders = min_other_lenders
        self.policy = CashflowPolicy(runway_days=runway_days, runway_clear_days=max(20.0, runway_days),
                                     margin_drop=margin_drop, margin_clear=margin_drop / 2,
                                     min_other_lenders=max(min_other_lenders, 1))
        self.state = CashflowState()

    def _book(self, state: CashflowState, x: Mapping[FeatureName, Any]) -> CashflowSignals:
        t = int(x["t"]) if "t" in x else (state.t + _DAY if state.first else 0)
        amount = float(x.get("amount", 0.0))
        direction = "in" if amount >= 0 else "out"
        kind = str(x.get("kind", "customer" if direction == "in" else "supplier"))
        balance = float(x["balance"]) if "balance" in x else None
        lender = str(x["counterparty"]) if "counterparty" in x else None
        return update(state, t, direction, abs(amount), kind, balance_after=balance, counterparty_id=lender,
                      policy=self.policy)

    def learn_one(self, x: dict[FeatureName, Any]) -> None:
        self._book(self.state, x)

    def score_one(self, x: dict[FeatureName, Any]) -> float:
        sig = self._book(msgspec.msgpack.decode(msgspec.msgpack.encode(self.state), type=CashflowState), x)
        if not sig.ready:
            return 0.0
        p = self.policy
        parts = [sig.other_lenders / p.min_other_lenders]
        if sig.runway_days is not None:
            parts.append(p.runway_days / max(sig.runway_days, 1e-9))
        if sig.margin_judged and sig.margin is not None and sig.margin_baseline is not None:
            parts.append(max(sig.margin_baseline - sig.margin, 0.0) / p.margin_drop)
        if sig.outflow > 0:
            parts.append(p.burn_cover / max(sig.inflow_cover, 1e-9))
        return max(parts)
