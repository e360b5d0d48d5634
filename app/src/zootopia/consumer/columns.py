"""The counting rules of rules.py as Spark Column expressions (JVM only: no Python runs on the executors)."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F  # noqa: N812 - the usual name of this module
from pyspark.sql.types import StringType, StructField, StructType

from zootopia.consumer import rules
from zootopia.records import KINGDOM, SCIENTIFIC_NAME

# A field no record has: from_json puts the raw text of a value it cannot parse here.
CORRUPT = "__zootopia_corrupt_record__"
VALUE_SCHEMA = StructType(
    [
        StructField(KINGDOM, StringType()),
        StructField(SCIENTIFIC_NAME, StringType()),
        StructField(CORRUPT, StringType()),
    ]
)
JSON_OPTIONS = {
    "mode": "PERMISSIVE",
    "columnNameOfCorruptRecord": CORRUPT,
    # Strict JSON as Python's json module reads it: Spark would take 'single quoted' strings.
    "allowSingleQuotes": "false",
}
# JSON's own whitespace around the object; anything else (an array, a number, trailing text) is a reject.
_OBJECT_TEXT = r"^[ \t\n\r]*\{.*\}[ \t\n\r]*$"


def source(key: Column) -> Column:
    return F.coalesce(key.cast("string"), F.lit(rules.UNKNOWN_SOURCE))


def parsed(value: Column) -> Column:
    return F.from_json(value, VALUE_SCHEMA, JSON_OPTIONS)


def is_record(value: Column, parsed_value: Column) -> Column:
    """True for a value that is one JSON object, False for a reject (never null)."""
    # Values are written without whitespace around the object: two byte comparisons settle those. Only
    # the others meet the regular expression, which first decodes the whole 12 KB value to a Java string.
    looks_like_object = F.when(value.startswith("{") & value.endswith("}"), F.lit(True)).otherwise(
        value.rlike("(?s)" + _OBJECT_TEXT)
    )
    return F.coalesce(
        looks_like_object & parsed_value.isNotNull() & parsed_value.getField(CORRUPT).isNull(), F.lit(False)
    )


def stripped(text: Column) -> Column:
    return F.regexp_replace(text, rules.STRIP_PATTERN, "")


def kingdom(raw: Column) -> Column:
    """rules.kingdom: canonical spelling of the eight kingdoms, 'unspecified' for empty, else the stripped value."""
    value = stripped(raw)
    lowered = F.lower(value)
    expression = F.when(value.isNull() | (value == ""), F.lit(rules.UNSPECIFIED))
    for name in rules.CANONICAL_KINGDOMS:
        expression = expression.when(lowered == name.lower(), F.lit(name))
    return expression.otherwise(value)


def species(raw: Column) -> Column:
    """rules.species: the stripped name, null when it is empty."""
    value = stripped(raw)
    return F.when(value != "", value)
