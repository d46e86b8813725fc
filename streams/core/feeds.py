"""A partition's days ending: pipeline outages judged, the shared models learning.

Pure like the rest of the core: the shell owns one
:class:`streams.core.shared.Partition` per input partition, passes it to
:func:`streams.core.step.step` (which reads its outages and scores with its
models) and calls :func:`close` with the partition's borrower states as time
passes (event time, and in live mode also the clock's ticks). A day is judged by the ``feed`` rules of the rule set
(``alerts/rules.toml``), and an outage gets an ``ops_feed_outage`` alert with
the usual lifecycle, under the pseudo-borrower ``feed:<source>``: the same id
from every partition that sees it, so consumers and the store keep one alert.
Then, once the partition's due borrowers have ticked, :func:`learn` has the
models learn the contributions of the day two days before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from alerts import lifecycle
from alerts.lifecycle import LifecycleState
from alerts.records import Alert
from alerts.rules import evaluate
from detectors import outage
from streams.core.shared import SLACK_DAYS, Member, Partition
from streams.core.step import Policy, day_start, event_hash, local_day

__all__ = ["close", "learn", "feed_signals"]


def feed_signals(count: int, usual: int) -> dict[str, float]:
    """The ``feed``-scope signals of one source's day.

    >>> feed_signals(3, 40)
    {'feed_silent_share': 0.925, 'feed_silent_borrowers': 37.0, 'feed_usual_reporters': 40.0}
    """
    missing = max(usual - count, 0)
    return {"feed_silent_share": missing / usual if usual else 0.0, "feed_silent_borrowers": float(missing),
            "feed_usual_reporters": float(usual)}


def close(part: Partition, now: int, policy: Policy, states: Iterable[Member], *,
          final: bool = False) -> list[Alert]:
    """Judge the days that are over by ``now`` less the allowed lateness; the ops alert records to send.

    A day is over (frozen) once time has passed its end plus ``lateness_seconds``
    (``final``: the end of a replay, nothing waits). Its count per source is the
    partition's ``states`` with a report for it (at most the last 8 days are
    counted at once). Each judged day is reconciled as of the end of that day.
    """
    through = frozen_through(now, policy, final=final)
    if through <= part.board.frozen:
        return []
    first = max(part.board.frozen + 1, through - 7) if part.board.frozen else through - 7
    counts: dict[int, Counter[str]] = {d: Counter() for d in range(first, through + 1)}
    for st in states:
        if not st.reported or not st.source:
            continue
        for d in counts:
            k = st.report_day - d
            if 0 <= k < 8 and st.reported >> k & 1:
                counts[d][st.source] += 1
    for d, by_source in counts.items():
        outage.set_counts(part.board, d, by_source)
    rules = policy.ruleset

    def judge(count: int, usual: int) -> bool:
        return bool(evaluate(rules, feed_signals(count, usual), {}, scope="feed"))

    out: list[Alert] = []
    for day in outage.close(part.board, through, judge):
        state = part.alerts.get(day.source)
        if state is None and not day.outage:
            continue
        state = part.alerts.setdefault(day.source, LifecycleState())
        findings = evaluate(rules, feed_signals(day.reported, day.usual), {}, scope="feed",
                            open_types=lifecycle.open_types(state))
        out += lifecycle.reconcile(state, f"feed:{day.source}", findings, day_start(day.day + 1, policy), 0.0,
                                   "n/a", rules.policy)
        if not state.alerts:
            del part.alerts[day.source]
    return out


def learn(part: Partition, now: int, policy: Policy, states: Iterable[Member]) -> int:
    """The shared models learn the contributions, in the partition's ``states``, of the days up to
    ``SLACK_DAYS`` before the last frozen one that are not learnt yet.

    Call it after :func:`close` *and* after the partition's due borrowers have
    ticked to ``now``: their contributions for those days are in by then.
    """
    day = learn_day(now, policy)
    if day <= part.learned_through:
        return 0
    return part.learn(day, ((event_hash(st.borrower_id), c) for st in states for c in st.contrib))


def frozen_through(now: int, policy: Policy, *, final: bool = False) -> int:
    """The last local day that is over once time reached ``now``: its end plus the allowed lateness has
    passed (``final``: the end of a replay, nothing waits)."""
    return local_day(now if final else now - policy.lateness_seconds, policy) - 1


def learn_day(now: int, policy: Policy) -> int:
    """The last day the models may learn once time reached ``now`` (the slack after the last frozen day)."""
    return frozen_through(now, policy) - SLACK_DAYS
