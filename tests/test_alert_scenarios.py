"""Borrower stories (tests/scenarios) through the real core, exactly as ``loanwatch replay`` runs them, checked on the alerts.

Each story is a replay file of contract events with its expected alerts
(``<name>.expect.json``; the vocabulary is in ``tests/scenarios/make_scenarios.py``).
It is replayed in-process by :func:`streams.replay.replay` with a
:class:`streams.processor.Processor` and a :class:`streams.replay.JsonlSink`, as
``loanwatch replay <name>.jsonl --out DIR --until <until>`` does, and the
``alerts.jsonl`` it writes is read back. The rule set is the packaged
``alerts/rules.toml`` with every rule enabled (several are switched off by
default while they are tuned); one test runs a few stories with the rules as
shipped.

Every expectation is its own test. An expectation the current detectors or
rules get wrong is kept as the risk officer would want it and marked
``xfail(strict=True)`` in :data:`KNOWN_WRONG` with what is wrong: when it is
fixed, the strict xfail fails and the entry must go.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib.util
import json
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerts.rules import load_rules
from streams.core import Policy
from streams.processor import Processor
from streams.replay import JsonlSink, read_lines, replay
from streams.settings import Settings

HERE = Path(__file__).resolve().parent / "scenarios"
STORIES = sorted(p.name[: -len(".jsonl")] for p in HERE.glob("*.jsonl"))
TZ = ZoneInfo("Asia/Shanghai")
RANK = {"info": 0, "warning": 1, "critical": 2}
DAY = dt.timedelta(days=1)

# (story, expectation label) -> what the current detectors or rules get wrong
KNOWN_WRONG: dict[tuple[str, str], str] = {
    ("revenue_drop_then_recovery", "revenue_decline opens_between"):
        "a '35%' drop opens the warning only on 2026-05-31: the detector turns on 05-13 but revenue_drop_ratio "
        "reads 24-30%, under the rule's 30% threshold. The story's noise makes it borderline: its realised drop "
        "is 30.5% over the first ten days (33% over five weeks) against the four weeks before. Measuring against "
        "the level frozen at the run's start adds 1-2 points only (and 6 false warnings on the 600 x 18 "
        "simulated portfolio), a 25% warning threshold adds 10 false warnings and no true one and still misses "
        "the story; neither done",
    ("one_big_supplier_payment", "margin_decline never"):
        "one stock purchase (ten days of sales) reads as an 11-point margin decline for two months: the "
        "margin proxy is cash-basis, a lump purchase is not told from a squeeze",
}


# --------------------------------------------------------------------------- running a story


def policy(all_rules: bool = True) -> Policy:
    """The policy ``loanwatch replay`` runs with (default settings); all rules enabled unless told."""
    p = Settings().policy()
    return dataclasses.replace(p, rules=load_rules(include_disabled=True)) if all_rules else p


@functools.cache
def meta_of(name: str) -> dict[str, Any]:
    return json.loads((HERE / f"{name}.expect.json").read_text())  # type: ignore[no-any-return]


@functools.cache
def replayed(name: str, all_rules: bool = True) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """The alert records (in emission order) and dead letters of a story's replay."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        sink = JsonlSink(out)
        try:
            replay(read_lines(HERE / f"{name}.jsonl"), Processor(policy(all_rules)), sink,
                   source=f"{name}.jsonl", until=dt.datetime.fromisoformat(meta_of(name)["until"]))
        finally:
            sink.close()
        alerts = tuple(json.loads(line) for line in (out / "alerts.jsonl").read_text().splitlines())
        dead = tuple(json.loads(line) for line in (out / "dead_letters.jsonl").read_text().splitlines())
    return alerts, dead


# --------------------------------------------------------------------------- expectations


def day_of(record: dict[str, Any]) -> dt.date:
    return dt.datetime.fromisoformat(record["updated_at"]).astimezone(TZ).date()


def window(pair: list[str]) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(pair[0]), dt.date.fromisoformat(pair[1])


def codes(record: dict[str, Any]) -> list[str]:
    return [r["code"] for r in record["reasons"]]


def label(exp: dict[str, Any]) -> str:
    """A short name of an expectation, unique within its story: ``revenue_decline opens_between``."""
    if "any_alert" in exp:
        return "any_alert never"
    if "only_types" in exp:
        return "only_types"
    kind = next(k for k in ("never", "opens_between", "reaches", "code", "max_opens", "resolved_between",
                            "open_at_end", "inhibited_by_type", "inhibition_lifted_between", "renotify_days")
                if k in exp)
    return f"{exp['type']} {kind}"


def check(exp: dict[str, Any], alerts: tuple[dict[str, Any], ...], until: str) -> str | None:
    """``None`` when the alerts meet the expectation, else what is wrong."""
    if "any_alert" in exp:
        return f"{len(alerts)} alert records" if alerts else None
    if "only_types" in exp:
        other = sorted({a["type"] for a in alerts} - set(exp["only_types"]))
        return f"alerts of other types: {other}" if other else None
    t = exp["type"]
    mine = [a for a in alerts if a["type"] == t]
    opens = [a for a in mine if a["status"] == "open"]
    if exp.get("never"):
        lo, hi = window(exp["between"]) if "between" in exp else (dt.date.min, dt.date.max)
        seen = [a for a in mine if lo <= day_of(a) <= hi]
        return f"{len(seen)} {t} records, the first on {day_of(seen[0])}" if seen else None
    if "opens_between" in exp:
        lo, hi = window(exp["opens_between"])
        if not opens:
            return f"no {t} alert opened"
        first = opens[0]
        if not lo <= day_of(first) <= hi:
            return f"the first {t} alert opened on {day_of(first)}"
        if "severity" in exp and first["severity"] != exp["severity"]:
            return f"it opened as {first['severity']}"
        if "min_severity" in exp and RANK[first["severity"]] < RANK[exp["min_severity"]]:
            return f"it opened as {first['severity']}"
        return None
    if "reaches" in exp or "code" in exp:
        if "reaches" in exp:
            what, hits = f"severity {exp['reaches']}", [a for a in mine if RANK[a["severity"]] >= RANK[exp["reaches"]]]
        else:
            what, hits = f"reason code {exp['code']}", [a for a in mine if exp["code"] in codes(a)]
        lo, hi = window(exp["between"])
        if not hits:
            return f"no {t} record with {what}"
        return None if lo <= day_of(hits[0]) <= hi else f"the first {t} record with {what} is on {day_of(hits[0])}"
    if "max_opens" in exp:
        n = len(opens)
        return f"{n} {t} episodes opened: {[str(day_of(a)) for a in opens]}" if n > exp["max_opens"] else None
    if "resolved_between" in exp:
        lo, hi = window(exp["resolved_between"])
        done = [a for a in mine if a["status"] == "resolved"]
        if not done:
            return f"no {t} alert resolved"
        return None if lo <= day_of(done[0]) <= hi else f"the first {t} alert resolved on {day_of(done[0])}"
    if "open_at_end" in exp:
        last = {a["alert_id"]: a for a in mine}
        still = [a for a in last.values() if a["status"] != "resolved"]
        if bool(still) != exp["open_at_end"]:
            return f"{len(still)} {t} alerts open at the end"
        return None
    if "inhibited_by_type" in exp:
        return _check_inhibited(t, exp["inhibited_by_type"], alerts)
    if "inhibition_lifted_between" in exp:
        lo, hi = window(exp["inhibition_lifted_between"])
        was_inhibited: set[str] = set()
        for a in mine:
            if a["inhibited_by"]:
                was_inhibited.add(a["alert_id"])
            elif a["alert_id"] in was_inhibited and a["status"] == "updated" and "inhibition_lifted" in codes(a):
                return None if lo <= day_of(a) <= hi else f"the inhibition of {t} was lifted on {day_of(a)}"
        return f"no {t} record lifting an inhibition"
    if "renotify_days" in exp:
        return _check_renotify(t, exp["renotify_days"], mine, until)
    raise AssertionError(f"unknown expectation {exp}")


def _check_inhibited(t: str, source: str, alerts: tuple[dict[str, Any], ...]) -> str | None:
    """Every info/warning record of ``t`` while a critical ``source`` alert is open names it in ``inhibited_by``."""
    critical: dict[str, bool] = {}  # source alert id -> open and critical (as of its last record)
    inhibited = 0
    for a in alerts:
        if a["type"] == source:
            critical[a["alert_id"]] = a["status"] != "resolved" and a["severity"] == "critical"
        elif a["type"] == t and a["severity"] != "critical":
            sources = {k for k, v in critical.items() if v}
            if sources and a["inhibited_by"] not in sources:
                return (f"the {t} record of {a['updated_at']} ({a['status']}) is not inhibited "
                        f"though a critical {source} alert is open")
            inhibited += a["inhibited_by"] in critical
    return None if inhibited else f"no {t} record was inhibited by a {source} alert"


def _check_renotify(t: str, days: int, mine: list[dict[str, Any]], until: str) -> str | None:
    """While open and not inhibited, a record at least every ``days`` days; a reminder exactly ``days`` after the last."""
    every = days * DAY
    reminders = 0
    by_id: dict[str, list[dict[str, Any]]] = {}
    for a in mine:
        by_id.setdefault(a["alert_id"], []).append(a)
    end = dt.datetime.fromisoformat(until)
    for records in by_id.values():
        for prev, cur in zip(records, records[1:], strict=False):
            gap = dt.datetime.fromisoformat(cur["updated_at"]) - dt.datetime.fromisoformat(prev["updated_at"])
            if "reminder" in codes(cur):
                reminders += 1
                if gap != every:
                    return f"a reminder came {gap} after the previous record ({cur['updated_at']})"
            if not prev["inhibited_by"] and gap > every:
                return f"no record for {gap} after {prev['updated_at']} while the alert was open"
        last = records[-1]
        if last["status"] != "resolved" and not last["inhibited_by"] \
                and end - dt.datetime.fromisoformat(last["updated_at"]) > every:
            return f"no record after {last['updated_at']} though open until {until}"
    return None if reminders else f"no {t} reminder"


def table(alerts: tuple[dict[str, Any], ...], limit: int = 60) -> str:
    lines = [f"    {a['updated_at'][:16]} {a['type']:<20} {a['severity']:<8} {a['status']:<8} "
             f"{','.join(codes(a))}{'  inhibited' if a['inhibited_by'] else ''}" for a in alerts[:limit]]
    if len(alerts) > limit:
        lines.append(f"    ... {len(alerts) - limit} more")
    return "\n".join(lines) or "    (none)"


def cases() -> list[Any]:
    out = []
    for name in STORIES:
        for exp in meta_of(name)["expect"]:
            key = (name, label(exp))
            marks = [pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[key])] if key in KNOWN_WRONG else []
            out.append(pytest.param(name, exp, id=f"{name}:{label(exp).replace(' ', ':')}", marks=marks))
    return out


# --------------------------------------------------------------------------- tests


def test_there_are_at_least_25_stories_each_with_expectations():
    assert len(STORIES) >= 25, STORIES
    for name in STORIES:
        labels = [label(e) for e in meta_of(name)["expect"]]
        assert labels, f"{name}: no expectations"
        assert len(labels) == len(set(labels)), f"{name}: two expectations of the same kind: {labels}"


def test_every_known_wrong_entry_names_an_expectation_of_a_story():
    known = {(name, label(e)) for name in STORIES for e in meta_of(name)["expect"]}
    assert set(KNOWN_WRONG) <= known, sorted(set(KNOWN_WRONG) - known)


@pytest.mark.parametrize("name", STORIES)
def test_a_story_is_an_sme_borrower_in_event_time_order(name):
    events = [json.loads(line) for line in (HERE / f"{name}.jsonl").read_text().splitlines()]
    meta = meta_of(name)
    assert {e["borrower_id"] for e in events} == {meta["borrower_id"]}
    assert len({e["event_id"] for e in events}) == len(events), "event ids repeat"
    times = [dt.datetime.fromisoformat(e["occurred_at"]) for e in events]
    assert times == sorted(times), "events out of event-time order"
    loans = [e for e in events if e["schema"] == "loan_opened/1"]
    assert loans and all(e["sector"] for e in loans), "no loan_opened/1 with a sector"
    revenue = [e for e in events if e["schema"] == "revenue/1"]
    periods = {e.get("period", "day") for e in revenue}
    assert len(revenue) >= (12 if periods & {"week", "month"} else 28), "too little revenue history"
    assert dt.datetime.fromisoformat(meta["until"]) >= times[-1]


@pytest.mark.parametrize("name", STORIES)
def test_a_story_replays_without_dead_letters(name):
    _, dead = replayed(name)
    assert not dead, [d["error"] for d in dead[:3]]


@pytest.mark.parametrize(("name", "exp"), cases())
def test_a_story_raises_the_alerts_a_risk_officer_expects(name, exp):
    alerts, _ = replayed(name)
    meta = meta_of(name)
    wrong = check(exp, alerts, meta["until"])
    assert wrong is None, (f"story {name}: {meta['story']}\n  expected {json.dumps(exp)}\n  but {wrong}\n"
                           f"  alerts seen (all rules enabled):\n{table(alerts)}")


DEFAULT_RULES_STORIES = ("textile_off_season", "revenue_hovering_near_threshold", "healthy_daily_seller_full_year",
                         "delinquency_inhibits_revenue_warning_then_cured")


@pytest.mark.parametrize("name", DEFAULT_RULES_STORIES)
def test_with_the_packaged_default_rules_a_story_raises_no_false_alert(name):
    """The rules as shipped (some detector rules switched off while tuned): no alert the story does not expect,
    and the expectations on the types they enable still hold."""
    alerts, dead = replayed(name, all_rules=False)
    assert not dead
    meta = meta_of(name)
    expected = {e["type"] for e in meta["expect"] if "type" in e and not e.get("never")}
    expected |= {t for e in meta["expect"] for t in e.get("only_types", ())}
    false = [a for a in alerts if a["type"] not in expected]
    assert not false, f"story {name}: {meta['story']}\n  alerts it does not expect:\n{table(tuple(false))}"
    enabled = {r.type for r in load_rules().rules}
    for exp in meta["expect"]:
        types = {exp.get("type"), exp.get("inhibited_by_type")} - {None}
        if types and types <= enabled:
            wrong = check(exp, alerts, meta["until"])
            assert wrong is None, f"story {name}: expected {json.dumps(exp)} but {wrong}\n{table(alerts)}"


def test_the_story_files_match_their_generator(tmp_path):
    spec = importlib.util.spec_from_file_location("make_scenarios", HERE / "make_scenarios.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for story in gen.stories():
        story.write(tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    on_disk = sorted(p.name for p in HERE.iterdir() if p.name.endswith((".jsonl", ".expect.json")))
    assert written == on_disk, "story files and generator differ: rerun tests/scenarios/make_scenarios.py"
    for name in written:
        assert (tmp_path / name).read_text() == (HERE / name).read_text(), \
            f"{name} differs: rerun tests/scenarios/make_scenarios.py"
