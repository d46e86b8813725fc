"""Credit-limit policy: when the limit moves, by how much, and when a person must approve.

The model (``detectors/limit.py``) says what the business can carry; this
policy turns that and the borrower's standing into at most one decision per
review, in this order:

1. **freeze** at once when an installment is ``freeze_dpd`` days past due or a
   critical alert is open (protective, not a change of the amount: no step,
   no cooling-off);
2. **unfreeze** once the borrower is current and no critical alert is open;
3. nothing else within ``cooling_days`` of the last change of the amount;
4. **decrease** on deterioration (open alerts of the types in ``decrease_on``):
   towards the recommended limit, by at most ``decrease_step``;
5. **decrease** back when the busy season is over (neither today nor the
   stretch ahead carries a seasonal uplift);
6. **increase** ahead of the borrower's peak season (its own profile);
7. **increase** after ``increase_after_cycles`` consecutive on-time
   installments, with stable revenue, towards the recommended limit, by at
   most ``increase_step``.

Guardrails: a change never exceeds ``max_step`` of the current limit; never an
increase while anything is overdue (or frozen); a change larger than
``review_above`` of the limit, or than ``review_amount``, is emitted as
``needs_review`` and not applied.

>>> p = LimitPolicy()
>>> ok = Situation(limit=Decimal("100000"), on_time=3, capacity=200_000.0, stable=True)
>>> d = decide(ok, p)
>>> d.action, d.new_limit, d.status, [r.code for r in d.reasons]
('increase', Decimal('120000.00'), 'applied', ['on_time_cycles', 'capacity'])
>>> decide(Situation(limit=Decimal("100000"), on_time=3, capacity=200_000.0, stable=True, dpd=8), p).action
'freeze'
>>> decide(Situation(limit=Decimal("100000"), on_time=3, capacity=200_000.0, stable=True, dpd=2), p) is None
True
>>> decide(Situation(limit=Decimal("100000"), on_time=3, capacity=200_000.0, stable=True,
...                  days_since_change=10), p) is None                 # cooling off
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from alerts.records import Reason

ZERO = Decimal(0)
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """Guardrails and triggers of limit changes (configuration)."""

    increase_after_cycles: int = 3  # consecutive on-time installments before an increase
    freeze_dpd: int = 7  # frozen from this many days past due (a day or two late is not worth the churn)
    max_step: float = 0.25  # a change moves the limit by at most this share
    increase_step: float = 0.20  # the usual increase after good cycles (within max_step)
    decrease_step: float = 0.20  # the usual cut on deterioration (within max_step)
    review_above: float = 0.20  # ... and beyond this share (or review_amount) it needs a person
    review_amount: Decimal = Decimal("500000")
    cooling_days: int = 30  # days between two changes of the amount (proposals included)
    decrease_on: tuple[str, ...] = ("multi_lending", "revenue_drop", "revenue_collapse", "cash_runway",
                                    "default_risk")
    season_deadband: float = 0.10  # a season ahead above 1 + this carries an uplift ...
    season_max: float = 0.25  # ... of at most this share of the base limit
    round_to: Decimal = Decimal("100")  # limits are whole hundreds
    max_haircut: float = 0.9  # the risk score removes at most this share of the capacity


@dataclass(frozen=True, slots=True)
class Situation:
    """A borrower's standing at one review (numbers only: the core fills it from state and detectors)."""

    limit: Decimal
    uplift: Decimal = ZERO  # seasonal uplift inside ``limit``
    frozen: bool = False
    dpd: int = 0
    critical: bool = False  # an open critical alert
    warnings: tuple[str, ...] = ()  # open alert types
    on_time: int = 0  # consecutive on-time installments
    capacity: float | None = None  # what the business can carry (None: not known yet)
    risk_score: float = 0.0
    season: float = 1.0  # month factor of the stretch ahead
    season_now: float = 1.0  # month factor of today
    stable: bool = False  # revenue stable or growing
    days_since_change: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    action: str  # increase | decrease | freeze | unfreeze
    old_limit: Decimal
    new_limit: Decimal
    status: str  # applied | needs_review
    reasons: tuple[Reason, ...]
    uplift: Decimal = ZERO  # the seasonal uplift after the change
    frozen: bool = False
    moves_amount: bool = field(default=True)


def recommended(sit: Situation, policy: LimitPolicy) -> Decimal | None:
    """Capacity less the risk haircut, in whole ``round_to`` (None: capacity unknown).

    >>> recommended(Situation(limit=Decimal(1), capacity=100_000.0, risk_score=0.2), LimitPolicy())
    Decimal('80000.00')
    """
    if sit.capacity is None:
        return None
    return _round(_dec(sit.capacity * (1.0 - min(max(sit.risk_score, 0.0), policy.max_haircut))), policy)


def decide(sit: Situation, policy: LimitPolicy) -> Decision | None:
    """At most one limit decision for this review (see the module docstring for the order)."""
    overdue = sit.dpd > 0
    if sit.uplift > sit.limit:
        sit = replace(sit, uplift=sit.limit)
    if (sit.dpd >= policy.freeze_dpd or sit.critical) and not sit.frozen:
        reasons = []
        if sit.dpd >= policy.freeze_dpd:
            reasons.append(Reason("overdue", f"{sit.dpd} days past due: limit frozen",
                                  f"逾期 {sit.dpd} 天：额度冻结", sit.dpd, 0, policy.freeze_dpd))
        if sit.critical:
            reasons.append(Reason("critical_alert", "a critical early warning is open: limit frozen",
                                  "存在严重预警：额度冻结", 1, 0, 1))
        return Decision("freeze", sit.limit, sit.limit, "applied", tuple(reasons), sit.uplift, True, False)
    if sit.frozen:
        if overdue or sit.critical:
            return None
        return Decision("unfreeze", sit.limit, sit.limit, "applied",
                        (Reason("current", "current again and no critical warning: limit unfrozen",
                                "已结清逾期且无严重预警：额度解冻", 0, 0, 0),), sit.uplift, False, False)
    if sit.days_since_change is not None and sit.days_since_change < policy.cooling_days:
        return None
    rec = recommended(sit, policy)
    floor = min(_round(sit.limit * _dec(1 - policy.max_step), policy, ROUND_UP), sit.limit)
    ceiling = max(_round(sit.limit * _dec(1 + policy.max_step), policy), sit.limit)
    bad = [w for w in sit.warnings if w in policy.decrease_on]
    if bad:
        cut = max(floor, _round(sit.limit * _dec(1 - policy.decrease_step), policy, ROUND_UP))
        target = max(cut, min(rec, sit.limit) if rec is not None else cut)
        if target < sit.limit:
            cuts = tuple(Reason(f"warning_{w}", f"open {w.replace('_', ' ')} warning: limit reduced",
                                f"存在{w}预警：额度下调", w, None, None) for w in bad)
            return _decision("decrease", sit, target, min(sit.uplift, sit.limit - target), cuts, policy, rec)
    season_target = _season_uplift(sit, policy)
    in_season = sit.season_now > 1 + policy.season_deadband
    if sit.uplift > 0 and season_target < sit.uplift and not in_season:
        target = max(floor, sit.limit - (sit.uplift - season_target))
        return _decision("decrease", sit, target, sit.uplift - (sit.limit - target), (Reason(
            "season_end", f"the busy season is over (season ahead ×{sit.season:.2f}): seasonal uplift removed",
            f"旺季结束（未来季节系数 {sit.season:.2f}）：取消季节性提额", round(sit.season, 2), 1.0,
            round(1 + policy.season_deadband, 2)),), policy, rec)
    if overdue or not sit.stable or rec is None:
        return None
    if season_target > sit.uplift:
        target = min(ceiling, sit.limit + (season_target - sit.uplift))
        return _decision("increase", sit, target, sit.uplift + (target - sit.limit), (Reason(
            "season_ahead", f"busy season ahead (×{sit.season:.2f} of an average stretch): seasonal uplift",
            f"旺季将至（季节系数 {sit.season:.2f}）：季节性提额", round(sit.season, 2), 1.0,
            round(1 + policy.season_deadband, 2)),), policy, rec)
    if sit.on_time >= policy.increase_after_cycles and rec > sit.limit:
        target = min(ceiling, rec, _round(sit.limit * _dec(1 + policy.increase_step), policy))
        return _decision("increase", sit, target, sit.uplift, (
            Reason("on_time_cycles", f"{sit.on_time} installments in a row paid on time",
                   f"连续 {sit.on_time} 期按时还款", sit.on_time, None, policy.increase_after_cycles),
            Reason("capacity", f"revenue and cash flow carry a limit of {rec:,.0f}",
                   f"经营收入与现金流可支撑额度 {rec:,.0f}", float(rec), float(sit.limit), None)), policy, rec)
    return None


def _season_uplift(sit: Situation, policy: LimitPolicy) -> Decimal:
    """The seasonal uplift the season ahead calls for (zero outside the busy season)."""
    extra = sit.season - 1.0
    if extra <= policy.season_deadband:
        return ZERO
    base = sit.limit - sit.uplift
    return _round(base * _dec(min(extra, policy.season_max)), policy)


def _decision(action: str, sit: Situation, target: Decimal, uplift: Decimal, reasons: tuple[Reason, ...],
              policy: LimitPolicy, rec: Decimal | None) -> Decision | None:
    target = _round(target, policy, ROUND_DOWN if target > sit.limit else ROUND_UP)
    step = (sit.limit * _dec(policy.max_step)).quantize(CENT, rounding=ROUND_DOWN)
    target = min(max(target, sit.limit - step), sit.limit + step).quantize(CENT)  # rounding never adds to a step
    if target == sit.limit or (target > sit.limit) != (action == "increase"):
        return None
    size = abs(target - sit.limit)
    big = size > sit.limit * _dec(policy.review_above) or size > policy.review_amount
    status = "needs_review" if big else "applied"
    if big:
        reasons = (*reasons, Reason("review", f"a change of {size:,.0f} needs a credit officer's approval",
                                    f"调整金额 {size:,.0f} 需人工复核", float(size), None,
                                    float(min(policy.review_amount, sit.limit * _dec(policy.review_above)))))
    return Decision(action, sit.limit, target, status, reasons, max(uplift, ZERO), False, True)


def _round(x: Decimal, policy: LimitPolicy, rounding: str = ROUND_DOWN) -> Decimal:
    return ((x / policy.round_to).quantize(Decimal(1), rounding=rounding) * policy.round_to).quantize(CENT)


def _dec(x: float) -> Decimal:
    """A float ratio or amount as a Decimal, without the binary noise (1.2 - 1 is 0.2, not 0.19999…)."""
    return Decimal(str(round(x, 6)))
