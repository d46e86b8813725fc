"""Offline replay: the live worker's loop over a JSON Lines file of events.

Writes ``alerts.jsonl``, ``tasks.jsonl``, ``limits.jsonl``, ``dead_letters.jsonl``
(every record as it was emitted, in order: for a record that changes, the last
line with its id wins) and ``borrowers.jsonl`` (the final per-borrower snapshot).
"""

from __future__ import annotations

import datetime as dt
import gzip
import heapq
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgspec

from alerts.records import Output
from streams.core.shared import Member
from streams.decode import DeadLetter
from streams.processor import Message, Processor

FILES = {"alert": "alerts.jsonl", "task": "tasks.jsonl", "limit": "limits.jsonl"}
DEAD_LETTERS = "dead_letters.jsonl"
BORROWERS = "borrowers.jsonl"

_json = msgspec.json.Encoder(decimal_format="string")


def encode_record(record: Output | DeadLetter | dict[str, Any]) -> bytes:
    """One output record as a JSON line (money as decimal strings)."""
    return _json.encode(record)


@dataclass
class ReplaySummary:
    events: int = 0
    dead_letters: int = 0
    borrowers: int = 0
    outputs: Counter[str] = field(default_factory=Counter)
    until: str = ""


class JsonlSink:
    """Append records to the replay output files."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, IO[bytes]] = {
            kind: (out_dir / name).open("wb") for kind, name in FILES.items()}
        self.files["dead_letter"] = (out_dir / DEAD_LETTERS).open("wb")
        self.files["borrower"] = (out_dir / BORROWERS).open("wb")

    def write(self, kind: str, record: Any) -> None:
        f = self.files[kind]
        f.write(encode_record(record))
        f.write(b"\n")

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def open_events(path: Path) -> IO[bytes]:
    """An event file for reading in binary: JSON Lines, or gzip-compressed JSON Lines when it ends in ``.gz``."""
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def file_bytes(path: Path) -> int | None:
    """The bytes a progress bar over the file's lines counts to (``None``: unknown, a compressed file)."""
    return None if path.suffix == ".gz" else path.stat().st_size


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw bytes) of every line, without its line end; blank lines included (see open_events)."""
    with open_events(path) as f:
        for number, line in enumerate(f, 1):
            yield number, line.rstrip(b"\r\n")


def replay(lines: Iterable[tuple[int, bytes]], processor: Processor, sink: JsonlSink, *, source: str,
           until: dt.datetime | None = None, received_at: str = "",
           store: Any = None, on_line: Any = None, cutoffs: Iterable[dt.datetime] = (),
           on_snapshot: Any = None, states: dict[str, bytes] | None = None, finish: bool = True) -> ReplaySummary:
    """Run the core over events in file order; then advance every borrower to ``until``.

    ``until`` defaults to the latest event time seen. ``store`` (an
    :class:`alerts.store.Store`), when given, receives every record too.

    ``states`` (borrower id -> serialized state) is filled in place; with
    ``finish=False`` the replay stops after the last line (no advance to
    ``until``, no snapshots), and a later call with the same ``states`` and a
    processor holding the same partitions goes on from there (the tests use it
    to stop and restore a replay the way a crashed worker is restored).

    ``cutoffs`` (for backtests): when event time first passes a cutoff, every
    borrower is advanced to it and ``on_snapshot(cutoff_iso, snapshot)`` is
    called for each. Advancing time never changes the records (the timer rule
    of the core), so a replay with cutoffs writes the same files as without.
    """
    states = {} if states is None else states
    members: dict[int, dict[str, Member]] = {}  # partition -> its borrowers, as its day's end reads them
    wakes = Wakes()
    for borrower_id, raw in states.items():  # going on from where an earlier call stopped (finish=False)
        partition, wake, member = processor.place(raw)
        members.setdefault(partition, {})[borrower_id] = member
        wakes.put(borrower_id, partition, wake)
    summary = ReplaySummary()
    batch: list[Output] = []
    letters: list[DeadLetter] = []
    latest = 0
    pending = sorted(int(c.timestamp()) for c in cutoffs)

    def members_states(partition: int) -> list[Member]:
        return [m for _, m in sorted(members.get(partition, {}).items())]

    def keep(borrower_id: str, result: Any) -> None:
        if result.state is not None:
            states[borrower_id] = result.state
            members.setdefault(result.partition, {})[borrower_id] = result.member
        wakes.put(borrower_id, result.partition, result.wake)

    def tick_due(partition: int, clock: int) -> None:
        for borrower_id in wakes.due(partition, clock - processor.policy.lateness_seconds):
            result = processor.tick(states[borrower_id], clock)
            keep(borrower_id, result)
            batch.extend(result.outputs)
            letters.extend(result.dead_letters)

    def take_snapshots(cutoff: int) -> None:
        label = dt.datetime.fromtimestamp(cutoff, processor.policy.tz).isoformat()
        for borrower_id in sorted(states):
            # timers due by the cutoff fire; the snapshot is the borrower's standing at the cutoff
            result = processor.tick(states[borrower_id], cutoff + processor.policy.lateness_seconds)
            keep(borrower_id, result)
            batch.extend(result.outputs)
            letters.extend(result.dead_letters)
            on_snapshot(label, processor.snapshot(states[borrower_id]))

    for number, raw in lines:
        if on_line is not None:
            on_line(len(raw) + 1)
        msg = Message(raw, source, -1, number, received_at)
        decoded = processor.decode(msg)
        if isinstance(decoded, DeadLetter):
            letters.append(decoded)
            continue
        summary.events += 1
        event_time = int(decoded.occurred_at.timestamp())
        while pending and event_time >= pending[0] + processor.policy.lateness_seconds:
            take_snapshots(pending.pop(0))
        partition, clock = processor.partition_of(decoded, msg), processor.clock(decoded, msg)
        ends = processor.day_ends(partition, clock)
        if ends:  # the event's moment ends days of its partition, as it does in the worker
            batch.extend(processor.close_feeds(partition, clock, members_states(partition)))
        result = processor.handle(decoded, states.get(decoded.borrower_id), msg)
        keep(decoded.borrower_id, result)
        latest = max(latest, event_time)
        batch.extend(result.outputs)
        letters.extend(result.dead_letters)
        if ends:  # then its due borrowers tick, as the worker's clock would have them, and the models learn
            tick_due(partition, clock)
            processor.learn(partition, clock, members_states(partition))
        if len(batch) >= 1000 or len(letters) >= 1000:
            _flush(sink, store, batch, letters, summary)
    if not finish:  # ``states`` and ``processor.parts`` are where a later call goes on from
        _flush(sink, store, batch, letters, summary)
        summary.borrowers = len(states)
        return summary
    now = int(until.timestamp()) if until is not None else latest
    while pending and pending[0] <= now:
        take_snapshots(pending.pop(0))
    for partition in sorted(members):  # the days that are over, before the borrowers' last timers
        batch.extend(processor.close_feeds(partition, now, members_states(partition), final=True))
    for borrower_id in sorted(states):
        result = processor.tick(states[borrower_id], now, final=True)
        keep(borrower_id, result)
        batch.extend(result.outputs)
        letters.extend(result.dead_letters)
    for partition in sorted(members):  # what the worker's clock tick would learn now
        processor.learn(partition, now, members_states(partition))
    _flush(sink, store, batch, letters, summary)
    for borrower_id in sorted(states):
        sink.write("borrower", processor.snapshot(states[borrower_id]))
    summary.borrowers = len(states)
    summary.until = dt.datetime.fromtimestamp(now, processor.policy.tz).isoformat() if now else ""
    return summary


class Wakes:
    """When each borrower next needs a tick, per partition (a heap; stale entries are skipped).

    >>> w = Wakes()
    >>> w.put("B1", 0, 50); w.put("B2", 0, 10); w.put("B1", 0, 70); w.put("B3", 1, 5)
    >>> w.due(0, 60), w.due(0, 60), w.due(0, 80)
    (['B2'], [], ['B1'])
    """

    def __init__(self) -> None:
        self.at: dict[str, int] = {}
        self.heaps: dict[int, list[tuple[int, str]]] = {}

    def put(self, borrower_id: str, partition: int, wake: int | None) -> None:
        if not wake:
            self.at.pop(borrower_id, None)
            return
        if self.at.get(borrower_id) != wake:
            self.at[borrower_id] = wake
            heapq.heappush(self.heaps.setdefault(partition, []), (wake, borrower_id))

    def due(self, partition: int, limit: int) -> list[str]:
        """The borrowers of ``partition`` due by ``limit``, sorted (each taken off until ``put`` again)."""
        heap, out = self.heaps.get(partition, []), set()
        while heap and heap[0][0] <= limit:
            wake, borrower_id = heapq.heappop(heap)
            if self.at.get(borrower_id) == wake:
                del self.at[borrower_id]
                out.add(borrower_id)
        return sorted(out)


def _flush(sink: JsonlSink, store: Any, batch: list[Output], letters: list[DeadLetter],
           summary: ReplaySummary) -> None:
    for record in batch:
        sink.write(record.kind, record)
        summary.outputs[f"{record.kind}:{record.status}"] += 1
    for letter in letters:
        sink.write("dead_letter", letter)
    summary.dead_letters += len(letters)
    if store is not None:
        store.save(batch)
        store.save_dead_letters(msgspec.structs.asdict(letter) for letter in letters)
    batch.clear()
    letters.clear()


def last_records(path: Path, id_field: str) -> dict[str, dict[str, Any]]:
    """The last record per id in an output file (what a consumer keeps)."""
    records: dict[str, dict[str, Any]] = {}
    if path.exists():
        with path.open("rb") as f:
            for line in f:
                record = msgspec.json.decode(line)
                records[record[id_field]] = record
    return records
