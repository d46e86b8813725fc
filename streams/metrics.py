"""Prometheus metrics, module-level, with bounded labels (never a borrower id).

>>> observe_event("repayment/1", "applied", 0.0001)
>>> EVENTS.labels(schema="repayment/1", result="applied")._value.get() >= 1
True
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

from detectors.outage import FeedBoard, ongoing
from streams.decode import reason_class
from streams.events import SCHEMAS

EVENTS = Counter("loanwatch_events_total", "Input events consumed, by schema and result",
                 ["schema", "result"])
DEAD_LETTERS = Counter("loanwatch_dead_letters_total", "Dead letters, by reason class", ["reason"])
OUTPUTS = Counter("loanwatch_outputs_total", "Output records sent, by kind and status", ["kind", "status"])
PROCESSING = Histogram("loanwatch_event_processing_seconds", "Time to apply one event to its borrower",
                       buckets=(1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 2.5e-2, 0.1))
BORROWERS = Gauge("loanwatch_borrowers_tracked", "Borrowers with state on this worker")
TICKS = Counter("loanwatch_ticks_total", "Clock ticks applied to a partition's borrowers")
RETRIES = Counter("loanwatch_retries_total", "Transient failures retried, by operation", ["operation"])
CONSUMER_LAG = Gauge("loanwatch_consumer_lag", "Messages not yet processed, by topic", ["topic"])
HEALTHY = Gauge("loanwatch_healthy", "1 while the worker's committed offsets advance or it has no lag")
FEED_OUTAGE = Gauge("loanwatch_feed_outage_partitions",
                    "Input partitions of this worker where a revenue source is in a pipeline outage, by source",
                    ["source"])
MODEL_LABELS = Gauge("loanwatch_model_labels", "Labels the partitions' default models have learnt, by label",
                     ["label"])
FEED_SOURCES = ("pos", "ecommerce", "invoice", "tax", "bank")  # label values; any other source is "other"

_KNOWN = set(SCHEMAS)
_STATUSES = {"open", "updated", "resolved", "escalated", "cancelled", "done", "applied", "needs_review"}


_children: dict[tuple[str, str], object] = {}


def observe_event(schema: str, result: str, seconds: float) -> None:
    key = (schema, result)
    child = _children.get(key)
    if child is None:  # labels() costs a few µs: keep the bounded set of children at hand
        child = _children[key] = EVENTS.labels(schema=schema if schema in _KNOWN else "other", result=result)
    child.inc()  # type: ignore[attr-defined]
    PROCESSING.observe(seconds)


def observe_outputs(outputs: Iterable[object], dead_letters: Iterable[object]) -> None:
    for record in outputs:
        status = getattr(record, "status", "other")
        OUTPUTS.labels(kind=getattr(record, "kind", "other"),
                       status=status if status in _STATUSES else "other").inc()
    for letter in dead_letters:
        DEAD_LETTERS.labels(reason=reason_class(getattr(letter, "error", ""))).inc()


_outages: dict[int, set[str]] = {}  # partition -> sources in an outage there


def observe_feeds(partition: int, board: FeedBoard) -> None:
    """Which sources are in an outage on a partition's feed board."""
    now = {s if s in FEED_SOURCES else "other" for s in board.sources if ongoing(board, s)}
    before = _outages.get(partition, set())
    _outages[partition] = now
    for label in now | before:
        FEED_OUTAGE.labels(source=label).set(sum(label in x for x in _outages.values()))


_models: dict[int, tuple[int, int]] = {}  # partition -> (positives, negatives)


def observe_models(partition: int, part: object) -> None:
    """What a partition's shared models have learnt (a ``streams.core.shared.Partition``)."""
    pd = part.pd  # type: ignore[attr-defined]
    _models[partition] = (pd.positives, pd.labels - pd.positives)
    MODEL_LABELS.labels(label="default").set(sum(x[0] for x in _models.values()))
    MODEL_LABELS.labels(label="survived").set(sum(x[1] for x in _models.values()))


def forget_partitions() -> None:
    """After a rebalance: the boards are reloaded as their partitions are read again."""
    _outages.clear()
    FEED_OUTAGE.clear()
    _models.clear()
