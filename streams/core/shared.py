"""What the borrowers of one input partition share: the feed board and the two online models.

One :class:`Partition` per input partition (the worker keeps it beside the
borrowers' states and checkpoints it to its own changelog; the replay keeps
one per partition as Kafka's default partitioner would place the borrowers):

- the feed board and the ops alerts of pipeline outages (:mod:`detectors.outage`,
  :mod:`streams.core.feeds`);
- the shared anomaly model (:class:`detectors.anomaly.BorrowerAnomaly`) and the
  online default model (:class:`detectors.default_model.DefaultModel`).

The models learn a day at a time, in event time, so that the live worker and a
replay of the same partition learn the same things in the same order and score
with the same model:

- the core *contributes* while it reconciles a borrower: one anomaly sample per
  borrower and local day (its feature vector at its first reconcile of the
  day), and the PD labels of its label memory (a snapshot that aged
  ``horizon_days`` without a default: a negative; reaching 90 DPD: a positive);
- when the partition freezes day ``d`` (:func:`streams.core.feeds.close`), the
  contributions made for days up to ``d - 2`` are learnt, sorted by moment and
  borrower, and the models after that are kept as the *version* of day ``d - 2``
  (the two days of slack let every borrower's timers of those days fire first,
  in live mode and in replay alike); a contribution for a day already learnt is
  dropped (counted in ``late``);
- a decision on local day ``f`` scores with the newest version of a day at
  most ``f - 3`` (the oldest kept when the decision is older than that).

Parity holds in normal operation. It can break when contributions are lost in
a crash between two checkpoints (the borrowers' states are ahead), or for
events later than the allowed lateness: see the note in README "Shared models".

>>> from detectors.features import borrower_features
>>> part = Partition()
>>> calm, late = borrower_features(), borrower_features(dpd=100, max_dpd=100)
>>> part.contribute(86_400 * 739000, 1, calm)
>>> part.contribute(86_400 * 739000, 2, late, label=True)
>>> part.learn_through(739000, lambda t: t // 86_400)
2
>>> part.contribute(86_400 * 739001, 2, late, label=True)
>>> part.learn_through(739001, lambda t: t // 86_400)
1
>>> part.version(739004)[1].labels, part.version(739003)[1].labels   # a decision on 739003 uses 739000's
(2, 1)
>>> again = Partition.decode(part.encode())
>>> again.version(739004)[1].labels, again.learned_through
(2, 739001)
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping

import msgspec

from alerts.lifecycle import LifecycleState
from detectors.anomaly import BorrowerAnomaly
from detectors.default_model import DefaultModel
from detectors.features import pack, unpack
from detectors.outage import FeedBoard

__all__ = ["Partition", "Contribution"]

_MAGIC = b"lw-partition/1\n"
KEEP_VERSIONS = 4
SLACK_DAYS = 2  # a day's contributions are learnt when the partition freezes the day two days later


class Contribution(msgspec.Struct, array_like=True):
    """One thing for the shared models to learn: an anomaly sample (``label`` -1) or a PD label (0, 1)."""

    moment: int  # epoch second of the reconcile that made it
    h: int  # the borrower's stable hash: the order of contributions of one moment
    x: list[int]  # packed features (detectors.features.pack)
    label: int = -1


class Partition:
    """One partition's feed board, outage alerts and shared models (in memory; :meth:`encode` checkpoints)."""

    def __init__(self, pd: DefaultModel | None = None) -> None:
        self.board = FeedBoard()
        self.alerts: dict[str, LifecycleState] = {}  # source -> lifecycle of its ops_feed_outage alert
        self.anomaly = BorrowerAnomaly()
        self.pd = pd if pd is not None else DefaultModel()
        self.pending: list[Contribution] = []
        self.versions: list[tuple[int, bytes]] = []  # (learnt through day, pickled (anomaly, pd))
        self._cache: tuple[bytes, tuple[BorrowerAnomaly, DefaultModel]] | None = None  # the version last used
        self.learned_through = 0
        self.late = 0  # contributions dropped: their day had been learnt already

    # ------------------------------------------------------------------ learning

    def contribute(self, moment: int, h: int, x: Mapping[str, float], label: bool | None = None) -> None:
        """Remember something to learn (``label`` None: an anomaly sample)."""
        self.pending.append(Contribution(moment, h, pack(x), -1 if label is None else int(label)))

    def learn_through(self, day: int, day_of: Callable[[int], int]) -> int:
        """Learn the contributions of local days up to ``day`` in a fixed order; keep the models as a version.

        Returns how many were learnt. Contributions for a day learnt before are dropped.
        """
        if day <= self.learned_through:
            return 0
        take, keep = [], []
        for c in self.pending:
            d = day_of(c.moment)
            if self.learned_through and d <= self.learned_through:
                self.late += 1
            elif d <= day:
                take.append(c)
            else:
                keep.append(c)
        self.pending = keep
        for c in sorted(take, key=lambda c: (c.moment, c.h, c.label, c.x)):
            x = unpack(c.x)
            if c.label < 0:
                self.anomaly.score_and_learn(x)  # type: ignore[arg-type]
            else:
                self.pd.label(x, bool(c.label))
        self.learned_through = day
        if take or not self.versions:  # pickled: a third of the cost of a deep copy of the trees
            self.versions.append((day, pickle.dumps((self.anomaly, self.pd), protocol=pickle.HIGHEST_PROTOCOL)))
        else:  # nothing new: the same models, relabelled
            self.versions.append((day, self.versions[-1][1]))
        del self.versions[:-KEEP_VERSIONS]
        return len(take)

    def version(self, today: int) -> tuple[BorrowerAnomaly, DefaultModel]:
        """The models a decision on local day ``today`` scores with (see the module's docstring)."""
        if not self.versions:
            return _FRESH_ANOMALY, _FRESH_PD
        best = self.versions[0][1]
        for day, raw in self.versions:
            if day <= today - SLACK_DAYS - 1:
                best = raw
        if self._cache is None or self._cache[0] is not best:
            self._cache = (best, pickle.loads(best))
        return self._cache[1]

    # ------------------------------------------------------------------ checkpoint
    # Two parts: the feed board changes with every revenue report and is small (msgpack); the models
    # change once a day and are large (pickle of river objects).

    def encode_feeds(self) -> bytes:
        return _feeds_encoder.encode(_Feeds(self.board, self.alerts))

    def encode_models(self) -> bytes:
        """A checkpoint of the models (pickle with a format header). Load only checkpoints you wrote."""
        state = (self.anomaly, self.pd, self.pending, self.versions, self.learned_through, self.late)
        return _MAGIC + pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    def encode(self) -> tuple[bytes, bytes]:
        return self.encode_feeds(), self.encode_models()

    @classmethod
    def decode(cls, checkpoint: tuple[bytes | None, bytes | None], pd: DefaultModel | None = None) -> Partition:
        """A partition from its two checkpoints (either may be missing: a fresh part with the ``pd`` model)."""
        feeds, models = checkpoint
        part = cls(pd)
        if feeds:
            f = _feeds_decoder.decode(feeds)
            part.board, part.alerts = f.board, f.alerts
        if models:
            if not models.startswith(_MAGIC):
                raise ValueError("not a loanwatch partition checkpoint (bad header)")
            (part.anomaly, part.pd, part.pending, part.versions, part.learned_through,
             part.late) = pickle.loads(models[len(_MAGIC):])
        return part


class _Feeds(msgspec.Struct, array_like=True):
    board: FeedBoard
    alerts: dict[str, LifecycleState]


_feeds_encoder = msgspec.msgpack.Encoder()
_feeds_decoder = msgspec.msgpack.Decoder(_Feeds)
_FRESH_ANOMALY = BorrowerAnomaly()
_FRESH_PD = DefaultModel()
