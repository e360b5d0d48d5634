"""The consumer's rate against the original's shape, over the same Kafka topics in the same run.

Run on the master as the consumer's user: `python consumer_rate_bench.py` submits itself to the Spark
cluster the way the consumer is submitted (run it with the consumer stopped: bench/consumer_rate.yml).
Each round reads everything the data topics hold (committed records, as the consumer reads them) three
ways, in turn:
- `kafka_read`: the values' lengths summed, nothing parsed: what reading the topics costs alone;
- `original_shape`: what the original counted per window, records per kingdom and the approximate
  number of distinct names (HyperLogLog), each a Spark job over the topics;
- `zootopia`: the consumer's own foreachBatch function (job.WindowWriter), exact counts per source and
  kingdom, rejects set aside, exact species new per source and overall, the window document written;
  window r of one results root under <hdfs.root>/bench-rate (deleted at the end), all written by one
  writer, so later rounds join against the species of earlier ones and start from its totals as a
  running consumer does. Its time is split by step.
Each round does that twice: over the topics as they are (a window of what they hold: the local
retention keeps about 20,000 records), and over a window as large as one trigger of the streams at
`--streams-records-per-s` (the topics' records read `copies` times in the same window, each way; the
consumer's writer of that size has its own results root). From the two sizes it derives the consumer's
per-record rate and its cost per window whatever its size: a backlog shrinks when the per-record rate
is above the streams' rate and the cost per window is below the trigger.
Warm-up rounds come first, timed but left out of the medians (every way's). Prints one line
`CONSUMER_RATE_BENCH {json}`: records, per-way seconds and records/s (median of the rounds after the
warm-up), the consumer's ratios to the original shape and to the streams, and the split; the same under
`full_trigger`; and the rate per record and cost per window.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROUNDS = 7
# Timed and shown, left out of the medians: the first Spark jobs of a driver load and compile what every later
# one reuses, and a running consumer is past them. Both ways still sped up in the second round (the consumer
# 11.8, 7.6, 7.2, 5.6, 5.3, 4.9 s; the original shape 14.1, 9.6, 8.3, 9.2, 8.1, 7.9 s in one run).
WARM_UP_ROUNDS = 2
IN_SPARK = "ZOOTOPIA_CONSUMER_RATE_BENCH_IN_SPARK"


def kafka_batch(spark: Any, settings: Any) -> Any:  # noqa: ANN401  # pyspark objects
    """Everything committed in the data topics, read as the consumer reads them (its principal, options)."""
    from zootopia.consumer.kafka_source import data_topics

    return data_topics(spark.read, settings).option("endingOffsets", "latest").load()


def kafka_read(batch: Any) -> None:  # noqa: ANN401
    from pyspark.sql import functions as F  # noqa: N812 - the usual name of this module

    batch.agg(F.sum(F.length("value"))).collect()


def original_shape(batch: Any) -> None:  # noqa: ANN401
    from pyspark.sql import functions as F  # noqa: N812 - the usual name of this module
    from pyspark.sql.types import StringType, StructField, StructType

    from zootopia.records import KINGDOM, SCIENTIFIC_NAME

    schema = StructType([StructField(KINGDOM, StringType()), StructField(SCIENTIFIC_NAME, StringType())])
    record = F.from_json(F.col("value").cast("string"), schema)
    parsed = batch.select(record.getField(KINGDOM).alias("kingdom"), record.getField(SCIENTIFIC_NAME).alias("name"))
    parsed.groupBy("kingdom").count().collect()
    parsed.agg(F.approx_count_distinct("name")).collect()


def timed_writer(spark: Any, settings: Any, split: dict[str, float]) -> Any:  # noqa: ANN401
    """The consumer's WindowWriter, its steps timed into `split` (seconds, added up over the calls)."""
    from zootopia.consumer.job import WindowWriter

    class TimedWriter(WindowWriter):
        def _species(self, pairs: Any, window: int) -> Any:  # noqa: ANN401
            started = time.monotonic()
            try:
                return super()._species(pairs, window)
            finally:
                split["species"] = split.get("species", 0.0) + time.monotonic() - started

        def _window(self, rows: Any, rejected: Any, window: int) -> Any:  # noqa: ANN401
            started = time.monotonic()
            try:
                return super()._window(rows, rejected, window)
            finally:
                split["window"] = split.get("window", 0.0) + time.monotonic() - started

    return TimedWriter(spark, settings)


PER_RECORD_KEYS = ("zootopia_per_record_records_per_s", "zootopia_per_record_to_streams", "zootopia_per_window_s")


def copies_for(records: int, streams_records_per_s: float, trigger_seconds: int) -> int:
    """How many reads of the topics make one trigger of the streams at their rate: 2 at least."""
    return max(2, math.ceil(streams_records_per_s * trigger_seconds / records))


class Size:
    """One window size: its batch, the consumer's writer (a results root of its own) and every round's figures."""

    def __init__(self, spark: Any, settings: Any, batch: Any, root: str) -> None:  # noqa: ANN401
        self.batch = batch
        self.seconds: dict[str, list[float]] = {"kafka_read": [], "original_shape": [], "zootopia": []}
        self.splits: list[dict[str, float]] = []
        self.split: dict[str, float] = {}
        # One writer for every round, as one consumer writes every window (it keeps its totals in memory).
        self.writer = timed_writer(spark, replace(settings, hdfs=replace(settings.hdfs, root=root)), self.split)

    def round(self, window: int) -> None:
        for way, run in (("kafka_read", kafka_read), ("original_shape", original_shape)):
            started = time.monotonic()
            run(self.batch)
            self.seconds[way].append(time.monotonic() - started)
        self.split.clear()
        started = time.monotonic()
        self.writer(self.batch, window - 1)
        self.seconds["zootopia"].append(time.monotonic() - started)
        self.split["total"] = self.seconds["zootopia"][-1]
        self.splits.append(dict(self.split))

    def figures(self, records: int, streams_records_per_s: float) -> dict[str, Any]:
        median = {way: statistics.median(values[WARM_UP_ROUNDS:]) for way, values in self.seconds.items()}
        last = self.splits[-1]
        return {
            "records": records,
            **{f"{way}_s": round(value, 2) for way, value in median.items()},
            **{f"{way}_records_per_s": round(records / value) for way, value in median.items()},
            "zootopia_to_original_shape": round(median["original_shape"] / median["zootopia"], 2),
            "zootopia_to_streams": round(records / median["zootopia"] / streams_records_per_s, 2),
            "zootopia_to_kafka_read": round(median["kafka_read"] / median["zootopia"], 2),
            # The last round's steps: reading, parsing, the kingdom counts and each group's names (one job), the
            # species, and the rest (rejects kept, document written, the new pairs stored, documents packed).
            "zootopia_split_s": {
                "read_parse_count": round(last["window"] - last["species"], 2),
                "species": round(last["species"], 2),
                "document_and_rest": round(last["total"] - last["window"], 2),
            },
            "every_round_s": {way: [round(value, 2) for value in values] for way, values in self.seconds.items()},
        }


def per_record(small: dict[str, Any], large: dict[str, Any], streams_records_per_s: float) -> dict[str, float | None]:
    """The consumer's time as a + n / rate through its two sizes: its rate per record (and its ratio to the
    streams') and its cost per window; None when the larger window was no slower: noise, not a rate."""
    extra_seconds = large["zootopia_s"] - small["zootopia_s"]
    if extra_seconds <= 0:
        return dict.fromkeys(PER_RECORD_KEYS)
    rate = (large["records"] - small["records"]) / extra_seconds
    return {
        "zootopia_per_record_records_per_s": round(rate),
        "zootopia_per_record_to_streams": round(rate / streams_records_per_s, 2),
        "zootopia_per_window_s": round(small["zootopia_s"] - small["records"] / rate, 2),
    }


def bench(streams_records_per_s: float) -> dict[str, Any]:
    from pyspark.sql import SparkSession

    from zootopia import config, kafka_clients
    from zootopia.consumer.store import WindowStore

    spark = SparkSession.builder.appName("zootopia-consumer-rate-bench").getOrCreate()
    spark.conf.set("spark.sql.shuffle.partitions", "6")  # as the consumer sets it
    settings = config.load(principal=kafka_clients.CONSUMER)  # the consumer's login and ACLs
    roots = [f"{settings.hdfs.root}/bench-rate", f"{settings.hdfs.root}/bench-rate-full-trigger"]
    client = WindowStore(settings.hdfs).client
    for root in roots:
        client.delete(root, recursive=True)
    batch = kafka_batch(spark, settings)
    records = batch.count()
    if not records:
        raise SystemExit("the data topics hold no record: stream something first (e.g. the three seeds)")
    copies = copies_for(records, streams_records_per_s, settings.consumer.trigger_seconds)
    full_batch = functools.reduce(lambda union, _: union.unionAll(batch), range(copies - 1), batch)
    sizes = [Size(spark, settings, batch, roots[0]), Size(spark, settings, full_batch, roots[1])]
    try:
        for window in range(1, WARM_UP_ROUNDS + ROUNDS + 1):
            for size in sizes:
                size.round(window)
    finally:
        for root in roots:
            client.delete(root, recursive=True)
        spark.stop()
    small = sizes[0].figures(records, streams_records_per_s)
    large = sizes[1].figures(records * copies, streams_records_per_s)
    return {
        "rounds": ROUNDS,
        "warm_up_rounds": WARM_UP_ROUNDS,
        "streams_records_per_s": streams_records_per_s,
        **small,
        "full_trigger": {"copies": copies, "trigger_seconds": settings.consumer.trigger_seconds, **large},
        **per_record(small, large, streams_records_per_s),
    }


if __name__ == "__main__":
    if not os.environ.get(IN_SPARK):
        from zootopia.consumer.submit import become_driver

        become_driver(str(Path(__file__).resolve()), "zootopia-consumer-rate-bench", IN_SPARK)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Sets the larger window's size: one trigger of the streams at this rate (measured first in the same run).
    parser.add_argument("--streams-records-per-s", type=float, required=True)
    print("CONSUMER_RATE_BENCH " + json.dumps(bench(parser.parse_args().streams_records_per_s)), flush=True)
    sys.exit(0)
