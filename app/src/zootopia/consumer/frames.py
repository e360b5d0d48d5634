"""A window's Spark work as functions of DataFrames: the consumer's windows and its warm-up run the same."""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the usual name of this module

from zootopia.consumer import columns, driver_rows
from zootopia.consumer.firsts import Pair
from zootopia.consumer.history import NAME_SCHEMA, PAIR_SCHEMA
from zootopia.records import KINGDOM, SCIENTIFIC_NAME


def decoded(batch: DataFrame) -> DataFrame:
    """Kafka's rows (key, topic, timestamp, value) with the source, the value as text and its parse."""
    return batch.select(
        columns.source(F.col("key")).alias("source"),
        F.col("topic"),
        F.col("timestamp"),
        F.col("value").cast("string").alias("value"),
    ).withColumn("parsed", columns.parsed(F.col("value")))


def valid() -> Column:
    """True for a decoded value that is a record (columns.is_record)."""
    return columns.is_record(F.col("value"), F.col("parsed"))


def rejected(decoded_rows: DataFrame) -> DataFrame:
    """The values that are not records, as text (read again only in a window that has rejects)."""
    return decoded_rows.where(~valid()).select("value")


def rows(decoded_rows: DataFrame) -> DataFrame:
    """What a window counts of each value: where it came from, when, whether it is a record, its kingdom and name."""
    return decoded_rows.select(
        "source",
        "topic",
        "timestamp",
        valid().alias("valid"),
        columns.kingdom(F.col("parsed").getField(KINGDOM)).alias("kingdom"),
        columns.species(F.col("parsed").getField(SCIENTIFIC_NAME)).alias("name"),
    )


def groups(window_rows: DataFrame) -> DataFrame:
    """One row per (valid, source, topic, kingdom): its count, first and last arrival, and names."""
    return window_rows.groupBy("valid", "source", "topic", "kingdom").agg(
        F.count(F.lit(1)).alias("count"),
        F.min("timestamp").alias("first"),
        F.max("timestamp").alias("last"),
        F.collect_set("name").alias("names"),
    )


def earlier_pairs(spark: SparkSession, earlier: DataFrame, pairs: Iterable[Pair]) -> list[Pair]:
    """The pairs of `earlier` with one of the names of `pairs`. The history is only scanned, each pair tested
    against the names, which every executor gets whole (one window's). Never the other way round: Spark may send
    a join's side through the driver when its files look small, and a history of a million pairs did not
    fit in the driver's 512 MiB."""
    names = sorted({name for _, name in pairs})
    if not names:
        return []
    window_names = F.broadcast(driver_rows.frame(spark, [(name,) for name in names], NAME_SCHEMA))
    return [
        (row["source"], row["scientificName"])
        for row in earlier.join(window_names, ["scientificName"], "left_semi").collect()
    ]


def write_pairs(spark: SparkSession, pairs: list[Pair], path: str) -> None:
    driver_rows.frame(spark, pairs, PAIR_SCHEMA).coalesce(1).write.mode("overwrite").parquet(path)
