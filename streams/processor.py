"""The one loop body shared by the live worker and the offline replay.

``Processor.handle`` takes the raw bytes of one message and the borrower's
serialized state, and returns the new state and what to send: outputs for the
downstream topics and dead letters. The faust agent and ``loanwatch replay``
both call it, so the same input gives the same records in both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import msgspec

from alerts.records import Output
from streams import metrics
from streams.core import Policy, Rejection, advance, new_state, snapshot, step
from streams.core import state as state_codec
from streams.decode import DeadLetter, dead_letter, decode
from streams.events import Event


@dataclass(slots=True)
class Result:
    """What one message or one tick produced."""

    state: bytes | None = None  # new serialized state (None: unchanged)
    outputs: list[Output] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Message:
    raw: bytes
    source: str
    partition: int
    offset: int
    received_at: str
    key: bytes | None = None


class Processor:
    """Decode, step, encode: the behaviour of loanwatch for one message."""

    def __init__(self, policy: Policy, max_event_bytes: int = 1_048_576) -> None:
        self.policy = policy
        self.max_event_bytes = max_event_bytes

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
        if msg.partition >= 0:
            state.partition = msg.partition
        before = state.events_applied
        produced = step(state, event, self.policy)
        result = Result()
        for item in produced:
            if isinstance(item, Rejection):
                result.dead_letters.append(self._rejected(item, msg if item.event_id == event.event_id else None))
            else:
                result.outputs.append(item)
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

    def tick(self, state_raw: bytes, now: int, *, final: bool = False) -> Result:
        """Move one borrower's time to ``now`` (epoch seconds): timers fire (see ``core.advance``)."""
        state = state_codec.decode(state_raw)
        result = Result(state=None)
        for item in advance(state, now, self.policy, final=final):
            if isinstance(item, Rejection):
                result.dead_letters.append(self._rejected(item, None))
            else:
                result.outputs.append(item)
        result.state = state_codec.encode(state)
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
        return snapshot(state_codec.decode(state_raw), self.policy)

    def _dead(self, msg: Message, error: str) -> DeadLetter:
        return dead_letter(msg.raw, source=msg.source, partition=msg.partition, offset=msg.offset,
                           error=error, received_at=msg.received_at)

    def dead(self, msg: Message, error: str) -> DeadLetter:
        """A dead letter for a message the shell could not handle."""
        letter = self._dead(msg, error)
        metrics.observe_outputs([], [letter])
        return letter


def _schema(event: Event) -> str:
    return type(event).__struct_config__.tag  # type: ignore[attr-defined, no-any-return]
