"""The window's Spark work, run once on a few sample records read through Kafka before the query starts.

A consumer's first window paid the JVMs' cold start: classes loaded, code generated and compiled,
the first broadcast, Parquet's first write and read, on every executor, and above all the executors'
first Kafka reads (their clients' start, TLS and login, the fetch and decompression code compiled).
On the local cluster the first Kafka task of each executor took 10-16 s at the pipeline's peak and
later ones 0.6-1.6 s; a new cluster's first window with records took 19.8 s for 5,566 of them and
the next 5.0 s for 8,235. Here that cost is paid while the query is not yet running.

The samples go through a topic of their own (kafka.warm_up_topic, written and read by the consumer
principal only, kept an hour), one copy in each of its partitions: a new cluster's data topics are
still empty when the consumer starts, and the warm-up must never add to them. Spark places a
partition's reads on an executor by the partition's hash, and three consecutive partitions of a topic
land on three different executors of three. Nothing else stays: the sample's pairs are written under
layout.warm_up and deleted.
"""

from __future__ import annotations

import json
import time

from pyspark.sql import SparkSession

from zootopia import config, kafka_clients
from zootopia.consumer import frames
from zootopia.consumer.history import PAIR_SCHEMA
from zootopia.consumer.kafka_source import offset_ranges
from zootopia.consumer.store import WindowStore
from zootopia.records import KINGDOM, SCIENTIFIC_NAME

OCCURRENCE_REMARKS = "http://rs.tdwg.org/dwc/terms/occurrenceRemarks"
# Records of every kind a window meets: two kingdoms, a name given twice, no name, a value of a real
# record's size (about 12 KB: the parse's code is compiled for long values), and a reject.
SAMPLE_VALUES = (
    {KINGDOM: "Animalia", SCIENTIFIC_NAME: "Puma concolor"},
    {KINGDOM: "Plantae", SCIENTIFIC_NAME: "Quercus robur"},
    {KINGDOM: "animalia", SCIENTIFIC_NAME: "Puma concolor"},
    {KINGDOM: ""},
    {KINGDOM: "Fungi", SCIENTIFIC_NAME: "Amanita muscaria", OCCURRENCE_REMARKS: "x" * 12000},
)
SAMPLE_NAMES = {value[SCIENTIFIC_NAME] for value in SAMPLE_VALUES if SCIENTIFIC_NAME in value}
SAMPLE_REJECT = b"not a JSON object"
SAMPLE_KEY = b"warm-up://zootopia-consumer"
# How long the samples may take to be written (a broker may still be starting): the warm-up then fails,
# logged, and the first window pays the cold start.
WRITE_SECONDS = 30.0


def sample_values() -> list[bytes]:
    return [json.dumps(value).encode() for value in SAMPLE_VALUES] + [SAMPLE_REJECT]


def write_samples(settings: config.Settings) -> dict[int, tuple[int, int]]:
    """The samples written to every partition of the warm-up topic; each partition's offsets [first, end)."""
    topic = settings.kafka.warm_up_topic
    producer = kafka_clients.producer(settings, linger_ms=0)
    try:
        partitions = producer.partitions_for(topic)
        if not partitions:
            raise RuntimeError(f"the topic {topic} has no partitions this principal can see")
        values = sample_values()
        sent = [
            (partition, producer.send(topic, key=SAMPLE_KEY, value=value, partition=partition))
            for partition in sorted(partitions)
            for value in values
        ]
        producer.flush(timeout=WRITE_SECONDS)
        ranges: dict[int, tuple[int, int]] = {}
        for partition, future in sent:
            offset = future.get(timeout=WRITE_SECONDS).offset
            first, end = ranges.get(partition, (offset, offset + 1))
            ranges[partition] = (min(first, offset), max(end, offset + 1))
        return ranges
    finally:
        producer.close(timeout=5)


def warm_up(spark: SparkSession, settings: config.Settings, store: WindowStore) -> float:
    """Runs a window's jobs on the samples, read back from Kafka by the executors; the seconds it took."""
    started = time.monotonic()
    ranges = write_samples(settings)
    batch = offset_ranges(spark.read, settings, settings.kafka.warm_up_topic, ranges).load()
    decoded = frames.decoded(batch)
    found = frames.groups(frames.rows(decoded)).collect()
    frames.rejected(decoded).collect()
    pairs = sorted({(row["source"], name) for row in found if row["valid"] for name in row["names"]})
    names = {name for _, name in pairs}
    if names != SAMPLE_NAMES:  # every partition holds every sample: a name missing means the read missed records
        raise RuntimeError(f"the warm-up read the names {sorted(names)} back from Kafka, not {sorted(SAMPLE_NAMES)}")
    path = store.layout.warm_up
    try:
        frames.write_pairs(spark, pairs, path)
        earlier = spark.read.schema(PAIR_SCHEMA).parquet(path)
        frames.earlier_pairs(spark, earlier, pairs)
    finally:
        store.client.delete(path, recursive=True)
    return time.monotonic() - started
