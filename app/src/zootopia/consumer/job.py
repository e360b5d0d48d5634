"""The spark-submit application: Kafka data topics -> one exact window document per micro-batch on HDFS.

Window id = Spark batch id + 1. Spark writes a batch's offsets to the checkpoint before running it and
replays an unfinished batch with the same id and offsets after a restart, so every result of a window
is written by its id (overwritten, never appended), and the batch counts as done only once all of
them are: the window document, then the window's new species pairs, which only later windows read.
Paths: see layout.py.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the usual name of this module

from zootopia import config, kafka_clients
from zootopia.consumer import firsts, frames
from zootopia.consumer.counted import CountedCommitter, counted_offsets
from zootopia.consumer.documents import Cumulative, KingdomCount, build_document
from zootopia.consumer.history import SpeciesHistory
from zootopia.consumer.kafka_source import data_topics
from zootopia.consumer.layout import window_id
from zootopia.consumer.store import WindowStore
from zootopia.consumer.warmup import warm_up

LOG = logging.getLogger("zootopia.consumer")
# How often the driver looks for a finished window, to commit the offsets it counted (consumer/counted.py):
# a paused stream waits for that commit. A look is a call into the JVM; a commit happens only on change.
COMMIT_SECONDS = 1
# Small batches on three nodes: 200 shuffle partitions would be 200 tiny tasks per stage.
DEFAULT_SHUFFLE_PARTITIONS = "6"
# Written in the unit's runtime directory once the query runs (systemd removes the directory when the
# unit stops); a deployment waits for it (roles/zootopia, zootopia_consumer_consuming_file).
CONSUMING_FILE = "consuming"
# How long a starting consumer waits for a NameNode in safe mode (it leaves it about 30 s after it starts).
HDFS_WRITABLE_TIMEOUT_SECONDS = 300


class WindowWriter:
    """The foreachBatch function; keeps the running totals between windows of one driver."""

    def __init__(self, spark: SparkSession, settings: config.Settings) -> None:
        self.spark = spark
        self.settings = settings
        self.store = WindowStore(settings.hdfs)
        self.layout = self.store.layout
        self.species = SpeciesHistory(spark, self.store, settings.consumer.species_compaction_windows)
        self.totals: Cumulative | None = None

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        window = window_id(batch_id)
        decoded = frames.decoded(batch)
        # Read once, by one job: the counts, arrival times and names all come from it (_window). The
        # rejects' values are read again, only in a window that has rejects.
        rejected = frames.rejected(decoded)
        document, arrivals, new_pairs = self._window(frames.rows(decoded), rejected, window)
        document["timing"] = self._timing(arrivals, started)
        path = self.store.write_document(document)
        # After the document, which the API serves: at the pipeline's peak this write took 2.7-6.6 s of a
        # new cluster's first windows. Only later windows read the pairs, and a replay of this window (a
        # restart before the batch ended) reads earlier windows' pairs only and writes both again.
        if new_pairs:
            frames.write_pairs(self.spark, new_pairs, self.layout.species_partition(window))
        self.totals = self._previous(window).after(document)
        for pack in self.store.pack_older(window, self.settings.consumer.documents_per_pack):
            LOG.info("window %d: earlier documents packed into %s", window, pack)
        seconds = time.monotonic() - started
        LOG.info(
            "window %d: %d records, %d rejects, %d species (%d new) in %.1f s -> %s",
            window,
            document["records"],
            document["rejects"],
            document["species"],
            document["new_species"],
            seconds,
            path,
        )

    @staticmethod
    def _timing(arrivals: list[datetime], started: float) -> dict[str, Any]:
        """When the window's values reached Kafka, and how long the window took: the figures of bench/."""

        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.astimezone(timezone.utc).isoformat(timespec="milliseconds")

        return {
            "first_value_at": iso(min(arrivals, default=None)),
            "last_value_at": iso(max(arrivals, default=None)),
            "processing_seconds": round(time.monotonic() - started, 3),
        }

    def _window(
        self, rows: DataFrame, rejected: DataFrame, window: int
    ) -> tuple[dict[str, Any], list[datetime], list[firsts.Pair]]:
        """The window's document (without its timing), the first and last time a value of each group
        reached Kafka, and the pairs no earlier window had (to store). One Spark job reads the rows for
        the counts, those times and each group's names."""
        counts: list[KingdomCount] = []
        rejects = 0
        arrivals: list[datetime] = []
        pairs: set[firsts.Pair] = set()
        for row in frames.groups(rows).collect():
            arrivals += [row["first"], row["last"]]
            if row["valid"]:
                counts.append(KingdomCount(row["source"], row["topic"], row["kingdom"], row["count"]))
                pairs.update((row["source"], name) for name in row["names"])
            else:
                rejects += row["count"]
        if rejects:
            rejected.select(F.coalesce("value", F.lit("")).alias("value")).coalesce(1).write.mode("overwrite").text(
                self.layout.rejects_partition(window)
            )
        found = self._species(pairs, window)
        document = build_document(
            window,
            trigger_seconds=self.settings.consumer.trigger_seconds,
            counts=counts,
            rejects=rejects,
            species_by_source=found.by_source,
            species_overall=found.overall,
            previous=self._previous(window),
            processed_at=datetime.now(timezone.utc),
        )
        return document, arrivals, found.new_pairs

    def _species(self, pairs: set[firsts.Pair], window: int) -> firsts.WindowSpecies:
        """Distinct names per source and overall, those no earlier window had, and the pairs to store.
        Spark's part is one small collect, the earlier pairs of this window's names (frames.earlier_pairs);
        the rest is counted on the driver (firsts.py)."""
        earlier = self.species.before(window)  # compacts first when it is time, even for an empty window
        return firsts.count(pairs, frames.earlier_pairs(self.spark, earlier, pairs))

    def _previous(self, window: int) -> Cumulative:
        """Totals up to window - 1: kept from the last window, or read back from HDFS after a restart."""
        if self.totals is None or self.totals.window != window - 1:
            self.totals = self._stored_totals(window)
        return self.totals

    def _stored_totals(self, window: int) -> Cumulative:
        """Window - 1's document alone holds them; documents older than that field are all read, in order."""
        if window == 1:
            return Cumulative()
        last = self.store.document(window - 1)
        restored = None if last is None else Cumulative.from_last_document(last)
        if restored is None:  # documents of an older release, or a missing one (an error, from from_documents)
            restored = Cumulative.from_documents(self.store.documents_before(window))
        return restored


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = config.load(principal=kafka_clients.CONSUMER)
    spark = SparkSession.builder.appName("zootopia-consumer").getOrCreate()
    if spark.conf.get("spark.sql.shuffle.partitions") == "200":  # Spark's default: not set by spark-submit
        spark.conf.set("spark.sql.shuffle.partitions", DEFAULT_SHUFFLE_PARTITIONS)
    writer = WindowWriter(spark, settings)
    # The warm-up and the query's checkpoint both write to HDFS: past this bound the unit fails and restarts.
    waited = writer.store.wait_writable(HDFS_WRITABLE_TIMEOUT_SECONDS)
    if waited:
        LOG.info("HDFS took writes after %.1f s in safe mode", waited)
    try:
        seconds = warm_up(spark, settings, writer.store)
        topic = settings.kafka.warm_up_topic
        LOG.info("warm-up: a window's jobs ran on sample records read from %s in %.1f s", topic, seconds)
    except Exception as error:  # only the first window's speed depends on it
        LOG.warning("warm-up failed, the first window pays the cold start: %s", error)
    reader = data_topics(spark.readStream, settings).option("failOnDataLoss", "true")
    if settings.consumer.max_offsets_per_trigger > 0:
        reader = reader.option("maxOffsetsPerTrigger", settings.consumer.max_offsets_per_trigger)
    query = (
        reader.load()
        .writeStream.queryName("zootopia-consumer")
        .trigger(processingTime=f"{settings.consumer.trigger_seconds} seconds")
        .option("checkpointLocation", writer.layout.checkpoint)
        .foreachBatch(writer)
        .start()
    )
    LOG.info("consuming %s into %s", ",".join(settings.kafka.data_topics), settings.hdfs.root)
    runtime = os.environ.get("RUNTIME_DIRECTORY")
    if runtime:
        Path(runtime, CONSUMING_FILE).write_text(f"{query.id}\n", encoding="utf-8")
    counted = CountedCommitter(settings)
    try:
        # Between windows: what they counted, for the streams' backpressure.
        while not query.awaitTermination(COMMIT_SECONDS):
            counted.commit(counted_offsets(query.lastProgress))
    finally:
        counted.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
