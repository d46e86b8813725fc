"""Keep the output records in the SQL store: an agent that reads the output topics.

The store follows the topics (not the other way round), so a slow or absent
database never holds up the risk engine; upserts by id make it idempotent, and
messages are acknowledged only after their batch is saved.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
import msgspec
from sqlalchemy.exc import OperationalError

from alerts.records import Alert, CollectionTask, LimitChange, Output
from streams import metrics
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


def add_store_sink(app: faust.App, settings: Settings) -> Any:
    """Register the agent that saves alerts, tasks, limit changes and dead letters in the store."""
    from alerts.store import Store

    t = settings.topics
    store = Store(settings.store_url)
    store.create_schema()
    records_topic = app.topic(t.alerts, t.tasks, t.limits, t.dead_letters,
                              key_serializer="raw", value_serializer="raw")

    def save(values: list[bytes]) -> None:
        outputs: list[Output] = []
        letters: list[dict[str, Any]] = []
        for raw in values:
            kind, record = parse_record(raw)
            (letters if kind == "dead_letter" else outputs).append(record)
        store.save(outputs)
        store.save_dead_letters(letters)

    @app.agent(records_topic, concurrency=1, name="store_records")
    async def store_records(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for values in stream.take(500, within=1.0):
            for attempt in range(1, settings.worker.retry_attempts + 1):
                try:
                    await loop.run_in_executor(None, save, values)
                    break
                except OperationalError:  # the database is away: transient, wait and retry
                    metrics.RETRIES.labels(operation="store").inc()
                    log.warning("store unavailable (attempt %d); retrying", attempt, exc_info=True)
                    await asyncio.sleep(settings.worker.retry_backoff_seconds * 2 ** attempt)
            else:
                raise RuntimeError("the store stayed unavailable; stopping rather than dropping records")

    return store_records
