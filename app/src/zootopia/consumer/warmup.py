"""The window's Spark work, run once on a few sample records before the query starts.

A consumer's first window paid the JVMs' cold start: classes loaded, code generated and compiled,
the first broadcast, Parquet's first write and read, on every executor. On the local cluster the
first window took 22.5 s for 8,913 records and the next one 7.8 s for 4,870, and the newest values
of the first two windows waited 25-37 s for their counts. Here that cost is paid while the query
is not yet running. Nothing of it stays: the sample's pairs are written under layout.warm_up and
deleted. Not warmed: Kafka's own start on the executors (a consumer per partition, each a TLS
handshake and a login), since reading a topic needs records in it and a new cluster has none, and
the code compiled for 12 KB values, since the samples are small.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime, timezone

from pyspark.sql import SparkSession
from pyspark.sql.types import BinaryType, StringType, StructField, StructType, TimestampType

from zootopia.consumer import frames
from zootopia.consumer.history import PAIR_SCHEMA
from zootopia.consumer.store import WindowStore
from zootopia.records import KINGDOM, SCIENTIFIC_NAME

# The columns of Kafka's rows that a window reads (frames.decoded).
KAFKA_ROW_SCHEMA = StructType(
    [
        StructField("key", BinaryType()),
        StructField("topic", StringType()),
        StructField("timestamp", TimestampType()),
        StructField("value", BinaryType()),
    ]
)
# Records of every kind a window meets: two kingdoms, a name given twice, no name, and a reject.
SAMPLE_VALUES = (
    {KINGDOM: "Animalia", SCIENTIFIC_NAME: "Puma concolor"},
    {KINGDOM: "Plantae", SCIENTIFIC_NAME: "Quercus robur"},
    {KINGDOM: "animalia", SCIENTIFIC_NAME: "Puma concolor"},
    {KINGDOM: ""},
)
SAMPLE_REJECT = b"not a JSON object"


def warm_up(spark: SparkSession, store: WindowStore, topics: Sequence[str]) -> float:
    """Runs a window's jobs on the sample, in every data topic; the seconds it took."""
    started = time.monotonic()
    now = datetime.now(timezone.utc)
    values = [json.dumps(value).encode() for value in SAMPLE_VALUES] + [SAMPLE_REJECT]
    batch = spark.createDataFrame(
        [(b"warm-up://" + topic.encode(), topic, now, value) for topic in topics for value in values],
        KAFKA_ROW_SCHEMA,
    )
    decoded = frames.decoded(batch)
    found = frames.groups(frames.rows(decoded)).collect()
    frames.rejected(decoded).collect()
    pairs = sorted({(row["source"], name) for row in found if row["valid"] for name in row["names"]})
    path = store.layout.warm_up
    try:
        frames.write_pairs(spark, pairs, path)
        earlier = spark.read.schema(PAIR_SCHEMA).parquet(path)
        frames.earlier_pairs(spark, earlier, pairs)
    finally:
        store.client.delete(path, recursive=True)
    return time.monotonic() - started
