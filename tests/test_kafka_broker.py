"""The real Kafka test broker works, and behaves like production: topics are never auto-created."""

from __future__ import annotations

import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaTimeoutError

pytestmark = pytest.mark.kafka


def unique_topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def test_a_message_produced_to_an_explicitly_created_topic_is_consumed(
    kafka_bootstrap: str, kafka_admin: KafkaAdminClient
) -> None:
    topic = unique_topic("broker-check")
    kafka_admin.create_topics([NewTopic(name=topic, num_partitions=1, replication_factor=1)])
    assert topic in kafka_admin.list_topics()

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        metadata = producer.send(topic, key=b"borrower-1", value=b"hello loanwatch").get(timeout=30)
    finally:
        producer.close()
    assert metadata.topic == topic and metadata.offset == 0

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"group-{topic}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    received: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + 30
        while not received and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                received.extend(records)
        consumer.commit()  # exercises the group coordinator and __consumer_offsets
    finally:
        consumer.close()

    assert [(r.key, r.value) for r in received] == [(b"borrower-1", b"hello loanwatch")]


def test_producing_to_an_unknown_topic_does_not_create_it(
    kafka_bootstrap: str, kafka_admin: KafkaAdminClient
) -> None:
    topic = unique_topic("never-created")
    # The client asks for auto-creation; the broker (auto.create.topics.enable=false) must refuse.
    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap, max_block_ms=3000, allow_auto_create_topics=True
    )
    try:
        with pytest.raises(KafkaTimeoutError):
            producer.send(topic, value=b"lost").get(timeout=10)
    finally:
        producer.close()

    assert topic not in kafka_admin.list_topics()
