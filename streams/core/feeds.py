"""Per-partition feed watch: the board of reporting borrowers and the ops alerts of pipeline outages.

Pure like the rest of the core: the shell owns one :class:`Feeds` per input
partition, passes its ``board`` to :func:`streams.core.step.step` (which counts
each borrower's first revenue report of a day on it) and calls :func:`close`
as time passes (event time in replay, the clock's ticks in live mode). A day
is judged by the ``feed`` rules of the rule set (``alerts/rules.toml``), and an
outage gets an ``ops_feed_outage`` alert with the usual lifecycle, under the
pseudo-borrower ``feed:<source>``: the same id from every partition that sees
it, so consumers and the store keep one alert.
"""

from __future__ import annotations

import msgspec

from alerts import lifecycle
from alerts.lifecycle import LifecycleState
from alerts.records import Alert
from alerts.rules import evaluate
from detectors import outage
from detectors.outage import FeedBoard
from streams.core.step import Policy, day_start, local_day

__all__ = ["Feeds", "close", "feed_signals", "encode", "decode"]


class Feeds(msgspec.Struct, array_like=True, omit_defaults=True):
    """One partition's feed board and the lifecycles of its sources' outage alerts."""

    board: FeedBoard = msgspec.field(default_factory=FeedBoard)
    alerts: dict[str, LifecycleState] = {}


def feed_signals(count: int, usual: int) -> dict[str, float]:
    """The ``feed``-scope signals of one source's day.

    >>> feed_signals(3, 40)
    {'feed_silent_share': 0.925, 'feed_silent_borrowers': 37.0, 'feed_usual_reporters': 40.0}
    """
    missing = max(usual - count, 0)
    return {"feed_silent_share": missing / usual if usual else 0.0, "feed_silent_borrowers": float(missing),
            "feed_usual_reporters": float(usual)}


def close(feeds: Feeds, now: int, policy: Policy, *, final: bool = False) -> list[Alert]:
    """Judge the days that are over by ``now`` less the allowed lateness; the ops alert records to send.

    A day is over (frozen) once time has passed its end plus ``lateness_seconds``
    (``final``: the end of a replay, nothing waits). Each judged day is
    reconciled as of the end of that day.
    """
    limit = now if final else now - policy.lateness_seconds
    through = local_day(limit, policy) - 1
    rules = policy.ruleset

    def judge(count: int, usual: int) -> bool:
        return bool(evaluate(rules, feed_signals(count, usual), {}, scope="feed"))

    out: list[Alert] = []
    for day in outage.close(feeds.board, through, judge):
        state = feeds.alerts.get(day.source)
        if state is None and not day.outage:
            continue
        state = feeds.alerts.setdefault(day.source, LifecycleState())
        findings = evaluate(rules, feed_signals(day.reported, day.usual), {}, scope="feed",
                            open_types=lifecycle.open_types(state))
        out += lifecycle.reconcile(state, f"feed:{day.source}", findings, day_start(day.day + 1, policy), 0.0,
                                   "n/a", rules.policy)
        if not state.alerts:
            del feeds.alerts[day.source]
    return out


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Feeds)


def encode(feeds: Feeds) -> bytes:
    return _encoder.encode(feeds)


def decode(raw: bytes) -> Feeds:
    return _decoder.decode(raw)
