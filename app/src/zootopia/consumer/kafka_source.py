"""Spark's Kafka source as the consumer reads it: the same options for its query, its warm-up and bench/."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from zootopia import config, kafka_clients

# How long an executor waits for a Kafka poll (Spark's default: spark.network.timeout, 120 s). A poll that
# only meets transaction markers or aborted records returns nothing and waits this long, and with
# transactional producers nearly every partition range ends in a commit marker.
KAFKA_POLL_TIMEOUT_MS = 5000
# How long a broker may hold an executor's fetch that finds nothing new (Kafka's default: 500 ms). Spark's
# reader seeks before every poll and asks the partition's offset range after it, and its polls kept waiting
# on such fetches: a bare read of the seeds' 19,936 records took 3.07 s at the default, 1.68 s at 20 ms
# (medians of five rounds, one run on the local cluster; docs/benchmarks.md).
KAFKA_FETCH_MAX_WAIT_MS = 20


def kafka_reader(reader: Any, settings: config.Settings) -> Any:  # noqa: ANN401 - DataStreamReader or DataFrameReader
    """`reader` (spark.readStream, or spark.read for a batch) set to read Kafka as the consumer principal."""
    reader = reader.format("kafka")
    # The brokers and, with SASL_SSL, TLS and the consumer principal's login.
    for key, value in kafka_clients.spark_options(settings).items():
        reader = reader.option(key, value)
    return (
        # Known group ids: the ACLs grant the consumer principal the groups with this prefix only.
        reader.option("groupIdPrefix", kafka_clients.CONSUMER_GROUP_PREFIX)
        # The producers write in transactions: records of an aborted one must not count.
        .option("kafka.isolation.level", "read_committed")
        .option("kafkaConsumer.pollTimeoutMs", KAFKA_POLL_TIMEOUT_MS)
        .option("kafka.fetch.max.wait.ms", KAFKA_FETCH_MAX_WAIT_MS)
    )


def data_topics(reader: Any, settings: config.Settings) -> Any:  # noqa: ANN401
    """The data topics from their start, as the consumer's query reads them."""
    return (
        kafka_reader(reader, settings)
        .option("subscribe", ",".join(settings.kafka.data_topics))
        .option("startingOffsets", "earliest")
    )


def offset_ranges(reader: Any, settings: config.Settings, topic: str, ranges: Mapping[int, tuple[int, int]]) -> Any:  # noqa: ANN401
    """A batch read of these partitions of `topic`, each from its first offset up to (without) its second."""
    return (
        kafka_reader(reader, settings)
        .option("assign", json.dumps({topic: sorted(ranges)}))
        .option("startingOffsets", json.dumps({topic: {str(p): start for p, (start, _) in ranges.items()}}))
        .option("endingOffsets", json.dumps({topic: {str(p): end for p, (_, end) in ranges.items()}}))
    )
