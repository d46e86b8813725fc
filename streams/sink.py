"""Keep the output records in the SQL store: ``loanwatch store-sink``, a consumer of the output topics.

It runs as its own process (its own consumer group), so a slow or absent
database never holds up the risk engine, and it can be restarted or scaled on
its own. Upserts by id make it idempotent (the last version of a record wins);
offsets are committed only after a batch is saved, so nothing is lost.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
from kafka import KafkaConsumer
from sqlalchemy.exc import OperationalError

from alerts.records import Alert, CollectionTask, LimitChange, Output
from streams.settings import Settings

log = logging.getLogger("loanwatch.store")

RECORD_TYPES: dict[str, type] = {"alert": Alert, "task": CollectionTask, "limit": LimitChange}


def parse_record(raw: bytes) -> tuple[str, Any]:
    """An output message back into its record: ("alert" | "task" | "limit", dataclass) or ("dead_letter", dict).

    >>> kind, record = parse_record(b'{"dead_letter_id": "d1", "raw": "x", "error": "not JSON"}')
    >>> kind, record["error"]
    ('dead_letter', 'not JSON')
    """
    data = msgspec.json.decode(raw)
    kind = data.pop("kind", None)
    if kind in RECORD_TYPES:
        return kind, msgspec.convert(data, RECORD_TYPES[kind], strict=False)
    return "dead_letter", data


def save_batch(store: Any, values: list[bytes]) -> None:
    outputs: list[Output] = []
    letters: list[dict[str, Any]] = []
    for raw in values:
        kind, record = parse_record(raw)
        (letters if kind == "dead_letter" else outputs).append(record)
    store.save(outputs)
    store.save_dead_letters(letters)


def run_sink(settings: Settings, exit_when_idle: float | None = None) -> int:
    """Consume the output topics into the store until stopped (or idle that long); return records saved."""
    from alerts.store import Store

    t = settings.topics
    store = Store(settings.store_url)
    store.create_schema()
    consumer = KafkaConsumer(t.alerts, t.tasks, t.limits, t.dead_letters,
                             bootstrap_servers=settings.kafka.bootstrap,
                             group_id=f"{settings.kafka.app_id}-store", enable_auto_commit=False,
                             auto_offset_reset="earliest", max_poll_records=1000,
                             fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024)
    saved = 0
    idle_since = time.monotonic()
    try:
        while True:
            polled = consumer.poll(timeout_ms=1000)
            values = [r.value for records in polled.values() for r in records]
            if not values:
                if exit_when_idle is not None and time.monotonic() - idle_since >= exit_when_idle:
                    return saved
                continue
            for attempt in range(1, settings.worker.retry_attempts + 1):
                try:
                    save_batch(store, values)
                    break
                except OperationalError:  # the database is away: transient, wait and retry
                    if attempt == settings.worker.retry_attempts:
                        raise  # stop rather than commit offsets of records that were not saved
                    log.warning("store unavailable (attempt %d); retrying", attempt, exc_info=True)
                    time.sleep(settings.worker.retry_backoff_seconds * 2 ** attempt)
            consumer.commit()
            saved += len(values)
            idle_since = time.monotonic()
    finally:
        consumer.close()
