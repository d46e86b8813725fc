"""The one loop body shared by the live worker and the offline replay.

``Processor.handle`` takes the raw bytes of one message and the borrower's
serialized state, and returns the new state and what to send: outputs for the
downstream topics and dead letters. The faust agent and ``loanwatch replay``
both call it, so the same input gives the same records in both.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec
from aiokafka.partitioner import murmur2

from alerts.records import Output
from detectors.default_model import DefaultModel
from streams import metrics
from streams.core import Policy, Rejection, advance, feeds, new_state, next_wake, snapshot, step
from streams.core import state as state_codec
from streams.core.shared import Member, Partition
from streams.decode import DeadLetter, dead_letter, decode
from streams.events import Event


@dataclass(slots=True)
class Result:
    """What one message or one tick produced."""

    state: bytes | None = None  # new serialized state (None: unchanged)
    outputs: list[Output] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    partition: int = -1  # the borrower's partition
    wake: int | None = None  # when the borrower next needs a tick (core.next_wake)
    member: Member | None = None  # what the partition's day's end reads of the borrower


@dataclass(frozen=True, slots=True)
class Message:
    raw: bytes
    source: str
    partition: int
    offset: int
    received_at: str
    key: bytes | None = None


class Processor:
    """Decode, step, encode: the behaviour of loanwatch for one message.

    It also keeps what each input partition shares (``parts``: the feed board
    and the shared models, :mod:`streams.core.shared`): a message without a
    partition (a replay) is placed where Kafka's default partitioner would put
    its key among ``partitions``, so a replay judges pipeline outages and
    learns as the worker does.

    Both shells (:func:`streams.replay.replay` and the worker) run the same
    day's end: before an event is handled, :meth:`close_feeds` with the
    partition's states (the event's moment may end days of the partition:
    outages judged); when it did, after the event, the partition's borrowers
    whose timers are due tick, as the worker's clock ticks would, then
    :meth:`learn` with the states: every contribution to the models of a day is
    in before the day is learnt, whatever the shell.
    """

    def __init__(self, policy: Policy, max_event_bytes: int = 1_048_576, partitions: int = 8) -> None:
        self.policy = policy
        self.max_event_bytes = max_event_bytes
        self.partitions = partitions
        self.parts: dict[int, Partition] = {}

    def decode(self, msg: Message) -> Event | DeadLetter:
        decoded = decode(msg.raw, source=msg.source, partition=msg.partition, offset=msg.offset,
                         received_at=msg.received_at, max_bytes=self.max_event_bytes)
        if isinstance(decoded, DeadLetter):
            metrics.observe_event("invalid", "dead_letter", 0.0)
            metrics.observe_outputs([], [decoded])
            return decoded
        if msg.key is not None and msg.key != decoded.borrower_id.encode():
            return self.dead(msg, f"message key {msg.key!r} is not the event's borrower_id "
                                   f"{decoded.borrower_id!r}; topics must be keyed by borrower_id")
        return decoded

    def handle(self, event: Event, state_raw: bytes | None, msg: Message) -> Result:
        """Apply a decoded event to the borrower's state."""
        started = time.perf_counter()
        state = state_codec.decode(state_raw) if state_raw else new_state(event.borrower_id)
        state.partition = self.partition_of(event, msg)
        result = Result()
        before = state.events_applied
        produced = step(state, event, self.policy, self.part(state.partition))
        for item in produced:
            if isinstance(item, Rejection):
                result.dead_letters.append(self._rejected(item, msg if item.event_id == event.event_id else None))
            else:
                result.outputs.append(item)
        result.partition, result.wake, result.member = state.partition, next_wake(state, self.policy), \
            Member.of(state)
        duplicate = state.events_applied == before
        if not duplicate or result.outputs:
            result.state = state_codec.encode(state)
        if state_raw is None:
            metrics.BORROWERS.inc()
        metrics.observe_event(_schema(event), "duplicate" if duplicate else
                              ("rejected" if result.dead_letters else "applied"),
                              time.perf_counter() - started)
        metrics.observe_outputs(result.outputs, result.dead_letters)
        return result

    def part(self, partition: int) -> Partition:
        """What the partition's borrowers share (a fresh one the first time)."""
        part = self.parts.get(partition)
        if part is None:
            part = self.parts[partition] = self.new_part()
        return part

    def new_part(self, checkpoint: bytes | None = None) -> Partition:
        """A partition from its checkpoint, or a fresh one with the models the settings want."""
        pd = DefaultModel(min_positives=self.policy.pd_min_positives, prior_labels=self.policy.pd_prior_labels)
        return Partition.decode(checkpoint, pd, anomaly="anomaly_score" in self.policy.signals_used)

    def partition_of(self, event: Event, msg: Message) -> int:
        """The message's partition; in a replay, where Kafka's default partitioner puts the borrower."""
        return msg.partition if msg.partition >= 0 else kafka_partition(event.borrower_id.encode(), self.partitions)

    def clock(self, event: Event, msg: Message) -> int:
        """The moment an event brings its partition to: its time, never past the moment it arrived."""
        t = int(event.occurred_at.timestamp())
        return min(t, _epoch(msg.received_at, t))

    def day_ends(self, partition: int, now: int, *, final: bool = False) -> bool:
        """Whether ``now`` ends a day of the partition (then :meth:`close_feeds` and :meth:`learn` have work)."""
        return feeds.frozen_through(now, self.policy, final=final) > self.part(partition).board.frozen

    def close_feeds(self, partition: int, now: int, states: Iterable[Member], *, final: bool = False) -> list[Output]:
        """Time reached ``now`` on a partition: the days it ends are judged from its borrowers' ``states``
        (pipeline outages: ops alerts). Nothing to do (and ``states`` not read) unless :meth:`day_ends`."""
        if not self.day_ends(partition, now, final=final):
            return []
        part = self.part(partition)
        out: list[Output] = list(feeds.close(part, now, self.policy, states, final=final))
        metrics.observe_feeds(partition, part.board)
        return out

    def learn(self, partition: int, now: int, states: Iterable[Member]) -> bool:
        """After a day ended and the partition's due borrowers ticked: its shared models learn from the
        contributions in its borrowers' ``states``. Whether they learnt (the shell then checkpoints)."""
        part = self.part(partition)
        if feeds.learn_day(now, self.policy) <= part.learned_through:
            return False
        feeds.learn(part, now, self.policy, states)
        metrics.observe_models(partition, part)
        return True

    def place(self, state_raw: bytes) -> tuple[int, int | None, Member]:
        """A stored state's partition, when it next needs a tick and what its day's end reads (for a shell
        rebuilding its index)."""
        state = state_codec.decode(state_raw)
        return state.partition, next_wake(state, self.policy), Member.of(state)

    def tick(self, state_raw: bytes, now: int, *, final: bool = False) -> Result:
        """Move one borrower's time to ``now`` (epoch seconds): timers fire (see ``core.advance``).

        Close the partition's days first (:meth:`close_feeds`): the silence of a
        borrower is judged with the outage days that are over by then.
        """
        state = state_codec.decode(state_raw)
        result = Result(state=None)
        for item in advance(state, now, self.policy, final=final, part=self.parts.get(state.partition)):
            if isinstance(item, Rejection):
                result.dead_letters.append(self._rejected(item, None))
            else:
                result.outputs.append(item)
        result.state = state_codec.encode(state)
        result.partition, result.wake, result.member = state.partition, next_wake(state, self.policy), \
            Member.of(state)
        metrics.observe_outputs(result.outputs, result.dead_letters)
        return result

    def _rejected(self, item: Rejection, msg: Message | None) -> DeadLetter:
        """The dead letter of an event the core could not apply.

        An event applied later than it arrived (held for the allowed lateness)
        has no message at hand: its letter carries the event as contract JSON.
        """
        error = f"{_schema(item.event)}: {item.reason}"
        if msg is not None:
            return self._dead(msg, error)
        return dead_letter(msgspec.json.encode(item.event), source=f"held/{item.event_id}", partition=-1,
                           offset=-1, error=error, received_at=item.event.occurred_at.isoformat())

    def snapshot(self, state_raw: bytes) -> dict[str, object]:
        state = state_codec.decode(state_raw)
        return snapshot(state, self.policy, self.parts.get(state.partition))

    def _dead(self, msg: Message, error: str) -> DeadLetter:
        return dead_letter(msg.raw, source=msg.source, partition=msg.partition, offset=msg.offset,
                           error=error, received_at=msg.received_at)

    def dead(self, msg: Message, error: str) -> DeadLetter:
        """A dead letter for a message the shell could not handle."""
        letter = self._dead(msg, error)
        metrics.observe_outputs([], [letter])
        return letter


def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition a keyed message goes to under Kafka's default partitioner (murmur2), as the
    Java clients, kafka-python (``loanwatch produce``) and aiokafka place it.

    >>> kafka_partition(b"B1", 8), kafka_partition(b"B1", 1)
    (4, 0)
    """
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def _epoch(iso: str, default: int) -> int:
    """An ISO 8601 moment as epoch seconds (``default`` when empty or unreadable)."""
    if not iso:
        return default
    try:
        return int(dt.datetime.fromisoformat(iso).timestamp())
    except ValueError:
        return default


def _schema(event: Event) -> str:
    return type(event).__struct_config__.tag  # type: ignore[attr-defined, no-any-return]
