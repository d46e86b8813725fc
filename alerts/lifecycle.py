"""The alert lifecycle: from findings at moments to alert records (open, updated, resolved).

The core evaluates the rule set (:mod:`alerts.rules`) into :class:`Finding` s and
hands all of a borrower's current findings to :func:`reconcile` with the moment
they hold at. Between two calls the findings are taken to stay as they were.
``reconcile`` keeps one open alert per fingerprint ``(type, loan_id)`` in a tiny
:class:`LifecycleState` and returns the records to emit:

- ``open`` when a finding appears: a new episode with a new id
  (``alert_id(borrower, type, loan, episode=opened_at)``: the opening moment tells
  episodes apart, so no counter has to be kept once an alert is resolved);
- ``updated`` when the severity rises or the set of reason codes changes (not
  when values merely drift). A *fall* (lower severity, or fewer codes) is held
  until it has lasted the type's hysteresis span, so a value hovering around
  the warning/critical boundary does not flap;
- hysteresis: an alert whose finding is gone stays open until the finding has
  been absent for the type's span (``resolve_after``); a finding that comes back
  within the span keeps the same alert. Then ``resolved``, always, inhibited
  alerts included;
- inhibition: an open alert matching an :class:`InhibitRule` source (by default
  a critical ``delinquency``) inhibits the borrower's target alerts (revenue,
  cash-flow, dormancy warnings): their records carry ``inhibited_by`` and a
  reason saying so; when the inhibitor resolves, those still active are
  re-emitted as ``updated`` without it;
- re-notify: an active, uninhibited alert is re-emitted (``updated``, same id)
  every ``renotify_every`` seconds after its last record.

Time-driven changes (a span ending, a re-notify due) happen at their own
moment, whichever call discovers them: records are stamped with that moment,
so the output depends on the findings and their times, not on how often
``reconcile`` is called. :func:`next_deadline` says when the next one is due,
for the core's timer. Records emitted for a moment before ``now`` take their
reasons from the findings passed at ``now`` (exact when the core calls at each
deadline, as its timer does).

>>> from alerts.records import Reason
>>> policy = Policy(resolve_after=7 * DAY)
>>> state = LifecycleState()
>>> drop = Finding("revenue_decline", "warning", (Reason("revenue_drop", "en", "zh", 0.4, None, 0.3),))
>>> t0 = 1_767_225_600  # 2026-01-01T08:00:00+08:00
>>> [(a.status, a.severity) for a in reconcile(state, "B1", [drop], t0, 0.1, "normal", policy)]
[('open', 'warning')]
>>> reconcile(state, "B1", [], t0 + DAY, 0.1, "normal", policy)  # gone: the span starts
[]
>>> next_deadline(state, policy) == t0 + 8 * DAY
True
>>> [(a.status, a.updated_at) for a in reconcile(state, "B1", [], t0 + 9 * DAY, 0.1, "normal", policy)]
[('resolved', '2026-01-09T08:00:00+08:00')]
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import msgspec

from alerts.messages import TEMPLATES, render
from alerts.records import Alert, Reason, alert_id

DAY = 86_400
SEVERITIES = ("info", "warning", "critical")
RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

# reason codes the lifecycle adds itself; they are not part of an alert's code set
LIFECYCLE_CODES = frozenset({"inhibited", "inhibition_lifted", "reminder", "condition_cleared"})


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Finding:
    """A condition the rules see now: alert ``type``, ``severity`` and the ``reasons`` why.

    ``loan_id`` is set for loan-level conditions (delinquency); the fingerprint
    of the alert is ``(type, loan_id or "")``.

    >>> Finding("delinquency", "critical", (), "L1").fingerprint
    ('delinquency', 'L1')
    """

    type: str
    severity: str
    reasons: tuple[Reason, ...]
    loan_id: str | None = None

    @property
    def fingerprint(self) -> tuple[str, str]:
        return (self.type, self.loan_id or "")

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(sorted({r.code for r in self.reasons}))


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """An open ``source_type`` alert of a ``source_severities`` severity inhibits the
    same borrower's ``target_types`` alerts while their severity is in ``target_severities``.
    """

    source_type: str
    target_types: tuple[str, ...]
    source_severities: tuple[str, ...] = ("critical",)
    target_severities: tuple[str, ...] = ("info", "warning")


DEFAULT_INHIBIT = (
    InhibitRule("delinquency", ("revenue_decline", "revenue_volatility", "dormancy", "cash_runway",
                                "margin_decline")),
)


@dataclass(frozen=True, slots=True)
class Policy:
    """Lifecycle timing, in seconds, and inhibition (configuration: ``[lifecycle]`` in rules.toml).

    ``resolve_after`` is the hysteresis span: how long a finding must stay away
    before its alert resolves, and how long a fall in severity must last before
    it is emitted. ``resolve_after_by_type`` overrides it per type (delinquency
    resolves at once). ``renotify_every`` 0 turns re-notification off.
    ``timezone`` is the zone of the ISO 8601 timestamps in the records.

    >>> p = Policy()
    >>> p.span("delinquency"), p.span("revenue_decline") // DAY
    (0, 7)
    """

    timezone: str = "Asia/Shanghai"
    resolve_after: int = 7 * DAY
    resolve_after_by_type: Mapping[str, int] = field(default_factory=lambda: {"delinquency": 0})
    renotify_every: int = 7 * DAY
    inhibit: tuple[InhibitRule, ...] = DEFAULT_INHIBIT
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", ZoneInfo(self.timezone))
        for name, value in (("resolve_after", self.resolve_after), ("renotify_every", self.renotify_every),
                            *self.resolve_after_by_type.items()):
            if value < 0:
                raise ValueError(f"lifecycle policy: {name} must be >= 0 seconds, got {value}")

    def span(self, alert_type: str) -> int:
        return self.resolve_after_by_type.get(alert_type, self.resolve_after)


# --------------------------------------------------------------------------- state


class OpenAlert(msgspec.Struct, array_like=True, omit_defaults=True):
    """One open alert: what its last record said, and the clocks that run on it (~50 bytes)."""

    type: str
    opened: int  # epoch seconds; also the episode in the alert id
    severity: int  # rank in SEVERITIES of the last record
    codes: list[str]  # sorted reason codes of the last record
    notify_at: int  # next re-notify moment (0: never)
    loan: str = ""
    clear_since: int = 0  # first moment its finding was seen absent (0: present)
    calm_since: int = 0  # first moment its finding was seen lower than the last record (0: not lower)
    inhibitor: int = 0  # _mark of the alert inhibiting it in its last record (0: none)


class LifecycleState(msgspec.Struct, array_like=True, omit_defaults=True):
    """A borrower's open alerts and the latest moment reconciled."""

    alerts: list[OpenAlert] = []
    clock: int = 0


def hash32(text: str) -> int:
    """A stable non-zero 32-bit hash (for remembering which alert inhibits another in 5 bytes).

    >>> hash32("a") == hash32("a") != hash32("b")
    True
    """
    return zlib.crc32(text.encode()) or 1


def _mark(source: OpenAlert | None) -> int:
    """What an alert remembers of its inhibitor: a hash of the inhibitor's episode (0: none)."""
    return hash32(f"{source.type}|{source.loan}|{source.opened}") if source is not None else 0


# --------------------------------------------------------------------------- queries


def open_types(state: LifecycleState, loan_id: str | None = None) -> frozenset[str]:
    """Types of the open alerts of one scope (borrower-level, or one loan): for ``rules.evaluate``.

    >>> s = LifecycleState([OpenAlert("delinquency", 1, 2, ["dpd_30_plus"], 0, "L1")])
    >>> open_types(s, "L1"), open_types(s)
    (frozenset({'delinquency'}), frozenset())
    """
    loan = loan_id or ""
    return frozenset(a.type for a in state.alerts if a.loan == loan)


def has_open(state: LifecycleState, severity: str = "critical") -> bool:
    """Whether an alert of at least ``severity`` is open (for the risk class).

    >>> has_open(LifecycleState([OpenAlert("anomaly", 1, 1, ["x"], 0)]))
    False
    """
    return any(a.severity >= RANK[severity] for a in state.alerts)


def next_deadline(state: LifecycleState, policy: Policy) -> int | None:
    """The earliest moment at which the passing of time alone changes something.

    A hysteresis span ending (resolution, or a fall in severity being
    emitted), or a re-notify falling due. ``None`` when nothing is pending.

    >>> next_deadline(LifecycleState(), Policy()) is None
    True
    """
    best: int | None = None
    for a in state.alerts:
        m = _deadline(a, policy)
        if m and (best is None or m < best):
            best = m
    return best


def _deadline(a: OpenAlert, policy: Policy) -> int:
    if a.clear_since:
        return _resolves_at(a, policy)
    moments = [m for m in (a.calm_since and a.calm_since + policy.span(a.type),
                           0 if a.inhibitor else a.notify_at) if m]
    return min(moments, default=0)


def _resolves_at(a: OpenAlert, policy: Policy) -> int:
    # never in the second it opened: a new episode's id (its opening second) stays unique
    return max(a.clear_since + policy.span(a.type), a.opened + 1)


# --------------------------------------------------------------------------- reconcile


@dataclass(slots=True)
class _Context:
    borrower_id: str
    risk_score: float
    risk_class: str
    policy: Policy


def reconcile(state: LifecycleState, borrower_id: str, findings: Iterable[Finding], now: int,
              risk_score: float, risk_class: str, policy: Policy) -> list[Alert]:
    """Bring the borrower's alerts in line with ``findings`` as of ``now``; the records to emit.

    ``findings`` are *all* the borrower's current findings (borrower- and
    loan-level); an open alert missing from them starts its hysteresis span.
    ``now`` is epoch seconds; a ``now`` earlier than the latest one seen is
    taken as the latest (time does not run backwards). The state is changed in
    place.

    >>> from alerts.records import Reason
    >>> p, s = Policy(), LifecycleState()
    >>> dq = Finding("delinquency", "critical", (Reason("dpd_30_plus", "en", "zh", 31, 0, 30),), "L1")
    >>> rv = Finding("revenue_decline", "warning", (Reason("revenue_drop", "en", "zh", 0.4, None, 0.3),))
    >>> out = reconcile(s, "B1", [dq, rv], 1_767_225_600, 0.4, "special_mention", p)
    >>> [(a.type, a.status, a.inhibited_by == out[0].alert_id) for a in out]
    [('delinquency', 'open', False), ('revenue_decline', 'open', True)]
    >>> out = reconcile(s, "B1", [rv], 1_767_225_600 + DAY, 0.2, "normal", p)  # loan cured
    >>> [(a.type, a.status, a.inhibited_by) for a in out]
    [('delinquency', 'resolved', None), ('revenue_decline', 'updated', None)]
    """
    now = max(now, state.clock)
    present: dict[tuple[str, str], Finding] = _merge(findings)
    if _steady(state, present, now, policy):  # the usual case: nothing changes
        state.clock = now
        return []
    ctx = _Context(borrower_id, risk_score, risk_class, policy)
    out: list[Alert] = []
    # 1. time-driven changes due strictly before now, each at its own moment
    while True:
        moment = next_deadline(state, policy)
        if moment is None or moment >= now:
            break
        out.extend(_batch(state, ctx, moment, present, observe=False))
    # 2. the findings at now, then what falls due at now
    out.extend(_batch(state, ctx, now, present, observe=True))
    state.clock = now
    return out


def _steady(state: LifecycleState, present: Mapping[tuple[str, str], Finding], now: int, policy: Policy) -> bool:
    """Whether a call would change nothing: every finding as its alert's record (or its held fall), nothing due."""
    if len(present) != len(state.alerts):
        return False
    if state.alerts:
        deadline = next_deadline(state, policy)
        if deadline is not None and deadline <= now:
            return False
    for a in state.alerts:
        f = present.get(_key(a))
        if f is None or a.clear_since or _relation(f, a) != ("down" if a.calm_since else "same"):
            return False
    return True


def _merge(findings: Iterable[Finding]) -> dict[tuple[str, str], Finding]:
    """One finding per fingerprint: the highest severity, the union of the reasons."""
    merged: dict[tuple[str, str], Finding] = {}
    for f in findings:
        if f.severity not in RANK:
            raise ValueError(f"finding {f.type}: severity {f.severity!r} is not one of {', '.join(SEVERITIES)}")
        old = merged.get(f.fingerprint)
        if old is None:
            merged[f.fingerprint] = f
            continue
        seen = {r.code for r in old.reasons}
        reasons = old.reasons + tuple(r for r in f.reasons if r.code not in seen)
        severity = max(old.severity, f.severity, key=RANK.__getitem__)
        merged[f.fingerprint] = Finding(f.type, severity, reasons, f.loan_id)
    return merged


def _key(a: OpenAlert) -> tuple[str, str]:
    return (a.type, a.loan)


def _relation(f: Finding, a: OpenAlert) -> str:
    """``same``, ``up`` (higher severity or a new code: emit now) or ``down`` (hold for the span)."""
    sev, codes = RANK[f.severity], list(f.codes)
    if sev == a.severity and codes == a.codes:
        return "same"
    if sev > a.severity or not set(codes) <= set(a.codes):
        return "up"
    return "down"


def _roll(notify_at: int, moment: int, every: int) -> int:
    """The first re-notify moment on the grid ``notify_at + k * every`` after ``moment``."""
    if not every:
        return 0
    if not notify_at or notify_at > moment:
        return notify_at
    return notify_at + ((moment - notify_at) // every + 1) * every


def _batch(state: LifecycleState, ctx: _Context, moment: int, present: Mapping[tuple[str, str], Finding],
           *, observe: bool) -> list[Alert]:
    """Everything that happens at one moment.

    ``observe``: the findings hold at ``moment`` (a call); otherwise this is a
    deadline between calls, when the findings are the previous call's and
    ``present`` (the next call's) serves only for the reasons of records.
    """
    policy = ctx.policy
    status: dict[tuple[str, str], str] = {}  # what to emit for an open alert
    notes: dict[tuple[str, str], str] = {}  # a lifecycle reason to add (reminder, inhibition_lifted)
    usable: dict[tuple[str, str], Finding] = {}  # findings whose reasons may be emitted at this moment
    if observe:
        by_key = {_key(a): a for a in state.alerts}
        for fp, f in sorted(present.items()):
            a = by_key.get(fp)
            if a is None:
                a = OpenAlert(f.type, moment, RANK[f.severity], list(f.codes), 0, f.loan_id or "")
                state.alerts.append(a)
                status[fp] = "open"
            else:
                if a.clear_since:  # back within the span: the same alert goes on, no record
                    a.clear_since = 0
                    a.notify_at = _roll(a.notify_at, moment, policy.renotify_every)
                rel = _relation(f, a)
                if rel == "up":
                    status[fp] = "updated"
                elif rel == "down":
                    a.calm_since = a.calm_since or moment
                else:
                    a.calm_since = 0
            usable[fp] = f
        for a in state.alerts:
            if _key(a) not in present and not a.clear_since:
                a.clear_since, a.calm_since = moment, 0
    else:
        for a in state.alerts:
            later = present.get(_key(a))
            # the next call's finding stands for the previous one only if it relates to the record alike
            if later is not None and not a.clear_since \
                    and _relation(later, a) == ("down" if a.calm_since else "same"):
                usable[_key(a)] = later
    # spans that end now: resolutions and falls in severity
    pool = list(state.alerts)  # inhibitors of what resolves now may resolve with it
    resolved: list[OpenAlert] = []
    for a in pool:
        fp = _key(a)
        if a.clear_since and _resolves_at(a, policy) <= moment:
            state.alerts.remove(a)
            resolved.append(a)
        elif a.calm_since and a.calm_since + policy.span(a.type) <= moment:
            a.calm_since = 0
            if fp in usable:
                status.setdefault(fp, "updated")
    # inhibition, as it stands after this moment's changes. A severity is the one the alert's record
    # will carry: the finding's if it is emitted now, else its last record's. Emitting an alert for a
    # change of inhibitor may change its severity, so repeat until nothing more is to be emitted.
    def severity(a: OpenAlert) -> str:
        fp = _key(a)
        return usable[fp].severity if fp in status else SEVERITIES[a.severity]

    while True:
        wanted = _inhibitors(state.alerts, state.alerts, ctx, severity)
        more = False
        for a in state.alerts:
            fp = _key(a)
            want = wanted.get(fp)
            if _mark(want) != a.inhibitor and not a.clear_since and fp in usable \
                    and fp not in status:
                status[fp] = "updated"
                more = True
        if not more:
            break
    for a in state.alerts:
        fp = _key(a)
        if status.get(fp) == "updated" and a.inhibitor and not wanted.get(fp):
            notes[fp] = "inhibition_lifted"
    # re-notify: active, steady (no fall on hold), not inhibited, due
    for a in state.alerts:
        fp = _key(a)
        if a.clear_since or not a.notify_at or a.notify_at > moment:
            continue
        if fp not in status and fp in usable and not a.calm_since and not wanted.get(fp):
            status[fp] = "updated"
            notes[fp] = "reminder"
        else:
            a.notify_at = _roll(a.notify_at, moment, policy.renotify_every)
    # records
    gone = _inhibitors(resolved, pool, ctx, lambda a: SEVERITIES[a.severity])
    out = [_resolved(a, ctx, moment, gone.get(_key(a))) for a in sorted(resolved, key=_key)]
    for a in sorted(state.alerts, key=_key):
        fp = _key(a)
        if fp not in status:
            continue
        f = usable[fp]
        want = wanted.get(fp)
        a.severity, a.codes, a.calm_since = RANK[f.severity], list(f.codes), 0
        a.inhibitor = _mark(want)
        a.notify_at = moment + policy.renotify_every if policy.renotify_every else 0
        out.append(_record(a, f, ctx, status[fp], moment, want, notes.get(fp)))
    return out


def _inhibitors(targets: Sequence[OpenAlert], sources: Sequence[OpenAlert], ctx: _Context,
                severity: Callable[[OpenAlert], str]) -> dict[tuple[str, str], OpenAlert]:
    """For each inhibited target: the alert that inhibits it (the earliest opened source)."""
    rules = ctx.policy.inhibit
    if not rules or len(sources) < 2:
        return {}
    ranked = sorted(sources, key=lambda a: (a.opened, a.type, a.loan))
    out: dict[tuple[str, str], OpenAlert] = {}
    for target in targets:
        level = severity(target)
        for source in ranked:
            if source is target:
                continue
            if any(r.source_type == source.type and severity(source) in r.source_severities
                   and target.type in r.target_types and level in r.target_severities for r in rules):
                out[_key(target)] = source
                break
    return out


def _id(borrower_id: str, a: OpenAlert) -> str:
    return alert_id(borrower_id, a.type, a.loan or None, a.opened)


def _iso(t: int, policy: Policy) -> str:
    return dt.datetime.fromtimestamp(t, policy.tz).isoformat()


def _type_names(alert_type: str) -> tuple[str, str]:
    key = f"type_{alert_type}"
    if key in TEMPLATES:
        return TEMPLATES[key]
    return alert_type.replace("_", " "), alert_type


def _inhibited_reason(source_id: str, source: OpenAlert) -> Reason:
    en_type, zh_type = _type_names(source.type)
    code = "inhibited_loan" if source.loan else "inhibited"
    en, zh = render(code, alert_id=source_id, type_en=en_type, type_zh=zh_type, loan_id=source.loan,
                    severity=SEVERITIES[source.severity])
    return Reason("inhibited", en, zh, value=source_id)


def _record(a: OpenAlert, f: Finding, ctx: _Context, status: str, moment: int,
            inhibitor: OpenAlert | None, note: str | None) -> Alert:
    policy = ctx.policy
    reasons: list[Reason] = list(f.reasons)
    inhibited_by = _id(ctx.borrower_id, inhibitor) if inhibitor is not None else None
    if inhibited_by is not None and inhibitor is not None:
        reasons.append(_inhibited_reason(inhibited_by, inhibitor))
    if note == "reminder":
        days = (moment - a.opened) // DAY
        en, zh = render("reminder", days=days, opened=_iso(a.opened, policy)[:10])
        reasons.append(Reason("reminder", en, zh, value=days, threshold=policy.renotify_every / DAY))
    elif note == "inhibition_lifted":
        en, zh = render("inhibition_lifted")
        reasons.append(Reason("inhibition_lifted", en, zh))
    return Alert(
        alert_id=_id(ctx.borrower_id, a),
        borrower_id=ctx.borrower_id,
        loan_id=a.loan or None,
        type=a.type,
        severity=f.severity,
        status=status,
        reasons=tuple(reasons),
        risk_score=ctx.risk_score,
        risk_class=ctx.risk_class,
        opened_at=_iso(a.opened, policy),
        updated_at=_iso(moment, policy),
        inhibited_by=inhibited_by,
    )


def span_text(seconds: int) -> tuple[str, str]:
    """A span in words, English and Chinese.

    >>> span_text(7 * DAY), span_text(3600), span_text(DAY + 1800)
    (('7 days', '7天'), ('1 hour', '1小时'), ('24.5 hours', '24.5小时'))
    """
    if seconds % DAY == 0:
        n = seconds // DAY
        return f"{n} day{'s' if n != 1 else ''}", f"{n}天"
    hours = round(seconds / 3600, 2)
    return f"{hours:g} hour{'s' if hours != 1 else ''}", f"{hours:g}小时"


def _resolved(a: OpenAlert, ctx: _Context, moment: int, inhibitor: OpenAlert | None) -> Alert:
    policy = ctx.policy
    span = policy.span(a.type)
    en_type, zh_type = _type_names(a.type)
    span_en, span_zh = span_text(span)
    code = f"resolved_{a.type}"
    if code not in TEMPLATES:
        code = "resolved" if span else "resolved_at_once"
    en, zh = render(code, type_en=en_type, type_zh=zh_type, loan_id=a.loan, span_en=span_en, span_zh=span_zh,
                    since=_iso(a.clear_since, policy)[:16].replace("T", " "))
    reasons = [Reason("condition_cleared", en, zh, value=round((moment - a.clear_since) / DAY, 4),
                      baseline=None, threshold=round(span / DAY, 4))]
    inhibited_by = _id(ctx.borrower_id, inhibitor) if inhibitor is not None else None
    if inhibited_by is not None and inhibitor is not None:
        reasons.append(_inhibited_reason(inhibited_by, inhibitor))
    return Alert(
        alert_id=_id(ctx.borrower_id, a),
        borrower_id=ctx.borrower_id,
        loan_id=a.loan or None,
        type=a.type,
        severity=SEVERITIES[a.severity],
        status="resolved",
        reasons=tuple(reasons),
        risk_score=ctx.risk_score,
        risk_class=ctx.risk_class,
        opened_at=_iso(a.opened, policy),
        updated_at=_iso(moment, policy),
        inhibited_by=inhibited_by,
    )


def policy_from_config(table: Mapping[str, object], inhibit: Sequence[Mapping[str, object]], *,
                       timezone: str = "Asia/Shanghai", where: str = "rules") -> Policy:
    """A :class:`Policy` from the ``[lifecycle]`` table and ``[[inhibit]]`` list of rules.toml.

    Days may be fractional. Errors name the file and the key.

    >>> p = policy_from_config({"resolve_after_days": 5, "renotify_days": 0,
    ...                         "resolve_after_days_by_type": {"delinquency": 0}}, [])
    >>> p.resolve_after // DAY, p.renotify_every, p.inhibit
    (5, 0, ())
    """
    known = {"resolve_after_days", "renotify_days", "resolve_after_days_by_type", "timezone"}
    for key in table:
        if key not in known:
            raise ValueError(f"{where}: [lifecycle]: unknown key {key!r} (known: {', '.join(sorted(known))})")

    def days(value: object, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{where}: [lifecycle]: {key} must be a number of days >= 0, got {value!r}")
        return int(round(value * DAY))

    by_type_raw = table.get("resolve_after_days_by_type", {"delinquency": 0})
    if not isinstance(by_type_raw, Mapping):
        raise ValueError(f"{where}: [lifecycle]: resolve_after_days_by_type must be a table of type = days")
    by_type = {str(k): days(v, f"resolve_after_days_by_type.{k}") for k, v in by_type_raw.items()}
    rules: list[InhibitRule] = []
    for n, item in enumerate(inhibit, 1):
        here = f"{where}: [[inhibit]] #{n}"
        fields = {"source_type", "target_types", "source_severities", "target_severities"}
        for key in item:
            if key not in fields:
                raise ValueError(f"{here}: unknown key {key!r} (known: {', '.join(sorted(fields))})")
        if not isinstance(item.get("source_type"), str):
            raise ValueError(f"{here}: source_type must be an alert type (a string)")
        lists: dict[str, tuple[str, ...]] = {}
        defaults = {"source_severities": ["critical"], "target_severities": ["info", "warning"]}
        for key in ("target_types", "source_severities", "target_severities"):
            value = item.get(key, defaults.get(key))
            if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{here}: {key} must be a non-empty list of strings")
            if key.endswith("severities"):
                for v in value:
                    if v not in RANK:
                        raise ValueError(f"{here}: {key}: {v!r} is not one of {', '.join(SEVERITIES)}")
            lists[key] = tuple(value)
        rules.append(InhibitRule(str(item["source_type"]), lists["target_types"], lists["source_severities"],
                                 lists["target_severities"]))
    tz = table.get("timezone", timezone)
    try:
        ZoneInfo(str(tz))
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError
        raise ValueError(f"{where}: [lifecycle]: timezone {tz!r} is not a known time zone") from exc
    return Policy(
        timezone=str(tz),
        resolve_after=days(table.get("resolve_after_days", 7), "resolve_after_days"),
        resolve_after_by_type=by_type,
        renotify_every=days(table.get("renotify_days", 7), "renotify_days"),
        inhibit=tuple(rules),
    )
