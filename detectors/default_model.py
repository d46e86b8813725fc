"""The online default (PD) model, its rule-based prior, and the label memory that feeds it.

Labels come from the stream itself: a borrower reaching 90 DPD is a positive
for the features it had some ``horizon_days`` before; a borrower that survives
``horizon_days`` without reaching it is a negative for the features it had at
the start of that span. One :class:`DefaultModel` per worker or partition
(shared, checkpointed); per borrower only a :class:`LabelMemory` of two
one-byte-per-feature snapshots (about 45 bytes).

The model is river's ``StandardScaler | LogisticRegression`` (log loss, so its
probabilities are calibrated as it converges), started at the prior default
rate. Until it has seen enough labels, :meth:`DefaultModel.predict` leans on
:func:`rule_score`, the backbone's DPD curve (:mod:`detectors.delinquency`)
raised by the early-warning signals; the blend weight is
``n / (n + prior_labels)`` once ``min_positives`` defaults have been seen, 0
before.

>>> from detectors.features import borrower_features
>>> pd_model = DefaultModel()
>>> calm, late = borrower_features(), borrower_features(dpd=40, max_dpd=40)
>>> round(pd_model.predict(calm), 3), pd_model.predict(late) > 0.2     # no labels yet: the rule
(0.02, True)
>>> for i in range(3000):
...     pd_model.label(late if i % 10 == 0 else calm, defaulted=(i % 10 == 0 and i % 20 == 0))
>>> pd_model.weight > 0.8, round(pd_model.predict(late), 1)
(True, 0.5)
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping
from typing import Any

import msgspec
from river import linear_model, optim, preprocessing
from river.base import Classifier
from river.base.typing import ClfTarget, FeatureName

from detectors.delinquency import delinquency_score
from detectors.features import FEATURES, pack, unpack

__all__ = ["DefaultModel", "rule_score", "LabelMemory", "remember", "on_default", "RULE_WEIGHTS"]

_MAGIC = b"lw-pd/1\n"

# How much each early-warning feature (in [0, 1]) raises the rule-based PD at full strength.
# A prior for the cold start, not a fitted model: the learned model replaces it as labels arrive.
RULE_WEIGHTS: dict[str, float] = {
    "rev_shortfall": 0.05,
    "rev_drop_evidence": 0.04,
    "rev_collapse": 0.10,
    "cash_runway_short": 0.08,
    "cash_burn": 0.04,
    "cash_margin_decline": 0.03,
    "cash_other_lenders": 0.10,
    "rep_late_share": 0.10,
    "rep_consecutive_late": 0.10,
    "rep_partial": 0.04,
    "feed_silence": 0.05,
}


def rule_score(x: Mapping[Any, float]) -> float:
    """The cold-start PD: the DPD curve of :func:`detectors.delinquency.delinquency_score`,
    raised by each warning feature (``1 - (1 - p) x prod(1 - w_i x_i)``).

    >>> from detectors.features import borrower_features
    >>> rule_score(borrower_features())
    0.02
    >>> rule_score(borrower_features(dpd=60, max_dpd=60)) > rule_score(borrower_features(dpd=10, max_dpd=10))
    True
    """
    base = delinquency_score(round(x.get("dpd", 0.0) * 90), round(x.get("max_dpd", 0.0) * 180))
    keep = 1.0 - base
    for name, w in RULE_WEIGHTS.items():
        keep *= 1.0 - w * min(max(float(x.get(name, 0.0)), 0.0), 1.0)
    return round(1.0 - keep, 6)


class DefaultModel(Classifier):
    """Online PD model: StandardScaler | LogisticRegression, blended with :func:`rule_score`.

    Parameters
    ----------
    features
        The fixed feature names (default: :data:`detectors.features.FEATURES`).
    lr
        SGD learning rate of the weights.
    l2
        L2 regularisation.
    prior_rate
        The default rate the intercept starts from.
    prior_labels
        Labels at which the learned model and the rule weigh the same.
    min_positives
        Defaults seen before the learned model gets any weight.

    Examples
    --------

    >>> m = DefaultModel(features=("a",), min_positives=1, prior_labels=10)
    >>> for i in range(200):
    ...     m.learn_one({"a": float(i % 2)}, i % 4 == 1)
    >>> m.predict_proba_one({"a": 1.0})[True] > m.predict_proba_one({"a": 0.0})[True]
    True
    """

    def __init__(self, features: tuple[str, ...] = FEATURES, lr: float = 0.01, l2: float = 1e-4,
                 prior_rate: float = 0.03, prior_labels: int = 500, min_positives: int = 20):
        self.features = features
        self.lr = lr
        self.l2 = l2
        self.prior_rate = prior_rate
        self.prior_labels = prior_labels
        self.min_positives = min_positives
        rate = min(max(prior_rate, 1e-4), 1 - 1e-4)
        self.model = preprocessing.StandardScaler() | linear_model.LogisticRegression(
            optimizer=optim.SGD(lr), l2=l2, intercept_init=math.log(rate / (1 - rate)), intercept_lr=lr)
        self.labels = 0
        self.positives = 0

    @property
    def _multiclass(self) -> bool:
        return False

    def _x(self, x: Mapping[Any, Any]) -> dict[str, float]:
        return {k: float(x.get(k, 0.0)) for k in self.features}

    @property
    def weight(self) -> float:
        """Weight of the learned model in :meth:`predict` (0 until ``min_positives`` defaults)."""
        if self.positives < self.min_positives:
            return 0.0
        return self.labels / (self.labels + self.prior_labels)

    def label(self, features_then: Mapping[Any, float], defaulted: bool) -> None:
        """One outcome: the features a borrower had ``horizon_days`` before it defaulted (or survived)."""
        self.model.learn_one(self._x(features_then), bool(defaulted))
        self.labels += 1
        self.positives += bool(defaulted)

    def learn_one(self, x: dict[FeatureName, Any], y: ClfTarget) -> None:
        self.label(x, bool(y))

    def learned_proba(self, features: Mapping[Any, float]) -> float:
        """The learned model alone."""
        return float(self.model.predict_proba_one(self._x(features)).get(True, 0.0))

    def predict(self, features: Mapping[Any, float]) -> float:
        """PD in [0, 1]: the learned model blended with :func:`rule_score` by :attr:`weight`."""
        w = self.weight
        rule = rule_score(features)
        p = rule if w == 0.0 else w * self.learned_proba(features) + (1 - w) * rule
        return min(max(p, 0.0), 1.0)

    def predict_proba_one(self, x: dict[FeatureName, Any], **kwargs: Any) -> dict[ClfTarget, float]:
        p = self.predict(x)
        return {False: 1.0 - p, True: p}

    def predict_one(self, x: dict[FeatureName, Any], **kwargs: Any) -> ClfTarget:
        return self.predict(x) >= 0.5

    def to_bytes(self) -> bytes:
        """A checkpoint (pickle with a format header). Load only checkpoints you wrote."""
        return _MAGIC + pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, raw: bytes) -> DefaultModel:
        """Restore a checkpoint written by :meth:`to_bytes`."""
        if not raw.startswith(_MAGIC):
            raise ValueError("not a loanwatch PD-model checkpoint (bad header)")
        model = pickle.loads(raw[len(_MAGIC):])
        if not isinstance(model, cls):
            raise ValueError(f"checkpoint holds a {type(model).__name__}, not a {cls.__name__}")
        return model


# --------------------------------------------------------------------------- label memory


class LabelMemory(msgspec.Struct, array_like=True, omit_defaults=True):
    """Per-borrower feature snapshots awaiting their label: up to two ``[day, packed features]``."""

    days: list[int] = []
    snaps: list[list[int]] = []


def remember(memory: LabelMemory, today: int, features: Mapping[str, float], horizon_days: int = 90,
             ) -> list[tuple[dict[str, float], bool]]:
    """Daily (or at any event): keep a snapshot every ``horizon_days / 2``; return the due negatives.

    A snapshot that has aged ``horizon_days`` without a default is a negative
    label ``(features, False)`` and is dropped. Call :func:`on_default` instead
    once the borrower reaches 90 DPD.

    >>> from detectors.features import borrower_features
    >>> mem = LabelMemory()
    >>> [len(remember(mem, 1000 + d, borrower_features())) for d in (0, 44, 45, 89, 90)]
    [0, 0, 0, 0, 1]
    >>> len(mem.days)
    2
    """
    out: list[tuple[dict[str, float], bool]] = []
    while memory.days and today - memory.days[0] >= horizon_days:
        out.append((unpack(memory.snaps[0]), False))
        del memory.days[0], memory.snaps[0]
    if not memory.days or today - memory.days[-1] >= horizon_days // 2:
        memory.days.append(today)
        memory.snaps.append(pack(features))
    return out


def on_default(memory: LabelMemory, today: int, horizon_days: int = 90) -> tuple[dict[str, float], bool] | None:
    """The borrower reached 90 DPD on ``today``: the positive label (oldest snapshot), memory cleared.

    Returns ``None`` when no snapshot is at least ``horizon_days / 4`` old (too
    little warning time to learn from).

    >>> from detectors.features import borrower_features
    >>> mem = LabelMemory()
    >>> _ = remember(mem, 1000, borrower_features(dpd=10))
    >>> x, y = on_default(mem, 1070)
    >>> y, round(x["dpd"], 2), mem.days
    (True, 0.11, [])
    """
    label = None
    if memory.days and today - memory.days[0] >= horizon_days // 4:
        label = (unpack(memory.snaps[0]), True)
    memory.days.clear()
    memory.snaps.clear()
    return label
