"""Long-run soak of the consumer's window code: 100 windows on an empty history, then 100 on top of 3,000.

Run on the master as the consumer's user: `python soak_bench.py` submits itself to the Spark cluster the
way the consumer is submitted. Under <hdfs.root>/bench-soak (deleted at the end):
- `empty/`: the consumer's foreachBatch function (job.WindowWriter) runs windows 1..100;
- `history/`: a history of HISTORY windows written by the consumer's own writing code (documents by
  build_document and WindowStore, packed by pack_older; the species pairs of those windows as one
  compacted set, as SpeciesHistory leaves them), then the same function runs windows HISTORY+1..+100.
Every window gets the same kind of batch: RECORDS JSON records shaped like Kafka's rows (key = source,
value = a Darwin Core record) with NEW_NAMES names no earlier window had and the rest repeats.
Prints one line `SOAK_BENCH {json}`: per-window seconds (median, p90) on each history, their ratio,
files under each root, the driver's JVM heap and Python RSS.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HISTORY = 3_000
WINDOWS = 100
RECORDS = 400
NEW_NAMES = 40
SOURCES = ("https://gbif.org", "https://obis.org", "https://idigbio.org")
KINGDOMS = ("Animalia", "Plantae", "Fungi")
IN_SPARK = "ZOOTOPIA_SOAK_BENCH_IN_SPARK"
KINGDOM_TERM = "http://rs.tdwg.org/dwc/terms/kingdom"
NAME_TERM = "http://rs.tdwg.org/dwc/terms/scientificName"


def name(window: int, index: int) -> str:
    return f"Soakus w{window}-{index}"


def batch_rows(window: int) -> list[tuple[str, str, str, str]]:
    """RECORDS rows for `window`: NEW_NAMES names first seen here, the rest names of earlier windows."""
    rows = []
    for index in range(RECORDS):
        source = SOURCES[index % len(SOURCES)]
        taken = name(window, index) if index < NEW_NAMES else name(max(1, window - 1 - index % 50), index % NEW_NAMES)
        value = {KINGDOM_TERM: KINGDOMS[index % len(KINGDOMS)], NAME_TERM: taken, "padding": "x" * 2_000}
        topic = source.split("//")[1].split(".")[0]
        rows.append((source, json.dumps(value), topic, datetime.now(timezone.utc).isoformat()))
    return rows


def write_history(spark: Any, settings: Any, root: str) -> float:  # noqa: ANN401  # pyspark objects
    """HISTORY windows' documents and species state, written by the consumer's own code; the seconds taken."""
    from pyspark.sql import functions as F  # noqa: N812 - the usual name of this module

    from zootopia.consumer.documents import Cumulative, KingdomCount, SpeciesCount, build_document
    from zootopia.consumer.store import WindowStore

    started = time.monotonic()
    store = WindowStore(replace(settings.hdfs, root=root))
    previous = Cumulative()
    per_source = NEW_NAMES // len(SOURCES)
    for window in range(1, HISTORY + 1):
        counts = [
            KingdomCount(url, url.split("//")[1].split(".")[0], KINGDOMS[i], RECORDS // len(SOURCES))
            for i, url in enumerate(SOURCES)
        ]
        document = build_document(
            window,
            trigger_seconds=settings.consumer.trigger_seconds,
            counts=counts,
            rejects=0,
            species_by_source={url: SpeciesCount(per_source, per_source) for url in SOURCES},
            species_overall=SpeciesCount(NEW_NAMES, NEW_NAMES),
            previous=previous,
            processed_at=datetime.now(timezone.utc),
        )
        store.write_document(document)
        store.pack_older(window, settings.consumer.documents_per_pack)
        previous = previous.after(document)
    # The pairs of windows 1..HISTORY in one compacted set, as a compaction at window HISTORY + 1 leaves them.
    index = F.col("id") % NEW_NAMES
    window = (F.col("id") / NEW_NAMES).cast("int") + 1
    pairs = spark.range(HISTORY * NEW_NAMES).select(
        F.element_at(F.array(*[F.lit(url) for url in SOURCES]), (index % len(SOURCES) + 1).cast("int")).alias("source"),
        F.concat(F.lit("Soakus w"), window.cast("string"), F.lit("-"), index.cast("string")).alias("scientificName"),
    )
    pairs.write.mode("overwrite").parquet(store.layout.species_compacted_set(HISTORY))
    return time.monotonic() - started


def run_windows(spark: Any, settings: Any, root: str, first: int) -> list[float]:  # noqa: ANN401
    from pyspark.sql import functions as F  # noqa: N812 - the usual name of this module
    from pyspark.sql.types import StringType, StructField, StructType

    from zootopia.consumer.driver_rows import frame
    from zootopia.consumer.job import WindowWriter

    writer = WindowWriter(spark, replace(settings, hdfs=replace(settings.hdfs, root=root)))
    schema = StructType([StructField(field, StringType()) for field in ("key", "value", "topic", "timestamp")])
    seconds = []
    for window in range(first, first + WINDOWS):
        # Kafka's row types from text (the rows are built in the JVM: nothing Python is pickled).
        batch = frame(spark, batch_rows(window), schema).select(
            F.col("key").cast("binary"),
            F.col("value").cast("binary"),
            "topic",
            F.col("timestamp").cast("timestamp"),
        )
        started = time.monotonic()
        writer(batch, window - 1)
        seconds.append(time.monotonic() - started)
    return seconds


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "median_s": round(statistics.median(ordered), 2),
        "p90_s": round(ordered[int(len(ordered) * 0.9) - 1], 2),
        "max_s": round(ordered[-1], 2),
    }


def bench() -> dict[str, Any]:
    from pyspark.sql import SparkSession

    from zootopia import config
    from zootopia.consumer.store import WindowStore

    spark = SparkSession.builder.appName("zootopia-soak-bench").getOrCreate()
    spark.conf.set("spark.sql.shuffle.partitions", "6")
    settings = config.load()
    base = f"{settings.hdfs.root}/bench-soak"
    client = WindowStore(settings.hdfs).client
    client.delete(base, recursive=True)
    figures: dict[str, Any] = {
        "history_windows": HISTORY,
        "records_per_window": RECORDS,
        "new_names_per_window": NEW_NAMES,
        "species_compaction_windows": settings.consumer.species_compaction_windows,
        "documents_per_pack": settings.consumer.documents_per_pack,
    }
    try:
        empty = run_windows(spark, settings, f"{base}/empty", 1)
        figures["empty_history"] = {**summary(empty), "hdfs_files": client.content(f"{base}/empty")["fileCount"]}
        figures["history_written_s"] = round(write_history(spark, settings, f"{base}/history"), 1)
        figures["hdfs_files_of_the_history"] = client.content(f"{base}/history")["fileCount"]
        on_top = run_windows(spark, settings, f"{base}/history", HISTORY + 1)
        figures["on_history"] = {**summary(on_top), "hdfs_files": client.content(f"{base}/history")["fileCount"]}
        figures["median_ratio_on_history_to_empty"] = round(statistics.median(on_top) / statistics.median(empty), 2)
        runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()  # py4j gateway
        figures["driver_jvm_heap_used_mib"] = round((runtime.totalMemory() - runtime.freeMemory()) / 2**20)
        status = Path("/proc/self/status").read_text(encoding="utf-8")
        figures["driver_python_rss_mib"] = round(
            next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024
        )
    finally:
        client.delete(base, recursive=True)
        spark.stop()
    return figures


if __name__ == "__main__":
    if not os.environ.get(IN_SPARK):
        from zootopia.consumer.submit import become_driver

        become_driver(str(Path(__file__).resolve()), "zootopia-soak-bench", IN_SPARK)
    print("SOAK_BENCH " + json.dumps(bench()), flush=True)
    sys.exit(0)
