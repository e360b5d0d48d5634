"""What a window pays to read the species of earlier windows: one partition per window vs. compacted.

Run on the master as the consumer's user: `python species_bench.py` submits itself to the Spark cluster
the way the consumer is submitted (zootopia.consumer.submit, with the cluster's secret). For each history
of N windows (20 pairs first seen per window, written by Spark under <hdfs.root>/bench-species/N, then
deleted) it prints the seconds to read every earlier pair as one partition per window, the seconds of the
compaction, the seconds to read them once compacted, and the HDFS files of each layout.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pyspark runs on the nodes only (Python 3.9)
    from zootopia.consumer.history import SpeciesHistory

HISTORIES = (30, 300, 1000)
PAIRS_PER_WINDOW = 20
IN_SPARK = "ZOOTOPIA_SPECIES_BENCH_IN_SPARK"


def read_seconds(history: SpeciesHistory, window: int, expected: int) -> float:
    """Seconds to read every pair earlier than `window` (compacting first if the history says so)."""
    started = time.monotonic()
    found = history.before(window).count()
    elapsed = time.monotonic() - started
    assert found == expected, f"{found} pairs read, {expected} written"
    return elapsed


def bench() -> dict[str, object]:
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F  # noqa: N812 - the usual name of this module

    from zootopia import config
    from zootopia.consumer.store import WindowStore

    spark = SparkSession.builder.appName("zootopia-species-bench").getOrCreate()
    settings = config.load()
    figures: dict[str, object] = {"pairs_per_window": PAIRS_PER_WINDOW}
    for windows in HISTORIES:
        store = WindowStore(replace(settings.hdfs, root=f"{settings.hdfs.root}/bench-species/{windows}"))
        store.client.delete(store.layout.root, recursive=True)
        pairs = spark.range(windows * PAIRS_PER_WINDOW).select(
            F.concat(F.lit("https://bench.example/"), F.col("id") % 3).alias("source"),
            F.concat(F.lit("name-"), F.col("id")).alias("scientificName"),
            ((F.col("id") / PAIRS_PER_WINDOW).cast("int") + 1).alias("window"),
        )
        pairs.write.partitionBy("window").parquet(store.layout.species)
        files_before = store.client.content(store.layout.root)["fileCount"]
        from zootopia.consumer.history import SpeciesHistory

        history = SpeciesHistory(spark, store, every=10**9)  # never compacts: one partition per window
        expected, window = windows * PAIRS_PER_WINDOW, windows + 1
        read_seconds(history, window, expected)  # warm-up: the first read also starts the executors' JVM work
        uncompacted = statistics.median(read_seconds(history, window, expected) for _ in range(3))
        history.every = 1
        compaction = read_seconds(history, window, expected)
        compacted = statistics.median(read_seconds(history, window, expected) for _ in range(3))
        files_after = store.client.content(store.layout.root)["fileCount"]
        figures[f"{windows}_windows"] = {
            "read_per_window_partitions_s": round(uncompacted, 3),
            "compaction_s": round(compaction, 3),
            "read_compacted_s": round(compacted, 3),
            "hdfs_files_per_window_partitions": files_before,
            "hdfs_files_compacted": files_after,
        }
        store.client.delete(store.layout.root, recursive=True)
    spark.stop()
    return figures


if __name__ == "__main__":
    if not os.environ.get(IN_SPARK):
        from zootopia.consumer.submit import become_driver

        become_driver(str(Path(__file__).resolve()), "zootopia-species-bench", IN_SPARK)
    print("SPECIES_BENCH " + json.dumps(bench()), flush=True)
    sys.exit(0)
