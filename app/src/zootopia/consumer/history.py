"""The species pairs of earlier windows on HDFS, read and compacted as species.plan says."""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StringType, StructField, StructType

from zootopia.consumer import driver_rows, species
from zootopia.consumer.layout import upto_of_compacted, window_of_partition
from zootopia.consumer.store import WindowStore

LOG = logging.getLogger("zootopia.consumer")
PAIR_SCHEMA = StructType([StructField("source", StringType()), StructField("scientificName", StringType())])
# One window's names, as the history is scanned for them (consumer/job.py).
NAME_SCHEMA = StructType([PAIR_SCHEMA["scientificName"]])


class SpeciesHistory:
    """(source, scientificName) pairs first seen in earlier windows: a compacted set plus recent partitions."""

    def __init__(self, spark: SparkSession, store: WindowStore, every: int) -> None:
        self.spark = spark
        self.store = store
        self.layout = store.layout
        self.every = every

    def before(self, window: int) -> DataFrame:
        """Every pair first seen in a window before `window`; compacts first when the plan says so."""
        partitions = self.store.numbered(self.layout.species, window_of_partition)
        sets = self.store.numbered(self.layout.species_compacted, upto_of_compacted)
        step = species.plan(window, partitions, sets, self.every)
        self._delete(step.stale_partitions, step.stale_sets)
        if step.compact:
            self._compact(step)
            step = species.plan(window, step.partitions, [step.compacted_upto], self.every)
        return self._read(step)

    def _read(self, step: species.SpeciesPlan) -> DataFrame:
        paths = [self.layout.species_partition(number) for number in step.partitions]
        if step.base:
            paths.insert(0, self.layout.species_compacted_set(step.base))
        if not paths:
            return driver_rows.frame(self.spark, [], PAIR_SCHEMA)
        return self.spark.read.schema(PAIR_SCHEMA).parquet(*paths)

    def _compact(self, step: species.SpeciesPlan) -> None:
        upto = step.compacted_upto
        temp, final = self.layout.species_compacted_temp(upto), self.layout.species_compacted_set(upto)
        # The molecule checks kill the consumer at this line: keep its start as it is.
        LOG.info("species: compacting windows 1..%d into %s (%d partitions)", upto, final, len(step.partitions))
        # The pairs of different windows are disjoint (a pair is stored by the first window that saw it).
        self._read(step).coalesce(1).write.mode("overwrite").parquet(temp)
        self.store.client.rename(temp, final)
        LOG.info("species: windows 1..%d compacted into %s (%d partitions merged)", upto, final, len(step.partitions))
        self._delete(step.partitions, (step.base,) if step.base else ())

    def _delete(self, partitions: tuple[int, ...], sets: tuple[int, ...]) -> None:
        for number in partitions:
            self.store.client.delete(self.layout.species_partition(number), recursive=True)
        for upto in sets:
            self.store.client.delete(self.layout.species_compacted_set(upto), recursive=True)
