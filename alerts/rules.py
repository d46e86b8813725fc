"""The rule set: named signals in, findings (alert type, severity, explained reasons) out.

A *signal* is a plain number the core computes for a borrower (or one of its
loans, or a data feed) from the detectors: ``revenue_drop_ratio``,
``cash_runway_days``, ``dpd`` ... (:data:`SIGNALS`). The rules are data,
``alerts/rules.toml`` by default, validated once by :func:`load_rules`;
:func:`evaluate` is pure and cheap, and its findings go to
:func:`alerts.lifecycle.reconcile`.

>>> rules = load_rules(include_disabled=True)
>>> [f] = evaluate(rules, {"revenue_drop_ratio": 0.38, "revenue_drop_days": 21},
...                {"revenue_expected_daily": 8350.0})
>>> f.type, f.severity
('revenue_decline', 'warning')
>>> r = f.reasons[0]
>>> r.code, r.value, r.baseline, r.threshold
('revenue_drop', 0.38, 8350.0, 0.3)
>>> r.message
'Revenue over the last 21 days is 38% below its seasonal baseline (threshold 30%).'
>>> r.message_zh
'近21天营业收入较季节性基线下降38%（阈值30%）。'

A rule may require other signals: slow erosion counts only once the baseline
level itself has moved (one bad week does not make it).

>>> [f] = evaluate(rules, {"revenue_erosion": 0.31, "revenue_level_erosion": 0.14},
...                {"revenue_daily_3m_ago": 9000.0})
>>> f.reasons[0].code, f.reasons[0].message
('revenue_erosion', "Revenue has been eroding: the last days' revenue is 31% below its level of three months ago (threshold 25%).")
>>> evaluate(rules, {"revenue_erosion": 0.31, "revenue_level_erosion": 0.05}, {})
[]
"""

from __future__ import annotations

import math
import operator
import re
import tomllib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from alerts.lifecycle import RANK, SEVERITIES, Finding, Policy, policy_from_config
from alerts.messages import TEMPLATES
from alerts.records import Reason

__all__ = ["SIGNALS", "BASELINES", "Signal", "Level", "Condition", "Rule", "RuleSet", "RuleError", "Finding",
           "load_rules", "parse_rules", "evaluate"]

SCOPES = ("borrower", "loan", "feed")


@dataclass(frozen=True, slots=True)
class Signal:
    scope: str  # borrower | loan | feed: which evaluate call carries it
    meaning: str


SIGNALS: dict[str, Signal] = {
    "revenue_drop_ratio": Signal("borrower", "share by which revenue since the drop began is below the seasonal "
                                             "baseline, 0..1 (1 - the revenue detector's drop_ratio)"),
    "revenue_drop_days": Signal("borrower", "days since the sustained drop began; 0 while the revenue detector "
                                            "sees no drop"),
    "revenue_erosion": Signal("borrower", "share by which the last days' revenue (half-life 7 days) is below the "
                                          "baseline level of three month-ends ago, deseasonalised, 0..1; 0 in the "
                                          "first three months: slow erosion the drop detector follows"),
    "revenue_level_erosion": Signal("borrower", "share by which the baseline level itself fell over the last three "
                                                "month-ends, 0..1 (a bad week barely moves it)"),
    "revenue_volatility_ratio": Signal("borrower", "short-run over long-run dispersion of revenue"),
    "revenue_collapsed": Signal("borrower", "1 when revenue has collapsed to near zero, else 0"),
    "dormant_days": Signal("borrower", "days since the last revenue or account event"),
    "cash_runway_days": Signal("borrower", "balance over typical daily outflow, in days"),
    "margin_decline": Signal("borrower", "fall of the margin proxy below its baseline, absolute (0.08 = 8 points)"),
    "margin_decline_month": Signal("borrower", "the same for the last complete month alone (twice as noisy as the "
                                               "two months pooled, but a squeeze shows a month sooner)"),
    "other_lenders_30d": Signal("borrower", "distinct other lenders seen in cash flows within 30 days"),
    "late_cycles": Signal("borrower", "consecutive installments gone overdue"),
    "rolled_forward": Signal("borrower", "1 while in arrears after a roll to a worse DPD bucket, else 0"),
    "overdue_bucket": Signal("borrower", "current DPD bucket: 0 current, 1 = M1 (1-30 DPD), ... 4 = M4+"),
    "anomaly_score": Signal("borrower", "shared anomaly model's score, 0..1"),
    "risk_score": Signal("borrower", "calibrated default probability, 0..1"),
    "dpd": Signal("loan", "days past due of the loan's oldest unpaid installment"),
    "feed_silent_share": Signal("feed", "share of a source's usual daily reporters (same weekday, last 4 weeks; "
                                        "per input partition) that did not report on the day"),
    "feed_silent_borrowers": Signal("feed", "number of a source's usual daily reporters that did not report on "
                                            "the day (per input partition)"),
    "feed_usual_reporters": Signal("feed", "a source's usual number of reporting borrowers on that weekday "
                                           "(per input partition)"),
}

BASELINES: dict[str, str] = {
    "revenue_expected_daily": "seasonal baseline revenue per day, currency units",
    "revenue_daily_3m_ago": "the last days' revenue at the baseline level of three month-ends ago, currency units",
    "revenue_volatility_usual": "usual dispersion of daily revenue",
    "dormancy_threshold_days": "quiet days this borrower's rhythm allows: one more and the silent-feed detector "
                               "calls it silent",
    "report_gap_days": "the borrower's typical gap between reports, in days",
    "cash_runway_usual_days": "the borrower's usual cash runway, in days",
    "margin_usual": "the borrower's baseline margin proxy, 0..1",
}

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
}

RULE_KEYS = {"name", "type", "signal", "op", "levels", "code", "message", "baseline", "scale", "floor",
             "clear", "require", "context", "enabled", "example"}
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


class RuleError(ValueError):
    """A rule set that cannot be used; the message names the file, the rule and the key."""


@dataclass(frozen=True, slots=True)
class Level:
    severity: str
    threshold: float
    code: str


@dataclass(frozen=True, slots=True)
class Condition:
    signal: str
    op: str
    value: float

    def holds(self, signals: Mapping[str, float]) -> bool:
        x = _number(signals.get(self.signal))
        return x is not None and OPS[self.op](x, self.value)


@dataclass(frozen=True, slots=True)
class Rule:
    """One signal compared with thresholds, mildest level first (see rules.toml for the keys)."""

    name: str
    type: str
    signal: str
    op: str
    levels: tuple[Level, ...]
    scope: str = "borrower"
    message: str = ""
    baseline: str | float | None = None
    scale: str | None = None
    floor: float | None = None
    clear: float | None = None
    require: tuple[Condition, ...] = ()
    context: tuple[tuple[str, str], ...] = ()
    example: tuple[tuple[str, float], ...] = ()  # signals and baselines on which the rule fires

    def describe(self) -> str:
        """The thresholds in words (a table cell for ``loanwatch rules``).

        >>> load_rules(include_disabled=True).rule("feed_silent_long").describe()
        'dormant_days >= 2 x dormancy_threshold_days (at least 30): critical'
        >>> load_rules().rule("revenue_drop").describe()
        'revenue_drop_ratio >= 0.3: warning, >= 0.5: critical; clears at 0.15; when revenue_drop_days >= 1'
        """
        unit = f" x {self.baseline}" if self.scale == "baseline" else ""
        floor = f" (at least {self.floor:g})" if self.floor is not None else ""
        levels = ", ".join(f"{self.op} {lv.threshold:g}{unit}{floor}: {lv.severity}" for lv in self.levels)
        text = f"{self.signal} {levels}"
        if self.clear is not None:
            text += f"; clears at {self.clear:g}{unit}"
        if self.require:
            text += "; when " + " and ".join(f"{c.signal} {c.op} {c.value:g}" for c in self.require)
        return text

    def run_example(self) -> tuple[Level, Reason] | None:
        """The level and reason the rule gives on its own ``example`` (``None``: it has none).

        >>> level, reason = load_rules(include_disabled=True).rule("multi_lending").run_example()
        >>> level.severity, reason.message_zh
        ('warning', '近30天内与2家其他放贷机构存在放款或还款往来（阈值2家），有多头借贷迹象。')
        """
        if not self.example:
            return None
        values = dict(self.example)
        return self.check(values, values, "L1" if self.scope == "loan" else None, False)

    def check(self, signals: Mapping[str, float], baselines: Mapping[str, float], loan_id: str | None,
              holding: bool) -> tuple[Level, Reason] | None:
        """The level crossed and its reason, or ``None``; ``holding``: an alert of this type is open.

        >>> rule = load_rules(include_disabled=True).rule("cash_runway")
        >>> level, reason = rule.check({"cash_runway_days": 6.0}, {"cash_runway_usual_days": 45.0}, None, False)
        >>> level.severity, reason.message
        ('critical', 'Cash on hand covers only 6 days of typical outflows (threshold 7 days; usually 45 days).')
        >>> rule.check({"cash_runway_days": 18.0}, {}, None, False) is None
        True
        >>> rule.check({"cash_runway_days": 18.0}, {}, None, True)[0].severity  # still within `clear`
        'warning'
        """
        x = _number(signals.get(self.signal))
        if x is None:
            return None
        bad = OPS[self.op]
        if self.scale is None and not (holding and self.clear is not None) \
                and not bad(x, self.levels[0].threshold):
            return None  # the usual case, decided cheaply
        if not all(c.holds(signals) for c in self.require):
            return None
        base = _number(self.baseline if not isinstance(self.baseline, str) else baselines.get(self.baseline))
        factor = 1.0
        if self.scale == "baseline":
            if base is None or base <= 0:
                return None  # thresholds relative to a baseline not known yet
            factor = base
        found: Level | None = None
        threshold = 0.0
        for level in self.levels:
            t = self._effective(level.threshold, factor)
            if bad(x, t):
                found, threshold = level, t
        if found is None:
            if not holding or self.clear is None or not bad(x, self._effective(self.clear, factor)):
                return None
            found = self.levels[0]
            threshold = self._effective(found.threshold, factor)
        values: dict[str, object] = {"value": x, "threshold": threshold, "baseline": base,
                                     "loan_id": loan_id or ""}
        for name, signal in self.context:
            values[name] = _number(signals.get(signal))
        en, zh = _render(self.message, values)
        return found, Reason(found.code, en, zh, value=x, baseline=base, threshold=_tidy(threshold))

    def _effective(self, threshold: float, factor: float) -> float:
        t = threshold * factor
        if self.floor is not None:
            t = max(t, self.floor)
        return t


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The validated rules and the lifecycle policy of one rules file."""

    rules: tuple[Rule, ...]
    policy: Policy
    source: str = "rules.toml"
    by_scope: Mapping[str, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        scopes = {scope: tuple(r for r in self.rules if r.scope == scope) for scope in SCOPES}
        object.__setattr__(self, "by_scope", scopes)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(sorted({r.type for r in self.rules}))

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(f"no rule named {name!r} in {self.source}")


# --------------------------------------------------------------------------- evaluate


def evaluate(rules: RuleSet | Iterable[Rule], signals: Mapping[str, float], baselines: Mapping[str, float],
             *, loan_id: str | None = None, scope: str | None = None,
             open_types: Collection[str] = ()) -> list[Finding]:
    """The findings of one scope: one per alert type, sorted by type.

    ``scope`` is ``loan`` when ``loan_id`` is given, else ``borrower`` (pass
    ``feed`` for a data source's signals). A signal missing from ``signals`` (or
    NaN) means no data: its rules stay quiet. ``open_types`` are the types of
    this scope's open alerts (``alerts.lifecycle.open_types``), for the rules'
    ``clear`` thresholds.

    >>> rules = load_rules(include_disabled=True)
    >>> [(f.type, f.severity, f.loan_id, [r.code for r in f.reasons])
    ...  for f in evaluate(rules, {"dpd": 95}, {}, loan_id="L1")]
    [('delinquency', 'critical', 'L1', ['dpd_over_90'])]
    >>> [(f.type, f.severity, [r.code for r in f.reasons])
    ...  for f in evaluate(rules, {"late_cycles": 2, "rolled_forward": 1, "overdue_bucket": 2}, {})]
    [('repayment_behaviour', 'warning', ['late_repayments', 'bucket_roll'])]
    >>> evaluate(rules, {"dpd": 12}, {}, loan_id="L1")
    []
    >>> [f.reasons[0].message for f in evaluate(rules, {"dpd": 12}, {}, loan_id="L1", open_types={"delinquency"})]
    ['Loan L1 is 12 days past due (threshold 30 days).']
    """
    scope = scope or ("loan" if loan_id else "borrower")
    if isinstance(rules, RuleSet):
        items = rules.by_scope.get(scope, ())
    else:
        items = tuple(r for r in rules if r.scope == scope)
    found: dict[str, tuple[int, list[Reason]]] = {}
    for rule in items:
        hit = rule.check(signals, baselines, loan_id, rule.type in open_types)
        if hit is None:
            continue
        level, reason = hit
        rank, reasons = found.get(rule.type, (-1, []))
        reasons.append(reason)
        found[rule.type] = (max(rank, RANK[level.severity]), reasons)
    return [Finding(t, SEVERITIES[rank], tuple(reasons), loan_id) for t, (rank, reasons) in sorted(found.items())]


def _number(x: object) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _tidy(x: float) -> float:
    return round(x, 10)


class _Unknown:
    """A value not known: renders as ``n/a`` whatever the format spec."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __format__(self, spec: str) -> str:
        return self.text


class _Number(float):
    """A float that also formats as percentage points: ``{x:.0pp}`` of 0.12 is ``12``.

    >>> f"{_Number(0.125):.1pp} / {_Number(0.125):.0%}"
    '12.5 / 12%'
    """

    def __format__(self, spec: str) -> str:
        if spec.endswith("pp"):
            return format(float(self) * 100, (spec[:-2] or ".0") + "f")
        return format(float(self), spec)


def _values(values: dict[str, object], unknown: str) -> dict[str, object]:
    return {k: _Unknown(unknown) if v is None else _Number(v) if isinstance(v, (int, float)) else v
            for k, v in values.items()}


def _render(code: str, values: dict[str, object]) -> tuple[str, str]:
    en, zh = TEMPLATES[code]
    return en.format_map(_values(values, "n/a")), zh.format_map(_values(values, "不详"))


# --------------------------------------------------------------------------- load


def load_rules(path: str | Path | None = None, *, timezone: str = "Asia/Shanghai",
               signals: Mapping[str, Signal] = SIGNALS,
               baselines: Collection[str] = tuple(BASELINES), include_disabled: bool = False) -> RuleSet:
    """Read and validate a rules file; ``None`` reads the packaged default ``alerts/rules.toml``.

    ``timezone`` is the zone of the records' timestamps unless ``[lifecycle]``
    names one. ``signals`` / ``baselines`` are the names rules may use.

    >>> rs = load_rules(include_disabled=True)
    >>> rs.policy.span("delinquency"), rs.policy.renotify_every // 86400, len(rs.rules) >= 10
    (0, 7, True)
    """
    if path is None:
        text = resources.files("alerts").joinpath("rules.toml").read_text(encoding="utf-8")
        where = "alerts/rules.toml"
    else:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    return parse_rules(text, where=where, timezone=timezone, signals=signals, baselines=baselines,
                       include_disabled=include_disabled)


def parse_rules(text: str, *, where: str = "rules.toml", timezone: str = "Asia/Shanghai",
                signals: Mapping[str, Signal] = SIGNALS,
                baselines: Collection[str] = tuple(BASELINES), include_disabled: bool = False) -> RuleSet:
    """Validate rules given as TOML text (what :func:`load_rules` does after reading the file).

    >>> parse_rules('[[rule]]\\nname = "x"\\ntype = "anomaly"\\nsignal = "anomaly_score"\\nop = ">="\\n'
    ...             'levels = [{ severity = "severe", threshold = 0.9 }]\\nmessage = "anomaly"')
    Traceback (most recent call last):
    ...
    alerts.rules.RuleError: rules.toml: rule 'x': key 'levels': severity 'severe' is not one of info, warning, critical
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{where}: not valid TOML: {exc}") from exc
    for key in doc:
        if key not in ("lifecycle", "inhibit", "rule"):
            raise RuleError(f"{where}: unknown top-level key {key!r} (known: lifecycle, inhibit, rule)")
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleError(f"{where}: no rules: add [[rule]] tables")
    rules: list[Rule] = []
    names: set[str] = set()
    codes: dict[str, str] = {}
    disabled_types: set[str] = set()
    for n, raw in enumerate(raw_rules, 1):
        enabled = raw.get("enabled", True) if isinstance(raw, dict) else True
        if not isinstance(enabled, bool):
            raise RuleError(f"{where}: rule #{n}: key 'enabled': must be true or false")
        rule = _parse_rule({k: v for k, v in raw.items() if k != "enabled"}, n, where, signals, baselines)
        if not enabled and not include_disabled:  # validated, then left out: kept in the file until tuned
            disabled_types.add(rule.type)
            continue
        if rule.name in names:
            raise RuleError(f"{where}: rule {rule.name!r}: key 'name': another rule has this name")
        names.add(rule.name)
        for level in rule.levels:
            other = codes.get(level.code)
            if other is not None and other != rule.name:
                raise RuleError(f"{where}: rule {rule.name!r}: key 'levels': reason code {level.code!r} "
                                f"is already used by rule {other!r}")
            codes[level.code] = rule.name
        rules.append(rule)
    types = {r.type for r in rules} | disabled_types  # inhibit rules may name a type that is switched off
    lifecycle = doc.get("lifecycle", {})
    inhibit = doc.get("inhibit", [])
    if not isinstance(lifecycle, dict):
        raise RuleError(f"{where}: [lifecycle] must be a table")
    if not isinstance(inhibit, list) or not all(isinstance(i, dict) for i in inhibit):
        raise RuleError(f"{where}: inhibit must be [[inhibit]] tables")
    try:
        policy = policy_from_config(lifecycle, inhibit, timezone=timezone, where=where)
    except ValueError as exc:
        raise RuleError(str(exc)) from exc
    for t in policy.resolve_after_by_type:
        if t not in types:
            raise RuleError(f"{where}: [lifecycle]: key 'resolve_after_days_by_type.{t}': no rule has type {t!r}")
    for n, rule_ in enumerate(policy.inhibit, 1):
        for key, names_ in (("source_type", (rule_.source_type,)), ("target_types", rule_.target_types)):
            for t in names_:
                if t not in types:
                    raise RuleError(f"{where}: [[inhibit]] #{n}: key {key!r}: no rule has type {t!r} "
                                    f"(types: {', '.join(sorted(types))})")
    return RuleSet(tuple(rules), policy, where)


def _parse_rule(raw: object, n: int, where: str, signals: Mapping[str, Signal],
                baselines: Collection[str]) -> Rule:
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: [[rule]] #{n} must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise RuleError(f"{where}: [[rule]] #{n}: key 'name': a lower-case identifier is required, got {name!r}")
    here = f"{where}: rule {name!r}"

    def fail(key: str, what: str) -> RuleError:
        return RuleError(f"{here}: key {key!r}: {what}")

    for key in raw:
        if key not in RULE_KEYS:
            raise fail(key, f"unknown key (known: {', '.join(sorted(RULE_KEYS))})")
    for key in ("type", "signal", "op", "levels"):
        if key not in raw:
            raise fail(key, "missing")
    alert_type = raw["type"]
    if not isinstance(alert_type, str) or not _NAME.match(alert_type):
        raise fail("type", f"a lower-case identifier is required, got {alert_type!r}")

    def signal_name(key: str, value: object) -> str:
        if not isinstance(value, str) or value not in signals:
            raise fail(key, f"unknown signal {value!r} (known: {', '.join(sorted(signals))})")
        return value

    def op_of(key: str, value: object) -> str:
        if value not in OPS:
            raise fail(key, f"{value!r} is not one of {', '.join(OPS)}")
        return str(value)

    def number(key: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise fail(key, f"a number is required, got {value!r}")
        return float(value)

    signal = signal_name("signal", raw["signal"])
    scope = signals[signal].scope
    op = op_of("op", raw["op"])
    code = raw.get("code", name)
    if not isinstance(code, str) or not _NAME.match(code):
        raise fail("code", f"a lower-case identifier is required, got {code!r}")
    # levels
    raw_levels = raw["levels"]
    if not isinstance(raw_levels, list) or not raw_levels:
        raise fail("levels", "a non-empty list of { severity, threshold } is required")
    levels: list[Level] = []
    for item in raw_levels:
        if not isinstance(item, dict):
            raise fail("levels", f"each level is a table {{ severity, threshold }}, got {item!r}")
        for k in item:
            if k not in ("severity", "threshold", "code"):
                raise fail("levels", f"unknown key {k!r} in a level (known: severity, threshold, code)")
        severity = item.get("severity")
        if severity not in RANK:
            raise fail("levels", f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        if "threshold" not in item:
            raise fail("levels", f"the {severity} level has no threshold")
        threshold = number("levels", item["threshold"])
        level_code = item.get("code", code)
        if not isinstance(level_code, str) or not _NAME.match(level_code):
            raise fail("levels", f"code must be a lower-case identifier, got {level_code!r}")
        levels.append(Level(str(severity), threshold, level_code))
    rising = op in (">=", ">")
    for a, b in zip(levels, levels[1:], strict=False):
        if (b.threshold <= a.threshold) if rising else (b.threshold >= a.threshold):
            raise fail("levels", f"thresholds must {'rise' if rising else 'fall'} from the mildest level "
                                 f"(op {op}): {a.threshold:g} then {b.threshold:g}")
        if RANK[b.severity] < RANK[a.severity]:
            raise fail("levels", f"severities must not fall from the mildest level: {a.severity} then {b.severity}")
    # baseline, scale, floor, clear
    baseline = raw.get("baseline")
    if isinstance(baseline, str):
        if baseline not in baselines and baseline not in signals:
            raise fail("baseline", f"unknown baseline {baseline!r} (known: {', '.join(sorted(baselines))}, "
                                   "or a number)")
    elif baseline is not None:
        baseline = number("baseline", baseline)
    scale = raw.get("scale")
    if scale is not None and scale != "baseline":
        raise fail("scale", f"the only scale is \"baseline\", got {scale!r}")
    if scale is not None and not isinstance(baseline, str):
        raise fail("scale", "scale = \"baseline\" needs a named baseline")
    floor = raw.get("floor")
    if floor is not None:
        floor = number("floor", floor)
        if scale is None:
            raise fail("floor", "a floor only applies with scale = \"baseline\"")
        if not rising:
            raise fail("floor", f"a floor only applies to rules with op >= or > (this one is {op})")
    clear = raw.get("clear")
    if clear is not None:
        clear = number("clear", clear)
        first = levels[0].threshold
        if (clear > first) if rising else (clear < first):
            raise fail("clear", f"with op {op} the clear threshold must be {'at most' if rising else 'at least'} "
                                f"the mildest threshold {first:g}, got {clear:g}")
    # require, context
    require: list[Condition] = []
    raw_require = raw.get("require", [])
    if not isinstance(raw_require, list):
        raise fail("require", "a list of { signal, op, value } is required")
    for item in raw_require:
        if not isinstance(item, dict) or set(item) != {"signal", "op", "value"}:
            raise fail("require", f"each condition is {{ signal, op, value }}, got {item!r}")
        s = signal_name("require", item["signal"])
        if signals[s].scope != scope:
            raise fail("require", f"signal {s!r} is {signals[s].scope}-level, the rule is {scope}-level")
        require.append(Condition(s, op_of("require", item["op"]), number("require", item["value"])))
    raw_context = raw.get("context", {})
    if not isinstance(raw_context, dict):
        raise fail("context", "a table { name_in_message = \"signal\" } is required")
    context: list[tuple[str, str]] = []
    for k, v in raw_context.items():
        if k in ("value", "threshold", "baseline", "loan_id"):
            raise fail("context", f"{k!r} is already given to every message")
        s = signal_name("context", v)
        if signals[s].scope != scope:
            raise fail("context", f"signal {s!r} is {signals[s].scope}-level, the rule is {scope}-level")
        context.append((k, s))
    # message
    message = raw.get("message", name)
    if not isinstance(message, str) or message not in TEMPLATES:
        raise fail("message", f"no template {message!r} in alerts.messages.TEMPLATES")
    en, zh = TEMPLATES[message]
    fields = ["value", "threshold", "baseline", "loan_id", *(k for k, _ in context)]
    for lang, text in (("English", en), ("Chinese", zh)):
        if not text.strip():
            raise fail("message", f"template {message!r} has no {lang} text")
        try:
            text.format_map({f: ("L1" if f == "loan_id" else _Number(1.0)) for f in fields})
        except KeyError as exc:
            raise fail("message", f"template {message!r} ({lang}) uses {{{exc.args[0]}}}, which is none of "
                                  f"{', '.join(fields)}") from None
        except (ValueError, IndexError) as exc:
            raise fail("message", f"template {message!r} ({lang}) does not format: {exc}") from None
    # example: the rule must fire on it (a runnable example that stays true when thresholds are edited)
    raw_example = raw.get("example", {})
    if not isinstance(raw_example, dict):
        raise fail("example", "a table { signal_or_baseline = number } is required")
    example: list[tuple[str, float]] = []
    for k, v in raw_example.items():
        if k not in signals and k not in baselines:
            raise fail("example", f"{k!r} is neither a signal nor a baseline")
        example.append((k, number("example", v)))
    rule = Rule(name=name, type=alert_type, signal=signal, op=op, levels=tuple(levels), scope=scope,
                message=message, baseline=baseline, scale=scale, floor=floor, clear=clear,
                require=tuple(require), context=tuple(context), example=tuple(example))
    if example and rule.run_example() is None:
        raise fail("example", f"the rule does not fire on its example {dict(example)}")
    return rule
