"""The shared online anomaly model over normalised per-borrower features.

One instance per worker or partition, not per borrower: river's
``preprocessing.MinMaxScaler`` in front of ``anomaly.HalfSpaceTrees`` (which
expects features in ``[0, 1]``), wrapped in ``anomaly.QuantileFilter`` so that
observations scoring above the running ``q`` quantile do not train the trees
(alarms must not teach the model that trouble is normal).

Score first, then decide, then learn: :meth:`BorrowerAnomaly.score_and_learn`
scores an observation with the model as it was, classifies the score, and only
then learns, scoring once (``QuantileFilter.learn_one`` would score again). The
feature set is fixed (HalfSpaceTrees fixes its own from the first sample): every
call passes every key, missing ones as 0.0. Deterministic for a given ``seed``
and input order; checkpointed with :meth:`to_bytes` / :meth:`from_bytes`.

Cost: HalfSpaceTrees walks every tree to score and again to learn, in pure
Python, so a call costs tens of microseconds (see ``bench/bench_detectors.py``).
Feed it once per borrower-day (the features change daily), not per raw event,
and, with millions of borrowers, let it learn from a sample (``learn_every``).

>>> import random
>>> from detectors.features import FEATURES
>>> rng, model = random.Random(7), BorrowerAnomaly(seed=7, window_size=50)
>>> for i in range(600):
...     level = 0.8 if i % 25 == 0 else 0.05            # one borrower in 25 is in trouble
...     score = model.score_and_learn({k: min(1.0, abs(rng.gauss(level, 0.05))) for k in FEATURES})
>>> trouble, calm = dict.fromkeys(FEATURES, 0.8), dict.fromkeys(FEATURES, 0.05)
>>> model.score_one(trouble) > 0.9 > 0.1 > model.score_one(calm), model.classify(model.score_one(trouble))
(True, True)
>>> BorrowerAnomaly.from_bytes(model.to_bytes()).score_one(trouble) == model.score_one(trouble)
True

A feature the model has only ever seen at one value is scaled to 0 (MinMaxScaler
has no range for it), and values beyond the range seen land with the
extremes: the trees rank points *within* what the scaler has seen.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

from river import anomaly, preprocessing
from river.base import AnomalyDetector
from river.base.typing import FeatureName

from detectors.features import FEATURES

__all__ = ["BorrowerAnomaly"]

_MAGIC = b"lw-anomaly/1\n"


class BorrowerAnomaly(AnomalyDetector):
    """MinMaxScaler | QuantileFilter(HalfSpaceTrees), score-first, fixed features, checkpointable.

    Parameters
    ----------
    features
        The fixed feature names (default: :data:`detectors.features.FEATURES`);
        ``None`` fixes them from the first observation.
    n_trees
        Number of half-space trees.
    height
        Height of each tree.
    window_size
        Observations per reference window of the trees.
    q
        Scores at or above this running quantile are alarms (and do not train the trees).
    seed
        Random seed of the trees.
    learn_every
        Learn from one observation in this many (1: all); scoring is unaffected.

    Examples
    --------

    >>> m = BorrowerAnomaly(features=("a", "b"), window_size=10, seed=1)
    >>> scores = [m.score_and_learn({"a": i % 3 / 3, "b": 0.5}) for i in range(60)]
    >>> 0.0 <= m.score_one({"a": 5.0, "b": -3.0}) <= 1.0
    True
    """

    def __init__(self, features: tuple[str, ...] | None = FEATURES, n_trees: int = 10, height: int = 6,
                 window_size: int = 250, q: float = 0.95, seed: int = 42, learn_every: int = 1):
        self.features = features
        self.n_trees = n_trees
        self.height = height
        self.window_size = window_size
        self.q = q
        self.seed = seed
        self.learn_every = learn_every
        self.scaler = preprocessing.MinMaxScaler()
        self.filter = anomaly.QuantileFilter(
            anomaly.HalfSpaceTrees(n_trees=n_trees, height=height, window_size=window_size, seed=seed),
            q=q, protect_anomaly_detector=True)
        self.seen = 0
        self.alarms = 0
        self._keys: tuple[str, ...] | None = features

    def _full(self, x: Mapping[FeatureName, Any]) -> dict[str, float]:
        if self._keys is None:
            self._keys = tuple(sorted(str(k) for k in x))
        return {k: float(x.get(k, 0.0)) for k in self._keys}

    def score_one(self, x: dict[FeatureName, Any]) -> float:
        """The anomaly score in [0, 1] (high: anomalous), without learning."""
        keys = self._keys
        if keys is None:
            return 0.0
        return self.filter.score_one(self.scaler.transform_one({k: float(x.get(k, 0.0)) for k in keys}))

    def classify(self, score: float) -> bool:
        """Is ``score`` an alarm (at or above the running ``q`` quantile of past scores)?"""
        return self.filter.classify(score)

    def score_and_learn(self, x: Mapping[FeatureName, Any]) -> float:
        """Score ``x`` with the model as it was, then learn from it unless it is an alarm.

        The scaler always learns (its range must cover what it sees); the trees
        learn only from non-alarms, and from one call in ``learn_every``.
        """
        full = self._full(x)
        z = self.scaler.transform_one(full)
        score = self.filter.score_one(z)
        alarm = self.filter.classify(score)
        self.seen += 1
        self.alarms += alarm
        if self.seen % self.learn_every == 0:
            self.scaler.learn_one(full)
            if not alarm:
                self.filter.anomaly_detector.learn_one(z)
        self.filter.quantile.update(score)
        return score

    def learn_one(self, x: dict[FeatureName, Any]) -> None:
        self.score_and_learn(x)

    def to_bytes(self) -> bytes:
        """A checkpoint (pickle with a format header). Load only checkpoints you wrote."""
        return _MAGIC + pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, raw: bytes) -> BorrowerAnomaly:
        """Restore a checkpoint written by :meth:`to_bytes`."""
        if not raw.startswith(_MAGIC):
            raise ValueError("not a loanwatch anomaly-model checkpoint (bad header)")
        model = pickle.loads(raw[len(_MAGIC):])
        if not isinstance(model, cls):
            raise ValueError(f"checkpoint holds a {type(model).__name__}, not a {cls.__name__}")
        return model
