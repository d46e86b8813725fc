"""Send JSON Lines files of events to Kafka, keyed by borrower_id (for users, tests and benchmarks)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import msgspec
from kafka import KafkaProducer


class _Key(msgspec.Struct):
    borrower_id: str


_key_decoder = msgspec.json.Decoder(_Key)


def borrower_key(raw: bytes) -> bytes | None:
    """The Kafka key of a raw event: its borrower_id, or None when it cannot be read.

    >>> borrower_key(b'{"borrower_id": "B1", "x": 1}')
    b'B1'
    >>> borrower_key(b'not json') is None
    True
    >>> borrower_key(b'{"borrower_id": "' + b"x" * 65 + b'"}') is None  # not a borrower id (1..64 chars)
    True
    """
    try:
        key = _key_decoder.decode(raw).borrower_id.encode()
    except (msgspec.DecodeError, UnicodeEncodeError):
        return None
    return key if 0 < len(key) <= 64 else None


def producer(bootstrap: str) -> KafkaProducer:
    # one request in flight per connection: a retried batch cannot overtake the next one, so one
    # borrower's events arrive in the order they were sent
    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024,
                         max_request_size=4 * 1024 * 1024, retries=5,
                         max_in_flight_requests_per_connection=1)


class ProduceError(RuntimeError):
    """Some records were not acknowledged by the broker."""


def produce(bootstrap: str, topic: str, records: Iterable[bytes], rate: float = 0.0) -> int:
    """Send raw records in order; return how many were sent. Raises ProduceError unless all were acknowledged."""
    p = producer(bootstrap)
    sent = 0
    started = time.monotonic()
    errors: list[BaseException] = []
    try:
        for raw in records:
            p.send(topic, key=borrower_key(raw), value=raw).add_errback(errors.append)
            sent += 1
            if rate > 0:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        p.flush(timeout=120)
    finally:
        p.close(timeout=30)
    if errors:
        raise ProduceError(f"{len(errors):,} of {sent:,} records were not acknowledged; first error: "
                           f"{errors[0]!r}")
    return sent


def produce_file(bootstrap: str, topic: str, path: Path, rate: float = 0.0) -> int:
    from streams.replay import open_events

    with open_events(path) as f:
        return produce(bootstrap, topic, (line.rstrip(b"\r\n") for line in f), rate=rate)
