"""The rule set: loading and validation, severity levels, messages in both languages, doctests."""

from __future__ import annotations

import doctest
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import alerts.lifecycle
import alerts.rules
from alerts.lifecycle import DAY, RANK
from alerts.messages import TEMPLATES
from alerts.rules import SIGNALS, RuleError, evaluate, load_rules, parse_rules

RULES = load_rules(include_disabled=True)  # every rule, switched off by default or not
CJK = re.compile(r"[\u4e00-\u9fff]")

BASE = """
[lifecycle]
resolve_after_days = 7

[[inhibit]]
source_type = "delinquency"
target_types = ["cash_runway"]

[[rule]]
name = "cash_runway"
type = "cash_runway"
signal = "cash_runway_days"
op = "<="
levels = [{ severity = "warning", threshold = 15 }, { severity = "critical", threshold = 7 }]
clear = 20
baseline = "cash_runway_usual_days"

[[rule]]
name = "delinquency"
type = "delinquency"
signal = "dpd"
op = ">="
levels = [{ severity = "critical", threshold = 30, code = "dpd_30_plus" }]
"""


def severities(signals, baselines=None, **kw):
    return {f.type: f.severity for f in evaluate(RULES, signals, baselines or {}, **kw)}


# --------------------------------------------------------------------------- the default rule set


def test_the_default_rules_load_from_the_package_with_their_lifecycle():
    assert RULES.source == "alerts/rules.toml"
    assert set(RULES.types) >= {"revenue_decline", "revenue_volatility", "dormancy", "cash_runway",
                                "margin_decline", "multi_lending", "delinquency", "repayment_behaviour",
                                "anomaly", "ops_feed_outage"}
    p = RULES.policy
    assert (p.span("delinquency"), p.span("revenue_decline"), p.renotify_every) == (0, 7 * DAY, 7 * DAY)
    assert p.span("ops_feed_outage") == 3600
    assert [r.source_type for r in p.inhibit] == ["delinquency"]
    assert {"revenue_decline", "cash_runway", "dormancy"} <= set(p.inhibit[0].target_types)


def test_every_rule_has_an_english_and_a_chinese_message_and_its_type_a_name():
    for rule in RULES.rules:
        en, zh = TEMPLATES[rule.message]
        assert en.strip() and zh.strip() and en != zh, rule.name
        assert not CJK.search(en) and CJK.search(zh), rule.name
        en_type, zh_type = TEMPLATES[f"type_{rule.type}"]
        assert not CJK.search(en_type) and CJK.search(zh_type)
    for code in ("inhibited", "inhibited_loan", "inhibition_lifted", "reminder", "resolved", "resolved_at_once",
                 "resolved_delinquency"):
        en, zh = TEMPLATES[code]
        assert en.strip() and CJK.search(zh)


def test_every_rule_renders_a_message_a_risk_officer_can_read_in_both_languages():
    signals = {name: 40.0 for name in SIGNALS} | {"revenue_drop_ratio": 0.6, "revenue_collapsed": 1.0,
                                                  "margin_decline": 0.7, "anomaly_score": 0.995,
                                                  "risk_score": 0.7, "feed_silent_share": 0.9,
                                                  "cash_runway_days": 3.0, "feed_silent_borrowers": 500}
    signals |= {"margin_decline": 0.2, "rolled_forward": 1.0, "overdue_bucket": 2.0}
    baselines = {"revenue_expected_daily": 8350.0, "dormancy_threshold_days": 9.0, "cash_runway_usual_days": 45.0,
                 "margin_usual": 0.2, "revenue_volatility_usual": 0.3}
    seen = set()
    for scope, loan in (("borrower", None), ("loan", "L1"), ("feed", None)):
        for f in evaluate(RULES, signals, baselines, loan_id=loan, scope=scope):
            for r in f.reasons:
                seen.add(r.code)
                for text in (r.message, r.message_zh):
                    assert "{" not in text and "n/a" not in text and "不详" not in text, text
                    assert len(text) > 10
                assert r.value is not None and r.threshold is not None
    # every reason code was rendered, but the higher DPD bands (dpd 40 shows only its own band)
    assert {level.code for rule in RULES.rules for level in rule.levels} - seen == {
        "dpd_over_90", "dpd_over_270", "dpd_over_360"}


def test_the_revenue_message_reads_as_the_design_says():
    [f] = evaluate(RULES, {"revenue_drop_ratio": 0.38, "revenue_drop_days": 21}, {})
    [r] = f.reasons
    assert r.message == "Revenue over the last 21 days is 38% below its seasonal baseline (threshold 30%)."
    assert r.message_zh == "近21天营业收入较季节性基线下降38%（阈值30%）。"
    assert r.baseline is None  # not given: the reason says so rather than guess


def test_a_value_not_known_renders_as_not_available():
    [f] = evaluate(RULES, {"cash_runway_days": 10.0}, {})
    assert f.reasons[0].message.endswith("(threshold 15 days; usually n/a days).")
    assert "平时约不详天" in f.reasons[0].message_zh


# --------------------------------------------------------------------------- levels and conditions


@pytest.mark.parametrize(("signals", "expected"), [
    ({"cash_runway_days": 16}, {}),
    ({"cash_runway_days": 15}, {"cash_runway": "warning"}),
    ({"cash_runway_days": 7}, {"cash_runway": "critical"}),
    ({"revenue_drop_ratio": 0.29, "revenue_drop_days": 21}, {}),
    ({"revenue_drop_ratio": 0.30, "revenue_drop_days": 21}, {"revenue_decline": "warning"}),
    ({"revenue_drop_ratio": 0.55, "revenue_drop_days": 21}, {"revenue_decline": "critical"}),
    ({"revenue_drop_ratio": 0.55, "revenue_drop_days": 0}, {}),  # the detector sees no sustained drop
    ({"revenue_drop_ratio": 0.55}, {}),  # the required signal is missing
    ({"other_lenders_30d": 1}, {}),
    ({"other_lenders_30d": 2}, {"multi_lending": "warning"}),
    ({"other_lenders_30d": 5}, {"multi_lending": "critical"}),
    ({"anomaly_score": 0.96}, {"anomaly": "info"}),
    ({"anomaly_score": 0.995}, {"anomaly": "warning"}),
    ({"cash_runway_days": math.nan}, {}),
])
def test_the_worst_level_crossed_gives_the_severity(signals, expected):
    assert severities(signals) == expected


def test_several_rules_of_one_type_make_one_finding_with_the_highest_severity_and_all_reasons():
    [f] = evaluate(RULES, {"revenue_drop_ratio": 0.35, "revenue_drop_days": 9, "revenue_collapsed": 1}, {})
    assert f.reasons[1].message == "Revenue has collapsed: 35% below its seasonal baseline over the last 9 days."
    assert (f.type, f.severity, [r.code for r in f.reasons]) == (
        "revenue_decline", "critical", ["revenue_drop", "revenue_collapse"])


def test_dormancy_is_measured_against_the_silent_feed_detectors_threshold_with_a_floor_for_critical():
    def dormancy(days, threshold):
        baselines = {} if threshold is None else {"dormancy_threshold_days": threshold}
        return [(f.severity, [(r.code, r.threshold) for r in f.reasons])
                for f in evaluate(RULES, {"dormant_days": days}, baselines)]

    assert dormancy(6, 7.0) == []
    assert dormancy(10, 7.0) == [("warning", [("feed_silent", 7.0)])]  # a daily seller silent for 10 days
    assert dormancy(10, 18.0) == []  # a weekly reporter
    assert dormancy(19, 18.0) == [("warning", [("feed_silent", 18.0)])]
    assert dormancy(29, 7.0) == [("warning", [("feed_silent", 7.0)])]  # 2 x 7 but under the 30-day floor
    assert dormancy(30, 7.0) == [("critical", [("feed_silent", 7.0), ("feed_silent_long", 30.0)])]
    assert dormancy(40, None) == []  # rhythm unknown: no judgement


def test_margin_decline_is_in_percentage_points():
    [f] = evaluate(RULES, {"margin_decline": 0.12}, {"margin_usual": 0.31})
    assert f.severity == "warning"
    assert f.reasons[0].message == ("The operating margin (customer receipts after supplier, payroll and rent "
                                    "payments) is 12 percentage points below its usual 31% (threshold 8 points).")
    assert f.reasons[0].message_zh.startswith("经营利润率（客户回款扣除供应商、工资和租金支出后）较平时的31%下降12个百分点")
    assert severities({"margin_decline": 0.17}) == {"margin_decline": "critical"}


def test_loan_and_feed_rules_fire_only_in_their_own_scope():
    assert severities({"dpd": 45}) == {}
    assert severities({"dpd": 45, "late_cycles": 3}, loan_id="L1") == {"delinquency": "critical"}
    assert severities({"late_cycles": 3, "rolled_forward": 1}) == {"repayment_behaviour": "warning"}
    [f] = evaluate(RULES, {"dpd": 45}, {}, loan_id="L1")
    assert f.loan_id == "L1" and f.fingerprint == ("delinquency", "L1")
    feed = {"feed_silent_share": 0.8, "feed_silent_borrowers": 400, "feed_usual_reporters": 500}
    assert severities(feed) == {}
    assert severities(feed, scope="feed") == {"ops_feed_outage": "critical"}
    assert severities({"feed_silent_share": 0.8, "feed_silent_borrowers": 8, "feed_usual_reporters": 10},
                      scope="feed") == {}


def test_delinquency_bands_change_the_reason_code_and_hold_until_the_loan_is_current():
    def codes(dpd, open_=()):
        return [r.code for f in evaluate(RULES, {"dpd": dpd}, {}, loan_id="L1", open_types=open_) for r in f.reasons]

    assert [codes(d) for d in (29, 30, 91, 271, 361)] == [
        [], ["dpd_30_plus"], ["dpd_over_90"], ["dpd_over_270"], ["dpd_over_360"]]
    assert codes(5) == [] and codes(5, {"delinquency"}) == ["dpd_30_plus"] and codes(0, {"delinquency"}) == []


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([r for r in RULES.rules if not r.require and r.scale is None]),
       st.floats(-10, 500, allow_nan=False), st.floats(-10, 500, allow_nan=False))
def test_severity_never_improves_as_the_signal_gets_worse(rule, a, b):
    worse = max(a, b) if rule.op in (">=", ">") else min(a, b)
    better = min(a, b) if rule.op in (">=", ">") else max(a, b)

    def rank(x):
        hit = rule.check({rule.signal: x}, {}, "L1", False)
        return -1 if hit is None else RANK[hit[0].severity]

    assert rank(worse) >= rank(better)


# --------------------------------------------------------------------------- validation


def mutate(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


def test_the_small_rule_set_used_below_is_valid():
    rs = parse_rules(BASE)
    assert [r.name for r in rs.rules] == ["cash_runway", "delinquency"]
    assert rs.policy.inhibit[0].target_severities == ("info", "warning")


@pytest.mark.parametrize(("text", "error"), [
    (mutate('op = "<="', 'op = "=<"'), "rule 'cash_runway': key 'op': '=<' is not one of"),
    (mutate('signal = "cash_runway_days"', 'signal = "cash_runaway_days"'),
     "rule 'cash_runway': key 'signal': unknown signal 'cash_runaway_days'"),
    (mutate('type = "cash_runway"\n', ''), "rule 'cash_runway': key 'type': missing"),
    (mutate('clear = 20', 'clear = 20\ncolour = "red"'), "rule 'cash_runway': key 'colour': unknown key"),
    (mutate('severity = "warning"', 'severity = "severe"'),
     "rule 'cash_runway': key 'levels': severity 'severe' is not one of info, warning, critical"),
    (mutate('threshold = 7 }', 'threshold = 17 }'),
     "rule 'cash_runway': key 'levels': thresholds must fall from the mildest level (op <=): 15 then 17"),
    (mutate('{ severity = "warning", threshold = 15 }, { severity = "critical"',
            '{ severity = "critical", threshold = 15 }, { severity = "warning"'),
     "key 'levels': severities must not fall from the mildest level: critical then warning"),
    (mutate('threshold = 15 }', 'threshold = "15" }'), "key 'levels': a number is required, got '15'"),
    (mutate('levels = [{ severity = "warning", threshold = 15 }, { severity = "critical", threshold = 7 }]',
            'levels = []'), "rule 'cash_runway': key 'levels': a non-empty list"),
    (mutate('clear = 20', 'clear = 10'), "key 'clear': with op <= the clear threshold must be at least"),
    (mutate('clear = 20', 'floor = 3'), "key 'floor': a floor only applies with scale"),
    (mutate('clear = 20', 'scale = "baseline"\nfloor = 3'), "key 'floor': a floor only applies to rules with op"),
    (mutate('clear = 20', 'scale = "log"'), "key 'scale': the only scale is \"baseline\""),
    (mutate('baseline = "cash_runway_usual_days"', 'baseline = "usual"'), "key 'baseline': unknown baseline 'usual'"),
    (mutate('clear = 20', 'require = [{ signal = "dpd", op = ">=", value = 1 }]'),
     "key 'require': signal 'dpd' is loan-level, the rule is borrower-level"),
    (mutate('clear = 20', 'require = [{ signal = "dormant_days", op = ">=" }]'),
     "key 'require': each condition is { signal, op, value }"),
    (mutate('clear = 20', 'context = { value = "dormant_days" }'), "key 'context': 'value' is already given"),
    (mutate('clear = 20', 'message = "no_such_template"'),
     "key 'message': no template 'no_such_template' in alerts.messages.TEMPLATES"),
    (mutate('clear = 20', 'message = "revenue_drop"'),
     "key 'message': template 'revenue_drop' (English) uses {days}, which is none of"),
    (mutate('name = "delinquency"', 'name = "cash_runway"'),
     "rule 'cash_runway': key 'name': another rule has this name"),
    (mutate('code = "dpd_30_plus"', 'code = "cash_runway"'),
     "rule 'delinquency': key 'levels': reason code 'cash_runway' is already used by rule 'cash_runway'"),
    (mutate('name = "delinquency"', 'name = "Delinquency!"'), "[[rule]] #2: key 'name': a lower-case identifier"),
    (mutate('target_types = ["cash_runway"]', 'target_types = ["revenue_decline"]'),
     "[[inhibit]] #1: key 'target_types': no rule has type 'revenue_decline'"),
    (mutate('target_types = ["cash_runway"]', 'target_types = ["cash_runway"]\nsource_severities = ["hot"]'),
     "[[inhibit]] #1: source_severities: 'hot' is not one of"),
    (mutate('resolve_after_days = 7', 'resolve_after_days = -1'),
     "[lifecycle]: resolve_after_days must be a number of days >= 0, got -1"),
    (mutate('resolve_after_days = 7', 'resolve_after_day = 7'), "[lifecycle]: unknown key 'resolve_after_day'"),
    (mutate('resolve_after_days = 7', 'resolve_after_days_by_type = { dormant = 1 }'),
     "key 'resolve_after_days_by_type.dormant': no rule has type 'dormant'"),
    (mutate('resolve_after_days = 7', 'timezone = "Mars/Olympus"'), "timezone 'Mars/Olympus' is not a known"),
    ("[[rule]]\nname = ", "not valid TOML"),
    ("[lifecycle]\nrenotify_days = 7\n", "no rules"),
    (BASE + "\n[extra]\nx = 1\n", "unknown top-level key 'extra'"),
])
def test_a_bad_rule_set_is_refused_with_an_error_naming_the_rule_and_key(text, error):
    with pytest.raises(RuleError) as caught:
        parse_rules(text, where="my-rules.toml")
    assert str(caught.value).startswith("my-rules.toml: ")
    assert error in str(caught.value)


def test_a_rules_file_is_read_from_a_path_and_its_errors_name_the_file(tmp_path):
    good = tmp_path / "rules.toml"
    good.write_text(BASE, encoding="utf-8")
    rs = load_rules(good, timezone="UTC")
    assert rs.source == str(good) and rs.policy.timezone == "UTC"
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace('op = "<="', 'op = "<>"'), encoding="utf-8")
    with pytest.raises(RuleError, match=re.escape(f"{bad}: rule 'cash_runway': key 'op'")):
        load_rules(bad)


def test_extra_signals_can_be_declared_by_the_caller():
    text = BASE.replace('signal = "cash_runway_days"', 'signal = "runway_p10"')
    with pytest.raises(RuleError, match="unknown signal 'runway_p10'"):
        parse_rules(text)
    signals = dict(SIGNALS, runway_p10=alerts.rules.Signal("borrower", "10th percentile runway"))
    rs = parse_rules(text, signals=signals)
    assert [f.severity for f in evaluate(rs, {"runway_p10": 5}, {})] == ["critical"]


# --------------------------------------------------------------------------- doctests


@pytest.mark.parametrize("module", [alerts.rules, alerts.lifecycle, alerts.messages])
def test_the_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_rules_switched_off_in_the_file_are_validated_but_not_loaded():
    default = {r.name for r in load_rules().rules}
    every = {r.name for r in load_rules(include_disabled=True).rules}
    assert "cash_runway" in every and "cash_runway" not in default
    assert "delinquency" in default and "revenue_drop" in every and "feed_silent" in every


def test_a_rules_file_named_in_the_settings_replaces_the_packaged_one(tmp_path):
    from importlib import resources

    from streams.settings import SettingsError, load

    text = resources.files("alerts").joinpath("rules.toml").read_text(encoding="utf-8")
    mine = tmp_path / "my-rules.toml"
    mine.write_text(text.replace('enabled = false', 'enabled = true'), encoding="utf-8")
    default = {r.name for r in load(env={}).policy().ruleset.rules}
    every = {r.name for r in load(env={}, overrides={"core": {"rules": str(mine)}}).policy().ruleset.rules}
    assert "cash_runway" in every - default and default < every
    with pytest.raises(SettingsError, match=r"\[core\] rules"):
        load(env={}, overrides={"core": {"rules": str(tmp_path / "missing.toml")}})


# --------------------------------------------------------------------------- examples and `loanwatch rules`


@pytest.mark.parametrize("rule", RULES.rules, ids=lambda r: r.name)
def test_every_rule_has_an_example_it_fires_on_with_its_own_reason(rule):
    found = rule.run_example()
    assert found is not None, f"rule {rule.name} has no example"
    level, reason = found
    assert level in rule.levels and reason.code in {lv.code for lv in rule.levels}
    assert reason.value == dict(rule.example)[rule.signal]
    assert CJK.search(reason.message_zh) and not CJK.search(reason.message)


def test_a_rules_file_whose_example_does_not_fire_is_refused():
    text = ('[[rule]]\nname = "runway"\ntype = "cash_runway"\nsignal = "cash_runway_days"\nop = "<="\n'
            'levels = [{ severity = "warning", threshold = 15 }]\nmessage = "cash_runway"\n'
            'example = { cash_runway_days = 40 }\n')
    with pytest.raises(RuleError, match="does not fire on its example"):
        parse_rules(text)
    with pytest.raises(RuleError, match="'runway_days' is neither a signal nor a baseline"):
        parse_rules(text.replace("cash_runway_days = 40", "runway_days = 4"))


def test_loanwatch_rules_lists_the_rules_in_use_and_with_all_every_example_in_both_languages():
    from click.testing import CliRunner

    from streams.cli import main

    in_use = CliRunner().invoke(main, ["rules"], env={"LOANWATCH_CONFIG": ""}, catch_exceptions=False)
    assert in_use.exit_code == 0 and "revenue_drop" in in_use.output and "cash_runway" not in in_use.output
    every = CliRunner().invoke(main, ["rules", "--all", "--examples"], env={"LOANWATCH_CONFIG": ""},
                               catch_exceptions=False)
    assert every.exit_code == 0
    for rule in RULES.rules:
        assert rule.name in every.output
        assert rule.run_example()[1].message_zh in every.output  # type: ignore[index]
