"""Stress scenarios (情景分析): shock the events of some borrowers, replay both, explain the difference.

A shock is written ``key=value`` pairs, e.g. ``sector=textile,revenue=-30%`` or
``receivable_delay=30d,sector=catering``:

* who: ``sector=`` and/or ``region=`` (from the borrower's ``loan_opened``
  events; omitted: every borrower);
* ``revenue=-30%`` (or ``-0.3``): from ``--from`` on, the borrower's sales
  (``revenue/1``) and its customer inflows (``cashflow/1`` in from
  ``customer``) are scaled; its supplier payments follow its sales
  (``suppliers=fixed`` keeps them as they were) while payroll, rent, tax,
  utilities and the owner's draws go on unchanged;
* ``receivable_delay=30d``: from ``--from`` on, customer inflows arrive that
  many days later (sales are booked when made, the cash comes later).

Cash waterfall (what turns a sales shock into missed payments): the shocked
account balance is recomputed from the movements; a repayment to us (a
``repayment/1`` event and the ``loan_repayment`` outflow of the same amount
just before it) is made only when the balance covers it. Otherwise it waits,
oldest first, until the balance does (it is then made at that moment) or the
data ends (never made). A loan closure that followed such a repayment waits with
it. The business keeps paying its other costs (it may run an overdraft), and
the owner does not put in more money than in the unshocked run. Events moved
past the end of the unshocked data are dropped. Borrowers that match no shock
keep their lines byte for byte, in the same order.

Both the unshocked and the shocked file are replayed through the real core with
the same monthly cutoffs and end; the comparison lists every borrower that
crosses a warning, class or limit threshold, with its exposure, and checks that
no borrower outside the shock changed.

>>> parse_shock("sector=textile,revenue=-30%")
Shock(sector='textile', region=None, revenue=-0.3, receivable_delay_days=0, suppliers='follow')
>>> parse_shock("receivable_delay=30d,sector=catering").receivable_delay_days
30
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import msgspec

from alerts.classification import CLASS_NAMES_ZH, CLASSES
from streams.backtest import DAY, RunData, event_span, load_run, monthly_cutoffs, run_core, warnings_of
from streams.replay import open_events

CENT = Decimal("0.01")
SEVERITIES = ("warning", "critical")


class ShockError(ValueError):
    """A shock that cannot be understood; the message says why."""


@dataclass(frozen=True)
class Shock:
    sector: str | None = None
    region: str | None = None
    revenue: float = 0.0  # a fraction: -0.3 is -30 %
    receivable_delay_days: int = 0
    suppliers: str = "follow"  # follow | fixed

    def matches(self, who: dict[str, str]) -> bool:
        return ((self.sector is None or who.get("sector") == self.sector)
                and (self.region is None or who.get("region") == self.region))

    def describe(self) -> str:
        who = ", ".join(f"{k} {v}" for k, v in (("sector", self.sector), ("region", self.region)) if v) or "all"
        what = []
        if self.revenue:
            what.append(f"revenue {self.revenue:+.0%}")
        if self.receivable_delay_days:
            what.append(f"customer payments {self.receivable_delay_days} days later")
        return f"{who}: {' and '.join(what) or 'no change'}"


def parse_shock(text: str) -> Shock:
    """A shock from ``key=value,key=value`` (see the module docstring)."""
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ShockError(f"{part!r} in shock {text!r} is not key=value")
        key, value = (x.strip() for x in part.split("=", 1))
        key = key.lower()
        if key in ("sector", "region"):
            values[key] = value
        elif key == "revenue":
            try:
                number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
            except ValueError as exc:
                raise ShockError(f"revenue={value!r}: write e.g. -30% or -0.3") from exc
            if number <= -1:
                raise ShockError(f"revenue={value!r}: a shock cannot take away more than all revenue")
            values["revenue"] = number
        elif key in ("receivable_delay", "delay"):
            try:
                days = int(value[:-1] if value.lower().endswith("d") else value)
            except ValueError as exc:
                raise ShockError(f"receivable_delay={value!r}: write e.g. 30d") from exc
            if days < 0:
                raise ShockError(f"receivable_delay={value!r} must be >= 0 days")
            values["receivable_delay_days"] = days
        elif key == "suppliers":
            if value not in ("follow", "fixed"):
                raise ShockError(f"suppliers={value!r}: follow or fixed")
            values["suppliers"] = value
        else:
            raise ShockError(f"unknown shock key {key!r} (sector, region, revenue, receivable_delay, suppliers)")
    if not values.get("revenue") and not values.get("receivable_delay_days"):
        raise ShockError(f"shock {text!r} changes nothing: give revenue=... and/or receivable_delay=...")
    return Shock(**values)


# --------------------------------------------------------------------------- shocking the events


class _Head(msgspec.Struct):
    schema: str = ""
    borrower_id: str = ""
    occurred_at: str = ""


_head = msgspec.json.Decoder(_Head)
_encoder = msgspec.json.Encoder()


@dataclass
class ShockStats:
    borrowers: dict[str, list[int]] = field(default_factory=dict)  # borrower → indexes of its shocks
    revenue_events: int = 0
    inflows_changed: int = 0
    suppliers_changed: int = 0
    deferred: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # borrower → deferred repayments
    dropped_after_end: int = 0


def borrower_profiles(path: Path) -> dict[str, dict[str, str]]:
    """sector and region of every borrower, from its first ``loan_opened`` that names them."""
    out: dict[str, dict[str, str]] = {}
    with open_events(path) as f:
        for line in f:
            if b"loan_opened/1" not in line:
                continue
            try:
                e = msgspec.json.decode(line)
            except msgspec.DecodeError:
                continue
            if not isinstance(e, dict) or e.get("schema") != "loan_opened/1":
                continue
            who = out.setdefault(str(e.get("borrower_id")), {})
            for key in ("sector", "region"):
                if e.get(key) and key not in who:
                    who[key] = str(e[key])
    return out


def _epoch(text: str, cache: dict[str, float]) -> float:
    t = cache.get(text)
    if t is None:
        t = dt.datetime.fromisoformat(text).timestamp()
        if len(cache) < 2_000_000:
            cache[text] = t
    return t


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def _fmt(amount: Decimal) -> str:
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def _iso_at(t: float, tz: Any) -> str:
    return dt.datetime.fromtimestamp(t, tz).isoformat()


def shock_borrower(events: list[dict[str, Any]], shocks: Sequence[Shock], start: float, until: float,
                   tz: Any) -> tuple[list[tuple[float, dict[str, Any]]], list[dict[str, Any]], dict[str, int]]:
    """One borrower's events (in file order) under ``shocks``: (time, event) in time order, deferrals, counts."""
    factor = Decimal(1)
    for s in shocks:
        factor *= Decimal(str(1 + s.revenue))
    delay = sum(s.receivable_delay_days for s in shocks) * DAY
    suppliers_follow = any(s.revenue and s.suppliers == "follow" for s in shocks)
    cache: dict[str, float] = {}
    counts = {"revenue": 0, "inflows": 0, "suppliers": 0}
    timed: list[tuple[float, int, dict[str, Any]]] = []
    opening: dict[str, Decimal] = {}  # balance of each account before its first movement, in file order
    for e in events:
        if e.get("schema") == "cashflow/1" and e.get("balance_after") is not None:
            account = str(e.get("account_id"))
            if account not in opening:
                amount = _money(e["amount"])
                opening[account] = _money(e["balance_after"]) - (amount if e.get("direction") == "in" else -amount)
    for k, e in enumerate(events):
        t = _epoch(e["occurred_at"], cache)
        e = dict(e)
        if t >= start:
            schema = e.get("schema")
            if schema == "revenue/1" and factor != 1:
                e["amount"] = _fmt(_money(e["amount"]) * factor)
                counts["revenue"] += 1
            elif schema == "cashflow/1":
                kind, direction = e.get("counterparty_type"), e.get("direction")
                if direction == "in" and kind == "customer":
                    if factor != 1:
                        e["amount"] = _fmt(_money(e["amount"]) * factor)
                    if delay:
                        t += delay
                        e["occurred_at"] = _iso_at(t, tz)
                    counts["inflows"] += 1
                elif direction == "out" and kind == "supplier" and suppliers_follow:
                    e["amount"] = _fmt(_money(e["amount"]) * factor)
                    counts["suppliers"] += 1
        timed.append((t, k, e))
    timed.sort(key=lambda x: (x[0], x[1]))
    out, deferred = _waterfall(timed, opening, start, tz)
    kept = [(t, e) for t, e in out if t <= until]
    counts["dropped"] = len(out) - len(kept)
    return kept, deferred, counts


def _waterfall(timed: list[tuple[float, int, dict[str, Any]]], opening: dict[str, Decimal], start: float,
               tz: Any) -> tuple[list[tuple[float, dict[str, Any]]], list[dict[str, Any]]]:
    """Recompute balances from the opening ones; hold repayments to us the balance cannot cover until it can."""
    balance: dict[str, Decimal] = dict(opening)
    out: list[tuple[float, dict[str, Any]]] = []
    waiting: list[dict[str, Any]] = []  # FIFO of {"amount", "events": [cashflow, repayment, closure...]}
    deferred_log: list[dict[str, Any]] = []
    held: set[int] = set()  # positions in ``timed`` taken along with a held repayment
    has_balance = any(e.get("schema") == "cashflow/1" and e.get("balance_after") is not None for _, _, e in timed)

    for pos, (t, _, e) in enumerate(timed):
        if pos in held:
            continue
        if e.get("schema") == "cashflow/1" and e.get("balance_after") is not None:
            account = str(e.get("account_id"))
            amount = _money(e["amount"])
            signed = amount if e.get("direction") == "in" else -amount
            if account not in balance:  # an account that first appears shocked: take its balance as given
                balance[account] = _money(e["balance_after"]) - signed
            is_ours = (e.get("direction") == "out" and e.get("counterparty_type") == "loan_repayment")
            partner = _repayment_after(timed, pos, amount) if is_ours else None
            if partner is not None and t >= start and (waiting or balance[account] < amount):
                group = [pos, partner, *_closures_after(timed, partner)]
                held.update(group[1:])
                waiting.append({"account": account, "amount": amount, "t": t,
                                "events": [timed[p][2] for p in group]})
                continue
            balance[account] += signed
            e["balance_after"] = _fmt(balance[account])
            out.append((t, e))
            _release(waiting, balance, t, out, deferred_log, tz)
            continue
        out.append((t, e))
    for item in waiting:
        deferred_log.append({"due_at": _iso_at(item["t"], tz), "amount": _fmt(item["amount"]), "paid_at": None})
    if not has_balance:
        return out, []
    return out, deferred_log


def _repayment_after(timed: list[tuple[float, int, dict[str, Any]]], pos: int, amount: Decimal) -> int | None:
    t0 = timed[pos][0]
    for p in range(pos + 1, len(timed)):
        t, _, e = timed[p]
        if t > t0 + DAY:
            return None
        if e.get("schema") == "repayment/1" and _money(e["amount"]) == amount:
            return p
    return None


def _closures_after(timed: list[tuple[float, int, dict[str, Any]]], pos: int) -> list[int]:
    t0, _, repayment = timed[pos]
    found = []
    for p in range(pos + 1, len(timed)):
        t, _, e = timed[p]
        if t > t0 + DAY:
            break
        if e.get("schema") == "loan_closed/1" and e.get("loan_id") == repayment.get("loan_id"):
            found.append(p)
    return found


def _release(waiting: list[dict[str, Any]], balance: dict[str, Decimal], t: float,
             out: list[tuple[float, dict[str, Any]]], log: list[dict[str, Any]], tz: Any) -> None:
    while waiting and balance[waiting[0]["account"]] >= waiting[0]["amount"]:
        item = waiting.pop(0)
        balance[item["account"]] -= item["amount"]
        for k, e in enumerate(item["events"]):
            e = dict(e)
            moment = t + 1 + k
            e["occurred_at"] = _iso_at(moment, tz)
            if e.get("schema") == "cashflow/1":
                e["balance_after"] = _fmt(balance[item["account"]])
            out.append((moment, e))
        log.append({"due_at": _iso_at(item["t"], tz), "amount": _fmt(item["amount"]), "paid_at": _iso_at(t + 1, tz)})


def shock_events(src: Path, dst: Path, shocks: Sequence[Shock], start: dt.datetime, until: dt.datetime,
                 tz: Any) -> ShockStats:
    """Write the shocked copy of ``src`` to ``dst``; lines of borrowers no shock matches are kept as they are."""
    profiles = borrower_profiles(src)
    stats = ShockStats()
    for borrower, who in profiles.items():
        matching = [k for k, s in enumerate(shocks) if s.matches(who)]
        if matching:
            stats.borrowers[borrower] = matching
    kept: list[tuple[float, bytes]] = []  # lines of other borrowers, in file order
    theirs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    cache: dict[str, float] = {}
    with src.open("rb") as f:
        for line in f:
            raw = line.rstrip(b"\r\n")
            try:
                head = _head.decode(raw)
            except (msgspec.DecodeError, msgspec.ValidationError):
                head = None
            if head is not None and head.borrower_id in stats.borrowers:
                try:
                    theirs[head.borrower_id].append(msgspec.json.decode(raw))
                    continue
                except msgspec.DecodeError:
                    pass
            try:
                t = _epoch(head.occurred_at, cache) if head is not None and head.occurred_at else float("-inf")
            except ValueError:
                t = float("-inf")
            kept.append((t, raw))
    shocked: list[tuple[float, int, bytes]] = []
    s0, end = start.timestamp(), until.timestamp()
    for borrower, events in theirs.items():
        mine = [shocks[k] for k in stats.borrowers[borrower]]
        out, deferred, counts = shock_borrower(events, mine, s0, end, tz)
        stats.revenue_events += counts["revenue"]
        stats.inflows_changed += counts["inflows"]
        stats.suppliers_changed += counts["suppliers"]
        stats.dropped_after_end += counts["dropped"]
        if deferred:
            stats.deferred[borrower] = deferred
        shocked.extend((t, len(shocked), _encoder.encode(e)) for t, e in out)
    shocked.sort(key=lambda x: (x[0], x[1]))
    # merge: other borrowers' lines keep their order; a shocked event goes before the first later line
    dst.parent.mkdir(parents=True, exist_ok=True)
    with dst.open("wb") as f:
        i = 0
        for t, raw in kept:
            while i < len(shocked) and shocked[i][0] < t:
                f.write(shocked[i][2] + b"\n")
                i += 1
            f.write(raw + b"\n")
        for _, _, raw in shocked[i:]:
            f.write(raw + b"\n")
    return stats


# --------------------------------------------------------------------------- comparing the runs


def _last(records: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        out[r[key]] = r
    return out


def _rank(klass: str) -> int:
    return CLASSES.index(klass) if klass in CLASSES else -1


def _class_zh(klass: str) -> str:
    return f"{klass} {CLASS_NAMES_ZH.get(klass, '')}".strip()


@dataclass
class Standing:
    """What one run says about one borrower."""

    warnings: dict[str, dict[str, Any]] = field(default_factory=dict)  # alert id → warning
    worst_class: str = "normal"
    worst_class_at: str | None = None
    final_class: str = "normal"
    max_dpd: int = 0
    credit_limit: Decimal = Decimal(0)
    peak_credit_limit: Decimal = Decimal(0)  # the largest credit limit on the book from the shock's start
    limits: dict[str, dict[str, Any]] = field(default_factory=dict)
    overdue: Decimal = Decimal(0)  # amount overdue in the open collection tasks at the end
    signature: tuple[Any, ...] = ()


def standings(run: RunData, since: dt.datetime | None = None) -> dict[str, Standing]:
    out: dict[str, Standing] = defaultdict(Standing)
    since_t = since.timestamp() if since is not None else float("-inf")
    for w in warnings_of(run.alerts, SEVERITIES):
        out[w["borrower_id"]].warnings[w["alert_id"]] = w
    for s in run.snapshots:
        st = out[s["borrower_id"]]
        if _rank(s.get("risk_class", "normal")) > _rank(st.worst_class):
            st.worst_class, st.worst_class_at = s["risk_class"], s["cutoff"]
        if dt.datetime.fromisoformat(s["cutoff"]).timestamp() >= since_t:
            st.peak_credit_limit = max(st.peak_credit_limit, _money(s.get("credit_limit", "0")))
    for b in run.borrowers:
        st = out[b["borrower_id"]]
        st.final_class = b.get("risk_class", "normal")
        st.max_dpd = int(b.get("max_dpd", 0))
        st.credit_limit = _money(b.get("credit_limit", "0"))
        st.peak_credit_limit = max(st.peak_credit_limit, st.credit_limit)
        if _rank(st.final_class) > _rank(st.worst_class):
            st.worst_class, st.worst_class_at = st.final_class, run.meta.get("until")
    for r in _last(run.limits, "change_id").values():
        out[r["borrower_id"]].limits[r["change_id"]] = r
    tasks = _last(run.tasks, "task_id")
    for r in tasks.values():
        if r.get("status") == "open":
            out[r["borrower_id"]].overdue += _money(r.get("amount_overdue", "0"))
    # everything the core said about a borrower, for the "nothing else changed" check
    per: dict[str, list[Any]] = defaultdict(list)
    for name, records, key in (("alert", run.alerts, "alert_id"), ("task", run.tasks, "task_id"),
                               ("limit", run.limits, "change_id")):
        for r in _last(records, key).values():
            per[r["borrower_id"]].append((name, json.dumps(r, sort_keys=True)))
    for s in run.snapshots:
        per[s["borrower_id"]].append(("snapshot", json.dumps(s, sort_keys=True)))
    for b in run.borrowers:
        per[b["borrower_id"]].append(("final", json.dumps(b, sort_keys=True)))
    for borrower, items in per.items():
        out[borrower].signature = tuple(sorted(items))
    return dict(out)


def compare(base: RunData, shocked: RunData, stats: ShockStats, shocks: Sequence[Shock],
            profiles: dict[str, dict[str, str]], start: dt.datetime) -> dict[str, Any]:
    """The explained list of borrowers that cross a threshold, totals, and the outside-the-shock check."""
    b_st, s_st = standings(base, start), standings(shocked, start)
    affected: list[dict[str, Any]] = []
    outside_changed: list[str] = []
    for borrower in sorted(set(b_st) | set(s_st)):
        b, s = b_st.get(borrower, Standing()), s_st.get(borrower, Standing())
        if borrower not in stats.borrowers:
            if b.signature != s.signature:
                outside_changed.append(borrower)
            continue
        new_warnings = [w for aid, w in s.warnings.items() if aid not in b.warnings]
        gone_warnings = [w for aid, w in b.warnings.items() if aid not in s.warnings]
        crossed = []
        if new_warnings:
            crossed.append("warning")
        if _rank(s.worst_class) > _rank(b.worst_class) or _rank(s.final_class) > _rank(b.final_class):
            crossed.append("class")
        new_limits = [r for cid, r in s.limits.items() if b.limits.get(cid) != r]
        if new_limits or s.credit_limit < b.credit_limit:  # a limit action (a loan left open only adds limit)
            crossed.append("limit")
        improved = bool(gone_warnings) or _rank(s.worst_class) < _rank(b.worst_class)
        if not crossed and not improved:
            continue
        # limit actions only (a loan left open by the shock keeps its limit: that is exposure, not a change)
        limit_delta = sum((_money(r.get("new_limit", 0)) - _money(r.get("old_limit", 0)) for r in new_limits),
                          Decimal(0))
        deferred = stats.deferred.get(borrower, [])
        en, zh = _explain(borrower, b, s, new_warnings, gone_warnings, new_limits, deferred,
                          [shocks[k] for k in stats.borrowers[borrower]], start)
        affected.append({
            "borrower_id": borrower, "sector": profiles.get(borrower, {}).get("sector"),
            "region": profiles.get(borrower, {}).get("region"),
            "crossed": crossed, "improved": improved and not crossed,
            "base": _standing_json(b), "shocked": _standing_json(s),
            "new_warnings": [{k: w[k] for k in ("alert_id", "type", "severity", "at")} for w in new_warnings],
            "deferred_repayments": len(deferred),
            "never_paid_repayments": sum(1 for d in deferred if d["paid_at"] is None),
            "exposure": {"credit_limit": _fmt(max(s.peak_credit_limit, b.peak_credit_limit)),
                         "credit_limit_end_base": _fmt(b.credit_limit), "credit_limit_end_shocked": _fmt(s.credit_limit),
                         "overdue_base": _fmt(b.overdue),
                         "overdue_shocked": _fmt(s.overdue), "limit_change": _fmt(limit_delta)},
            "explanation": en, "explanation_zh": zh,
        })
    crossing = [a for a in affected if a["crossed"]]
    total = {
        "borrowers_shocked": len(stats.borrowers),
        "borrowers_crossing": len(crossing),
        "crossing_warning": sum("warning" in a["crossed"] for a in crossing),
        "crossing_class": sum("class" in a["crossed"] for a in crossing),
        "crossing_limit": sum("limit" in a["crossed"] for a in crossing),
        "borrowers_improved": sum(1 for a in affected if a["improved"]),
        "exposure_credit_limit": _fmt(sum((_money(a["exposure"]["credit_limit"]) for a in crossing), Decimal(0))),
        "portfolio_credit_limit": _fmt(sum((st.peak_credit_limit for st in b_st.values()), Decimal(0))),
        "overdue_base": _fmt(sum((_money(a["exposure"]["overdue_base"]) for a in crossing), Decimal(0))),
        "overdue_shocked": _fmt(sum((_money(a["exposure"]["overdue_shocked"]) for a in crossing), Decimal(0))),
        "limit_change": _fmt(sum((_money(a["exposure"]["limit_change"]) for a in crossing), Decimal(0))),
        "new_warnings": sum(len(a["new_warnings"]) for a in crossing),
        "deferred_repayments": sum(len(v) for v in stats.deferred.values()),
    }
    shocked_credit = sum((b_st[x].peak_credit_limit for x in stats.borrowers if x in b_st), Decimal(0))
    total["shocked_credit_limit"] = _fmt(shocked_credit)
    return {"totals": total, "affected": affected, "outside_shock_changed": outside_changed,
            "unchanged_outside_shock": not outside_changed}


def _standing_json(st: Standing) -> dict[str, Any]:
    return {"warnings": len(st.warnings), "worst_class": st.worst_class, "worst_class_at": st.worst_class_at,
            "final_class": st.final_class, "max_dpd": st.max_dpd, "credit_limit": _fmt(st.credit_limit),
            "peak_credit_limit": _fmt(st.peak_credit_limit),
            "limit_changes": len(st.limits), "overdue": _fmt(st.overdue)}


def _explain(borrower: str, b: Standing, s: Standing, new_warnings: list[dict], gone: list[dict],
             new_limits: list[dict], deferred: list[dict], shocks: list[Shock],
             start: dt.datetime) -> tuple[str, str]:
    en = [f"{borrower} ({'; '.join(x.describe() for x in shocks)} from {start.date()})"]
    zh = [f"{borrower}（自 {start.date()} 起：" + "；".join(_describe_zh(x) for x in shocks) + "）"]
    if deferred:
        paid_late = [d for d in deferred if d["paid_at"]]
        never = [d for d in deferred if d["paid_at"] is None]
        first = deferred[0]
        en.append(f"cash no longer covers {len(deferred)} repayment(s) when due (first {first['due_at'][:10]}, "
                  f"{first['amount']} CNY): {len(paid_late)} paid late, {len(never)} not paid by the end")
        zh.append(f"账户余额不足以按时还款 {len(deferred)} 笔（首笔 {first['due_at'][:10]}，{first['amount']} 元），"
                  f"{len(paid_late)} 笔逾期后归还，{len(never)} 笔至期末未还")
    if s.max_dpd != b.max_dpd:
        en.append(f"max days past due {b.max_dpd} → {s.max_dpd}")
        zh.append(f"最长逾期天数 {b.max_dpd} → {s.max_dpd}")
    for w in new_warnings[:3]:
        en.append(f"new {w['severity']} {w['type']} alert on {w['at'][:10]}")
        zh.append(f"{w['at'][:10]} 新增{w['type']}预警（{w['severity']}）")
    if gone:
        en.append(f"{len(gone)} warning(s) of the unshocked run no longer raised")
        zh.append(f"基准情景中的 {len(gone)} 条预警不再出现")
    if s.worst_class != b.worst_class:
        at = f" (by {s.worst_class_at[:10]})" if s.worst_class_at else ""
        en.append(f"worst class {b.worst_class} → {s.worst_class}{at}")
        zh.append(f"最差五级分类 {_class_zh(b.worst_class)} → {_class_zh(s.worst_class)}")
    if s.final_class != b.final_class:
        en.append(f"class at the end {b.final_class} → {s.final_class}")
        zh.append(f"期末分类 {_class_zh(b.final_class)} → {_class_zh(s.final_class)}")
    for r in new_limits[:3]:
        en.append(f"limit {r.get('action')} {r.get('old_limit')} → {r.get('new_limit')} on {str(r.get('effective_at'))[:10]}")
        zh.append(f"额度{r.get('action')} {r.get('old_limit')} → {r.get('new_limit')}")
    if s.credit_limit > b.credit_limit:
        en.append(f"a loan repaid in the unshocked run is still on the book at the end "
                  f"(credit limit {_fmt(b.credit_limit)} → {_fmt(s.credit_limit)})")
        zh.append(f"基准情景已结清的贷款期末仍未结清（授信额度 {_fmt(b.credit_limit)} → {_fmt(s.credit_limit)}）")
    elif s.credit_limit < b.credit_limit:
        en.append(f"credit limit at the end {_fmt(b.credit_limit)} → {_fmt(s.credit_limit)}")
        zh.append(f"期末授信额度 {_fmt(b.credit_limit)} → {_fmt(s.credit_limit)}")
    if s.overdue != b.overdue:
        en.append(f"amount overdue at the end {_fmt(b.overdue)} → {_fmt(s.overdue)} CNY")
        zh.append(f"期末逾期金额 {_fmt(b.overdue)} → {_fmt(s.overdue)} 元")
    return "; ".join(en), "；".join(zh)


def _describe_zh(shock: Shock) -> str:
    who = "、".join(v for v in (shock.sector, shock.region) if v) or "全部借款人"
    what = []
    if shock.revenue:
        what.append(f"收入 {shock.revenue:+.0%}")
    if shock.receivable_delay_days:
        what.append(f"回款延迟 {shock.receivable_delay_days} 天")
    return f"{who}{'，'.join(what)}"


# --------------------------------------------------------------------------- the whole scenario


def run_stress(settings: Any, events: Path, shocks: Sequence[Shock], out_dir: Path, *,
               start: dt.datetime | None = None, until: dt.datetime | None = None, workers: int = 1,
               progress: bool = True) -> dict[str, Any]:
    """Shock, replay both, compare; writes ``out_dir/stress.json`` and returns what it wrote."""
    policy = settings.policy()
    tz = policy.tz
    first, last = event_span(events)
    until = until or last
    if start is None:
        mid = first + (until - first) / 2
        local = mid.astimezone(tz)
        start = dt.datetime(local.year, local.month, local.day, tzinfo=tz)
    cutoffs = monthly_cutoffs(first, until, tz)
    out_dir.mkdir(parents=True, exist_ok=True)
    shocked_events = out_dir / "shocked" / "events.jsonl"
    stats = shock_events(events, shocked_events, shocks, start, until, tz)
    base_run = run_core(settings, events, out_dir / "base", until=until, cutoffs=cutoffs, workers=workers,
                        progress=progress, desc="replay unshocked")
    shocked_run = run_core(settings, shocked_events, out_dir / "shocked", until=until, cutoffs=cutoffs,
                           workers=workers, progress=progress, desc="replay shocked")
    result = compare(load_run(base_run.out_dir), load_run(shocked_run.out_dir), stats, shocks,
                     borrower_profiles(events), start)
    report = {
        "shocks": [{**asdict(s), "description": s.describe()} for s in shocks],
        "from": start.isoformat(), "until": until.isoformat(),
        "model": "revenue and customer inflows scaled (supplier payments follow sales unless suppliers=fixed), "
                 "customer inflows delayed, account balances recomputed; a repayment to us waits until the "
                 "balance covers it (oldest first) or the data ends; other costs go on; the owner puts in no "
                 "more than in the unshocked run.",
        **result,
        "events": {"revenue_events_scaled": stats.revenue_events, "customer_inflows_changed": stats.inflows_changed,
                   "supplier_payments_scaled": stats.suppliers_changed,
                   "events_dropped_after_end": stats.dropped_after_end},
        "replay": {"unshocked_seconds": round(base_run.seconds, 1), "shocked_seconds": round(shocked_run.seconds, 1),
                   "events": base_run.summary.events},
    }
    (out_dir / "stress.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return report


def print_stress(report: dict[str, Any], console: Any = None, limit: int = 30, explain: int = 10) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    t = report["totals"]
    console.print(f"[bold]stress 压力测试[/bold] from {report['from'][:10]}: "
                  + "; ".join(s["description"] for s in report["shocks"]))
    console.print(f"{t['borrowers_shocked']} borrowers shocked (credit limit {t['shocked_credit_limit']}); "
                  f"{t['borrowers_crossing']} cross a threshold (warning {t['crossing_warning']}, class "
                  f"{t['crossing_class']}, limit {t['crossing_limit']}); their credit limit "
                  f"{t['exposure_credit_limit']} CNY, overdue {t['overdue_base']} → {t['overdue_shocked']} CNY; "
                  f"{t['borrowers_improved']} improve.")
    table = Table(show_header=True, title="borrowers crossing a threshold 触发阈值的借款人")
    for col in ("borrower", "sector", "crossed", "worst class", "max DPD", "new warnings", "credit limit",
                "overdue at end"):
        table.add_column(col, justify="right" if col in ("credit limit", "overdue at end") else "left")
    crossing = [a for a in report["affected"] if a["crossed"]]
    crossing.sort(key=lambda a: (-float(a["exposure"]["credit_limit"]), a["borrower_id"]))
    for a in crossing[:limit]:
        b, s = a["base"], a["shocked"]
        table.add_row(a["borrower_id"], a["sector"] or "", ",".join(a["crossed"]),
                      f"{b['worst_class']} → {s['worst_class']}", f"{b['max_dpd']} → {s['max_dpd']}",
                      str(len(a["new_warnings"])), f"{float(a['exposure']['credit_limit']):,.0f}",
                      f"{float(a['exposure']['overdue_base']):,.0f} → {float(a['exposure']['overdue_shocked']):,.0f}")
    console.print(table)
    if len(crossing) > limit:
        console.print(f"… and {len(crossing) - limit} more in stress.json")
    console.print("why 原因:")
    for a in crossing[:explain]:
        console.print(f"  • {a['explanation']}", highlight=False)
    if report["unchanged_outside_shock"]:
        console.print("[green]no borrower outside the shock changed[/green] 冲击范围外借款人无变化")
    else:
        console.print(f"[red]{len(report['outside_shock_changed'])} borrowers outside the shock changed: "
                      f"{report['outside_shock_changed'][:10]}[/red]")


def parse_start(value: str | None, tz: Any) -> dt.datetime | None:
    """``--from``: a date (00:00 local time) or an ISO 8601 time with offset."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            d = dt.date.fromisoformat(value)
            return dt.datetime(d.year, d.month, d.day, tzinfo=tz)
        t = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ShockError(f"--from {value!r}: write a date (2025-07-01) or a time with offset") from exc
    if t.tzinfo is None:
        raise ShockError(f"--from {value!r} has no UTC offset")
    return t


__all__ = ["Shock", "ShockError", "compare", "parse_shock", "parse_start", "print_stress", "run_stress",
           "shock_borrower", "shock_events"]

