"""Pipeline outages: many borrowers of one source going quiet on the same day.

When a POS aggregator or a bank feed breaks, every borrower it carries falls
silent at once. That is one problem for ops, not hundreds of borrowers in
trouble. The board below counts, per source and local day, the borrowers
that reported, and compares each day with the source's *usual* count: the
median of the same weekday over the last ``weeks`` (4) weeks (a source that
is quiet on Sundays is not broken on Sundays), outage days and Spring Festival
days left out. Whether a day is an *outage day* is the caller's judgement (the
``feed`` rules of ``alerts/rules.toml``: by default at least 70% of the usual
reporters missing, and at least 20 of them); :func:`quiet_day` is the same
test for use without the rules.

One board per input partition (the worker keeps it beside the borrowers'
states; the replay partitions events as the producer does), so an outage is
seen by every partition that carries the source's borrowers, on the same day.
Only reports that arrive before their day is *frozen* count, and a frozen day
is never judged again: whether day ``d`` was an outage day depends only on
what had arrived when ``d`` froze, the same in live mode and in replay.

What the shell does with it: an ops alert per outage (the same id from every
partition), and the outage days do not count as silence in the per-borrower
dormancy check (:func:`excused`), so dormancy warnings are held back while
the pipe is broken and come, for those still silent, once it is repaired.

>>> board, day = FeedBoard(), 739000
>>> for d in range(day, day + 35):                   # 40 POS sellers report daily for five weeks
...     for b in range(40):
...         _ = note(board, "pos", d)
>>> any(x.outage for x in close(board, day + 34, quiet_day))
False
>>> for b in range(3):                                # then only 3 of them do
...     _ = note(board, "pos", day + 35)
>>> [(x.source, x.day - day, x.reported, x.usual, x.outage) for x in close(board, day + 35, quiet_day)]
[('pos', 35, 3, 40, True)]
>>> for d in range(day + 36, day + 39):
...     for b in range(38):
...         _ = note(board, "pos", d)
>>> [(x.day - day, x.outage) for x in close(board, day + 38, quiet_day)]
[(36, False), (37, False), (38, False)]
>>> excused(board, "pos", day + 30, day + 40), excused(board, "ecommerce", day + 30, day + 40)
(1, 0)
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import msgspec

from detectors.revenue import calendar_event

__all__ = ["OutagePolicy", "FeedBoard", "Day", "note", "set_counts", "close", "quiet_day", "excused", "outage_within", "ongoing", "encode", "decode"]


@dataclass(frozen=True, slots=True)
class OutagePolicy:
    """How the usual count is learnt, and how long outages are remembered."""

    weeks: int = 4  # the usual: median of the same weekday over this many weeks
    keep_days: int = 400  # outage history kept, for the silence of borrowers quiet that long


DEFAULT_POLICY = OutagePolicy()


class Source(msgspec.Struct, array_like=True, omit_defaults=True):
    """One source on one board: borrowers reporting per day, and its outages."""

    counts: dict[int, int] = {}  # local day -> borrowers that reported (recent days only)
    spans: list[list[int]] = []  # [first day, last day (0: ongoing), usual count at its start]


class FeedBoard(msgspec.Struct, array_like=True, omit_defaults=True):
    """Per-partition board: days up to ``frozen`` are judged and take no more reports."""

    frozen: int = 0
    sources: dict[str, Source] = {}


class Day(NamedTuple):
    """One judged day of one source."""

    source: str
    day: int
    reported: int  # borrowers that reported on the day
    usual: int  # the usual count on that weekday (0: not known yet)
    outage: bool  # judged an outage day


Judge = Callable[[int, int], bool]  # (count, usual) -> is it an outage day


def quiet_day(count: int, usual: int, quiet_share: float = 0.7, min_usual: int = 20) -> bool:
    """At least ``quiet_share`` of at least ``min_usual`` usual reporters did not report.

    >>> quiet_day(3, 40), quiet_day(20, 40), quiet_day(0, 10)
    (True, False, False)
    """
    return usual >= min_usual and usual - count >= quiet_share * usual


def note(board: FeedBoard, source: str, day: int) -> bool:
    """A borrower's first report of local day ``day`` arrived; False when the day is frozen (not counted)."""
    if day <= board.frozen:
        return False
    counts = board.sources.setdefault(source, Source()).counts
    counts[day] = counts.get(day, 0) + 1
    return True


def set_counts(board: FeedBoard, day: int, counts: Mapping[str, int]) -> None:
    """The borrowers that reported for ``day``, per source, as counted by the caller (a day not frozen yet).

    >>> b = FeedBoard()
    >>> set_counts(b, 739000, {"pos": 40}); b.sources["pos"].counts
    {739000: 40}
    """
    if day <= board.frozen:
        return
    for source in board.sources:
        board.sources[source].counts.pop(day, None)
    for source, n in counts.items():
        board.sources.setdefault(source, Source()).counts[day] = n


def close(board: FeedBoard, through: int, judge: Judge = quiet_day,
          policy: OutagePolicy = DEFAULT_POLICY) -> list[Day]:
    """Freeze and judge every day up to ``through``, in order; each source's judged days.

    The first call judges from the first day with reports; a jump of many days
    judges at most the last ``weeks`` weeks. Spring Festival days are frozen but
    not judged (quiet for the festival is neither an outage nor its end).
    """
    if through <= board.frozen:
        return []
    noted = [d for s in board.sources.values() for d in s.counts]
    start = board.frozen + 1 if board.frozen else min(noted, default=through)
    start = max(start, through - 7 * policy.weeks)
    days: list[Day] = []
    for day in range(start, through + 1):
        if _festival(day):
            continue
        for name in sorted(board.sources):
            days.append(_judge(board.sources[name], name, day, judge, policy))
    board.frozen = through
    for s in board.sources.values():
        for d in [d for d in s.counts if d < through - 7 * policy.weeks]:
            del s.counts[d]
        s.spans = [x for x in s.spans if not x[1] or x[1] >= through - policy.keep_days]
    return days


def _judge(s: Source, name: str, day: int, judge: Judge, policy: OutagePolicy) -> Day:
    current = s.spans[-1] if s.spans and not s.spans[-1][1] else None
    past = [s.counts.get(d, 0) for d in (day - 7 * k for k in range(1, policy.weeks + 1))
            if not _in_spans(s.spans, d) and not _festival(d)]
    # the usual count; in a long outage, with no ordinary day left to learn it from, the one at its start
    usual = int(statistics.median(past)) if len(past) >= 2 else (current[2] if current else 0)
    count = s.counts.get(day, 0)
    out = judge(count, usual)
    if out and current is None:
        s.spans.append([day, 0, usual])
    elif not out and current is not None:
        current[1] = day - 1
    return Day(name, day, count, usual, out)


def _festival(day: int) -> bool:
    return calendar_event(day, "default") is not None


def _in_spans(spans: list[list[int]], day: int) -> bool:
    return any(a <= day and (not b or day <= b) for a, b, _ in spans)


def ongoing(board: FeedBoard, source: str) -> int:
    """The first day of the source's ongoing outage (0: none)."""
    s = board.sources.get(source)
    return s.spans[-1][0] if s is not None and s.spans and not s.spans[-1][1] else 0


def excused(board: FeedBoard, source: str, first: int, last: int) -> int:
    """How many days in ``[first, last]`` were judged outage days of ``source`` (silence not the borrower's)."""
    s = board.sources.get(source)
    if s is None or last < first:
        return 0
    total = 0
    for a, b, _ in s.spans:
        end = b or board.frozen
        total += max(0, min(end, last) - max(a, first) + 1)
    return total


def outage_within(board: FeedBoard, source: str, first: int, last: int) -> tuple[int, int] | None:
    """The first and last outage day of ``source`` in ``[first, last]`` (None: none).

    >>> b = FeedBoard(frozen=120, sources={"pos": Source(spans=[[100, 104, 40], [110, 0, 40]])})
    >>> outage_within(b, "pos", 90, 130), outage_within(b, "pos", 105, 109), outage_within(b, "tax", 0, 200)
    ((100, 120), None, None)
    """
    s = board.sources.get(source)
    if s is None or last < first:
        return None
    found = [(max(a, first), min(b or board.frozen, last)) for a, b, _ in s.spans]
    found = [(a, b) for a, b in found if a <= b]
    return (min(a for a, _ in found), max(b for _, b in found)) if found else None


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(FeedBoard)


def encode(board: FeedBoard) -> bytes:
    return _encoder.encode(board)


def decode(raw: bytes) -> FeedBoard:
    return _decoder.decode(raw)
