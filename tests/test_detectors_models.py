"""River's individual estimator checks on the detectors' river-protocol classes, and the shared models.

``river.checks.check_estimator`` needs scikit-learn and downloads data sets;
the checks it would run are called one by one here, on small crafted streams.
"""

from __future__ import annotations

import math
import pickle
import random

import pytest
from river.checks import clf as clf_checks
from river.checks import common

from detectors.anomaly import BorrowerAnomaly
from detectors.cashflow import CashflowDetector
from detectors.default_model import DefaultModel, rule_score
from detectors.dormancy import DormancyDetector
from detectors.features import FEATURES, borrower_features
from detectors.repayment import RepaymentDetector
from detectors.revenue import RevenueDetector

# --------------------------------------------------------------------------- streams


def revenue_stream(n: int = 120) -> list[tuple[dict, None]]:
    rng = random.Random(0)
    out = []
    for i in range(n):
        amount = 0.0 if 80 <= i < 90 else 1000.0 * math.exp(rng.gauss(0, 0.2))
        out.append(({"day": 739000.0 + i, "amount": amount}, None))
    return out


def dormancy_stream(n: int = 120) -> list[tuple[dict, None]]:
    rng = random.Random(1)
    day, out = 739000, []
    for _ in range(n):
        day += rng.choice([1, 1, 2, 3, 15])
        out.append(({"day": float(day)}, None))
    return out


def cashflow_stream(n: int = 150) -> list[tuple[dict, None]]:
    """A workshop's account: sales in, supplier and payroll out, the balance, now and then another lender."""
    rng, t, balance, out = random.Random(3), 1_767_225_600, 200_000.0, []
    for i in range(n):
        t += rng.choice([3600, 8 * 3600, 86_400])
        amount = 9_000.0 * math.exp(rng.gauss(0, 0.3)) if i % 3 else -7_000.0 * math.exp(rng.gauss(0, 0.3))
        balance += amount
        x = {"t": float(t), "amount": amount, "balance": balance, "kind": "customer" if amount > 0 else "supplier"}
        if i % 40 == 39:
            x |= {"kind": "lender_disbursement", "counterparty": f"lender-{i}", "amount": 50_000.0}
        out.append((x, None))
    return out


def repayment_stream(n: int = 60) -> list[tuple[dict, None]]:
    rng = random.Random(4)
    out = []
    for _ in range(n):
        late = rng.choice([0, 0, 0, -2, 3, 12, 35])
        out.append(({"days_late": float(late), "dpd": float(late if late > 30 else 0)}, None))
    return out


def feature_stream(n: int = 400, seed: int = 2) -> list[tuple[dict, bool]]:
    """Mostly calm borrowers, a few in trouble (label True)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        trouble = rng.random() < 0.05
        x = {k: min(1.0, max(0.0, rng.gauss(0.6 if trouble else 0.05, 0.1))) for k in FEATURES}
        out.append((x, trouble))
    return out


GENERAL = [
    common.check_repr, common.check_str, common.check_tags, common.check_clone_same_class,
    common.check_clone_is_idempotent, common.check_init_has_default_params_for_tests,
    common.check_init_default_params_are_not_mutable, common.check_doc,
    common.check_clone_changes_memory_addresses, common.check_mutate_can_be_idempotent,
    common.check_pickling_supports_roundtrip, common.check_repr_roundtrips_clone,
    common.check_clone_with_new_params_applies, common.check_get_params_matches_signature,
]
WITH_DATA = [
    common.check_learn_one, common.check_pickling, common.check_shuffle_features_no_impact,
    common.check_emerging_features, common.check_disappearing_features,
    common.check_radically_disappearing_features, common.check_predict_one_pure,
    common.check_predict_one_before_any_learn, common.check_no_state_aliasing_with_input,
    common.check_clone_is_independent, common.check_bounded_memory_growth,
]
CLASSIFIER = [clf_checks.check_predict_proba_one, clf_checks.check_predict_proba_one_binary,
              clf_checks.check_classifier_tracks_seen_labels]

CASES = {
    "revenue": (RevenueDetector, revenue_stream),
    "dormancy": (DormancyDetector, dormancy_stream),
    "cashflow": (CashflowDetector, cashflow_stream),
    "repayment": (RepaymentDetector, repayment_stream),
    "anomaly": (lambda: BorrowerAnomaly(window_size=50, seed=3), feature_stream),
    "default": (DefaultModel, feature_stream),
}


def _checks():
    for name, (make, _data) in CASES.items():
        model = make()
        checks = list(GENERAL) + list(WITH_DATA)
        if model._is_stochastic or "seed" in model._get_params():
            checks.append(common.check_seeding_is_idempotent)
        if isinstance(model, DefaultModel):
            checks += CLASSIFIER
        for check in checks:
            yield pytest.param(name, check, id=f"{name}-{check.__name__}")


@pytest.mark.parametrize("name,check", list(_checks()))
def test_river_estimator_check(name, check):
    make, data = CASES[name]
    model = make()
    if check in GENERAL:
        check(model)
    else:
        check(model, dataset=data())


def _auc(labels: list[bool], scores: list[float]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_the_anomaly_model_ranks_trouble_above_calm_scoring_before_learning():
    # river.checks.anomaly.check_roc_auc, without scikit-learn
    model = BorrowerAnomaly(window_size=50, seed=3)
    stream = feature_stream(1500)
    scores = [model.score_and_learn(x) for x, _ in stream]
    assert _auc([y for _, y in stream][200:], scores[200:]) >= 0.9


# --------------------------------------------------------------------------- anomaly model


def test_alarms_do_not_train_the_trees():
    model = BorrowerAnomaly(window_size=50, seed=3)
    for x, _ in feature_stream(600):
        model.score_and_learn(x)
    trees = model.filter.anomaly_detector
    before = trees.counter
    odd = dict.fromkeys(FEATURES, 1.0)
    score = model.score_and_learn(odd)
    assert model.classify(score) and model.alarms > 0
    assert trees.counter == before  # the alarm was not learned


def test_the_anomaly_model_is_deterministic_and_its_checkpoint_resumes_exactly():
    stream = feature_stream(700)
    a, b = BorrowerAnomaly(window_size=50, seed=11), BorrowerAnomaly(window_size=50, seed=11)
    for x, _ in stream[:400]:
        assert a.score_and_learn(x) == b.score_and_learn(x)
    restored = BorrowerAnomaly.from_bytes(a.to_bytes())
    for x, _ in stream[400:]:
        assert restored.score_and_learn(x) == a.score_and_learn(x)
    with pytest.raises(ValueError):
        BorrowerAnomaly.from_bytes(b"not a checkpoint")


def test_the_anomaly_model_always_sees_every_feature():
    model = BorrowerAnomaly(window_size=20, seed=1)
    model.score_and_learn({"dpd": 0.5})  # partial input: the rest count as 0.0
    assert model.filter.anomaly_detector.trees and set(model._keys) == set(FEATURES)


# --------------------------------------------------------------------------- PD model


TRUE_WEIGHTS = {"rev_shortfall": 2.0, "rev_collapse": 1.5, "cash_runway_short": 1.5, "cash_other_lenders": 2.0,
                "rep_late_share": 2.5, "rep_consecutive_late": 1.0, "dpd": 3.0, "feed_silence": 1.0}


def simulated_borrower(rng: random.Random) -> tuple[dict[str, float], float, bool]:
    """A feature vector, its true default probability (a known logistic model) and the outcome."""
    stress = rng.random() ** 3
    x = dict.fromkeys(FEATURES, 0.0)
    for k in FEATURES:
        if rng.random() < 0.3 + 0.6 * stress:
            x[k] = min(1.0, max(0.0, rng.gauss(stress * 0.7, 0.2)))
    p = 1 / (1 + math.exp(-(-5.5 + sum(TRUE_WEIGHTS.get(k, 0.0) * v for k, v in x.items()))))
    return x, p, rng.random() < p


def calibration(model: DefaultModel, n: int, rng: random.Random) -> tuple[float, float, float]:
    """(expected calibration error over 10 bins, mean predicted, observed rate) on fresh borrowers."""
    bins = [[0, 0.0, 0] for _ in range(10)]
    preds, ys = [], []
    for _ in range(n):
        x, _, y = simulated_borrower(rng)
        p = model.predict(x)
        b = bins[min(int(p * 10), 9)]
        b[0] += 1
        b[1] += p
        b[2] += y
        preds.append(p)
        ys.append(y)
    ece = sum(abs(b[1] - b[2]) for b in bins) / n
    return ece, sum(preds) / n, sum(ys) / n


def test_the_pd_model_learns_from_stream_labels_and_is_calibrated():
    rng = random.Random(1)
    model = DefaultModel()
    for _ in range(20_000):
        x, _, y = simulated_borrower(rng)
        model.label(x, y)
    assert model.weight > 0.95
    ece, mean_pred, rate = calibration(model, 10_000, rng)
    assert ece < 0.03 and abs(mean_pred - rate) < 0.02


def test_before_enough_labels_the_pd_is_the_rule_score():
    model = DefaultModel(min_positives=20)
    x = borrower_features(dpd=45, max_dpd=45)
    for _ in range(100):
        model.label(borrower_features(), False)
    assert model.weight == 0.0 and model.predict(x) == pytest.approx(rule_score(x))
    assert 0.0 <= model.predict(x) <= 1.0


def test_the_rule_score_rises_with_every_warning():
    calm = borrower_features()
    base = rule_score(calm)
    for name in ("rev_collapse", "cash_runway_short", "cash_other_lenders", "rep_consecutive_late"):
        assert rule_score({**calm, name: 1.0}) > base


def test_the_pd_checkpoint_resumes_exactly():
    rng = random.Random(5)
    model = DefaultModel(min_positives=1, prior_labels=10)
    for _ in range(500):
        x, _, y = simulated_borrower(rng)
        model.label(x, y)
    restored = DefaultModel.from_bytes(model.to_bytes())
    x, _, _ = simulated_borrower(rng)
    assert restored.predict(x) == model.predict(x)
    assert pickle.loads(pickle.dumps(model)).labels == 500
