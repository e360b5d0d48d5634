"""The Kafka clients every part shares: a durable producer and a reader of compacted topics."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from zootopia.config import Settings


def producer(settings: Settings, **overrides: object) -> KafkaProducer:
    """A producer that loses nothing while two of three brokers live: acks from every in-sync replica, retried."""
    options: dict[str, object] = {
        "bootstrap_servers": settings.kafka.bootstrap_servers,
        "acks": "all",
        "retries": 2**31 - 1,
        "retry_backoff_ms": 500,
        "request_timeout_ms": 30000,
        # Idempotence makes kafka-python send one request at a time per broker: big,
        # compressed batches (json-stream lines are mostly repeated term URIs) carry more per trip.
        "linger_ms": 50,
        "batch_size": 1024 * 1024,
        "max_request_size": 8 * 1024 * 1024,
        "compression_type": "gzip",
    }
    options.update(overrides)
    return KafkaProducer(**options)


def read_compacted(settings: Settings, topic: str, timeout_seconds: float = 60.0) -> dict[str, bytes]:
    """The latest committed value of every key of a one-partition compacted topic (tombstones drop the key)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
        consumer_timeout_ms=1000,
    )
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        end = consumer.end_offsets([partition])[partition]
        values: dict[str, bytes] = {}
        deadline = time.monotonic() + timeout_seconds
        while consumer.position(partition) < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took longer than {timeout_seconds:.0f} s")
            for batch in consumer.poll(timeout_ms=1000).values():
                for message in batch:
                    key = message.key.decode("utf-8")
                    if message.value is None:
                        values.pop(key, None)
                    else:
                        values[key] = message.value
        return values
    finally:
        consumer.close()
