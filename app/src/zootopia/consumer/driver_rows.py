"""DataFrames of rows the driver holds (a window's names, its new species pairs), built in the JVM.

PySpark 3.2's `createDataFrame(<list>)` pickles its conversion functions with the cloudpickle it bundles
(1.6), which fails on Python 3.11 and later: the consumer would fail every window there. Here the rows
travel as JSON lines in one string literal of the plan, which Spark splits and parses against the
schema itself: nothing Python is pickled, on any Python the nodes have.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the usual name of this module
from pyspark.sql.types import StructType


def frame(spark: SparkSession, rows: Iterable[Sequence[object]], schema: StructType) -> DataFrame:
    """`rows` (tuples in the order of the schema's fields, values JSON can hold) as a DataFrame of `schema`."""
    names = schema.names
    # json.dumps escapes line breaks inside values, so a line is exactly one row.
    text = "\n".join(json.dumps(dict(zip(names, row)), ensure_ascii=False) for row in rows)
    lines = spark.range(1).select(F.explode(F.split(F.lit(text), "\n")).alias("line")).where(F.col("line") != "")
    return lines.select(F.from_json("line", schema).alias("row")).select(
        *(F.col("row")[name].alias(name) for name in names)
    )
