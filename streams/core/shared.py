"""What the borrowers of one input partition share: the feed board and the two online models.

One :class:`Partition` per input partition (the worker keeps it beside the
borrowers' states and checkpoints it to its own changelog; the replay keeps
one per partition as Kafka's default partitioner would place the borrowers):

- the feed board and the ops alerts of pipeline outages (:mod:`detectors.outage`,
  :mod:`streams.core.feeds`);
- the shared anomaly model (:class:`detectors.anomaly.BorrowerAnomaly`) and the
  online default model (:class:`detectors.default_model.DefaultModel`).

Everything the partition learns is *derived from the borrowers' states* when
one of its days ends, never accumulated event by event: each state keeps which
of its last 8 days a revenue report arrived for, and what it contributed to the
models in its last few days (one anomaly sample per borrower-day while the
anomaly rule is on; the PD labels of its label memory: a snapshot that aged
``horizon_days`` without a default is a negative, reaching 90 DPD the
positive). The worker writes a borrower's state with the event that changed it
and re-reads events after a crash, so what a partition derives from its states
is the same whether or not it crashed, and the same in a replay:

- when the partition freezes day ``d`` (:func:`streams.core.feeds.close`), the
  board counts, per source, the states with a report for ``d``;
- once the partition's due borrowers have ticked, the contributions of the
  days up to ``d - 2`` not learnt yet are learnt, sorted by moment and
  borrower (:meth:`Partition.learn`), and the models after that are kept as
  the *version* of that day;
- a decision on local day ``f`` scores with the newest version of a day at
  most ``f - 3`` (the oldest kept when the decision is older than that).

>>> from detectors.features import borrower_features, pack
>>> from streams.core.state import BorrowerState, Contribution
>>> part, calm, late = Partition(), pack(borrower_features()), pack(borrower_features(dpd=100, max_dpd=100))
>>> part.learn(739000, [(1, Contribution(739000, 0, calm)), (2, Contribution(739000, 0, late, 1))])
2
>>> part.learn(739001, [(2, Contribution(739001, 0, late, 1)), (2, Contribution(739000, 0, late, 1))])
1
>>> part.version(739004)[1].labels, part.version(739003)[1].labels   # a decision on 739003 uses 739000's
(2, 1)
>>> again = Partition.decode(part.encode())
>>> again.version(739004)[1].labels, again.learned_through
(2, 739001)
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from typing import NamedTuple

import msgspec

from alerts.lifecycle import LifecycleState
from detectors.anomaly import BorrowerAnomaly
from detectors.default_model import DefaultModel
from detectors.features import unpack
from detectors.outage import FeedBoard
from streams.core.state import BorrowerState, Contribution

__all__ = ["Partition", "Member", "KEEP_VERSIONS", "SLACK_DAYS"]

_MAGIC = b"lw-partition/2\n"
KEEP_VERSIONS = 4
SLACK_DAYS = 2  # a day's contributions are learnt when the partition freezes the day two days later


class Member(NamedTuple):
    """What a partition's day's end reads of one borrower's state (the shells keep it, so as not to decode)."""

    borrower_id: str
    source: str
    report_day: int
    reported: int
    contrib: tuple[Contribution, ...]

    @classmethod
    def of(cls, state: BorrowerState) -> Member:
        return cls(state.borrower_id, state.source, state.report_day, state.reported, tuple(state.contrib))


class Partition:
    """One partition's feed board, outage alerts and shared models (in memory; :meth:`encode` checkpoints)."""

    def __init__(self, pd: DefaultModel | None = None, anomaly: bool = True) -> None:
        self.board = FeedBoard()
        self.alerts: dict[str, LifecycleState] = {}  # source -> lifecycle of its ops_feed_outage alert
        # the anomaly model only while a rule reads it (its trees make a checkpoint some 50 KB larger)
        self.anomaly: BorrowerAnomaly | None = BorrowerAnomaly() if anomaly else None
        self.pd = pd if pd is not None else DefaultModel()
        self.versions: list[tuple[int, bytes]] = []  # (learnt through day, pickled (anomaly, pd))
        self.learned_through = 0
        self._cache: tuple[bytes, tuple[BorrowerAnomaly | None, DefaultModel]] | None = None  # last used

    # ------------------------------------------------------------------ learning

    def learn(self, day: int, contributions: Iterable[tuple[int, Contribution]]) -> int:
        """Learn the ``(borrower hash, contribution)`` of days after the last learnt one up to ``day``, in a
        fixed order; keep the models as that day's version. Returns how many were learnt."""
        if day <= self.learned_through:
            return 0
        take = sorted((c.moment, h, c.label, c.x) for h, c in contributions if self.learned_through < c.day <= day)
        for _moment, _h, label, packed in take:
            x = unpack(packed)
            if label < 0:
                if self.anomaly is not None:
                    self.anomaly.score_and_learn(x)  # type: ignore[arg-type]
            else:
                self.pd.label(x, bool(label))
        self.learned_through = day
        if take or not self.versions:  # pickled: a third of the cost of a deep copy of the trees
            self.versions.append((day, pickle.dumps((self.anomaly, self.pd), protocol=pickle.HIGHEST_PROTOCOL)))
        else:  # nothing new: the same models, relabelled
            self.versions.append((day, self.versions[-1][1]))
        del self.versions[:-KEEP_VERSIONS]
        return len(take)

    def version(self, today: int) -> tuple[BorrowerAnomaly | None, DefaultModel]:
        """The models a decision on local day ``today`` scores with (see the module's docstring)."""
        if not self.versions:
            return (_FRESH_ANOMALY if self.anomaly is not None else None), _FRESH_PD
        best = self.versions[0][1]
        for day, raw in self.versions:
            if day <= today - SLACK_DAYS - 1:
                best = raw
        if self._cache is None or self._cache[0] is not best:
            self._cache = (best, pickle.loads(best))
        return self._cache[1]

    # ------------------------------------------------------------------ checkpoint

    def encode(self) -> bytes:
        """A checkpoint (pickle with a format header; board, alerts, models). Load only checkpoints you wrote."""
        state = (_feeds_encoder.encode(_Feeds(self.board, self.alerts)), self.anomaly, self.pd, self.versions,
                 self.learned_through)
        return _MAGIC + pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def decode(cls, raw: bytes | None, pd: DefaultModel | None = None, anomaly: bool = True) -> Partition:
        """A partition from its checkpoint (``None``: a fresh one, with the ``pd`` model)."""
        part = cls(pd, anomaly)
        if raw:
            if not raw.startswith(_MAGIC):
                raise ValueError("not a loanwatch partition checkpoint (bad header or an older format)")
            feeds, part.anomaly, part.pd, part.versions, part.learned_through = pickle.loads(raw[len(_MAGIC):])
            f = _feeds_decoder.decode(feeds)
            part.board, part.alerts = f.board, f.alerts
        return part


class _Feeds(msgspec.Struct, array_like=True):
    board: FeedBoard
    alerts: dict[str, LifecycleState]


_feeds_encoder = msgspec.msgpack.Encoder()
_feeds_decoder = msgspec.msgpack.Decoder(_Feeds)
_FRESH_ANOMALY = BorrowerAnomaly()
_FRESH_PD = DefaultModel()
