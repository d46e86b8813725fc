"""Topics are created explicitly (broker auto-creation is off) and checked before the worker starts.

Input topics (events, collection outcomes, clock ticks) and the state changelog
are co-partitioned: the same partition count, so one borrower's events, ticks
and state live in the same partition number everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.settings import Settings

STATE_TABLE = "borrowers"
FEEDS_TABLE = "feeds"  # one feed board per input partition (streams.core.feeds)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    compact: bool = False
    max_message_bytes: int = 0  # 0: the broker's default

    def configs(self) -> dict[str, str]:
        configs = {"cleanup.policy": "compact"} if self.compact else {}
        if self.max_message_bytes:
            configs["max.message.bytes"] = str(self.max_message_bytes)
        return configs


def changelog_topic(settings: Settings, table: str = STATE_TABLE) -> str:
    """The faust changelog topic of a table (by default the per-borrower state table)."""
    return f"{settings.kafka.app_id}-{table}-changelog"


def specs(settings: Settings) -> list[TopicSpec]:
    """Every topic loanwatch needs, with its partition count.

    >>> from streams.settings import load
    >>> [(s.name, s.partitions) for s in specs(load(env={}))][:2]
    [('loanwatch.events', 8), ('loanwatch.collection-outcomes', 8)]
    """
    t = settings.topics
    # inputs take records up to twice the event limit, so an oversize event reaches the worker and is
    # dead-lettered with its reason instead of being refused at the producer
    big = 2 * settings.kafka.max_event_bytes
    inputs = [TopicSpec(name, t.partitions, max_message_bytes=big) for name in t.inputs()]
    state = [TopicSpec(changelog_topic(settings, table), t.partitions, compact=True)
             for table in (STATE_TABLE, FEEDS_TABLE)]
    outputs = [TopicSpec(name, t.output_partitions) for name in t.outputs() if name != t.dead_letters]
    letters = [TopicSpec(t.dead_letters, t.output_partitions, max_message_bytes=dead_letter_bytes(settings))]
    return inputs + state + outputs + letters


def dead_letter_bytes(settings: Settings) -> int:
    """Room for a dead letter: its raw bytes (at most the event limit) JSON-escaped or base64, and words."""
    return 8 * settings.kafka.max_event_bytes


def _admin(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="loanwatch-admin",
                            request_timeout_ms=15000)


def create(settings: Settings) -> list[str]:
    """Create the missing topics; return the names created."""
    admin = _admin(settings.kafka.bootstrap)
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(s.name, s.partitions, settings.topics.replication, topic_configs=s.configs())
            for s in specs(settings) if s.name not in existing
        ]
        if new:
            try:
                admin.create_topics(new, timeout_ms=30000)
            except TopicAlreadyExistsError:
                pass
        return [t.name for t in new]
    finally:
        admin.close()


def problems(settings: Settings) -> list[str]:
    """What is missing or mismatched, in words; empty when the worker may start."""
    admin = _admin(settings.kafka.bootstrap)
    try:
        found = {}
        names = [s.name for s in specs(settings)]
        existing = set(admin.list_topics())
        described = admin.describe_topics([n for n in names if n in existing]) if existing else []
        for topic in described:
            found[topic.get("name") or topic.get("topic")] = len(topic["partitions"])  # kafka-python 3 | 2
    finally:
        admin.close()
    out = []
    for spec in specs(settings):
        if spec.name not in found:
            out.append(f"topic {spec.name} is missing")
        elif found[spec.name] != spec.partitions:
            out.append(f"topic {spec.name} has {found[spec.name]} partitions; {spec.partitions} configured"
                       + (" (input topics must be co-partitioned)" if spec.partitions == settings.topics.partitions
                          else ""))
    if out:
        out.append("run `loanwatch topics create` (or fix topics.partitions in the settings)")
    return out
