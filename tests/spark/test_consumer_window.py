"""Two real windows of the consumer on local Spark, on the Python that runs this check (the matrix runs it on
3.9 to 3.12): the GBIF seed's two archives, read by the streams' own reader, each as one batch of Kafka's rows,
counted by the consumer's foreachBatch function (job.WindowWriter) into a real HDFS. The second window reads the
species the first stored, so every path that builds a DataFrame from the driver's rows runs (an empty history,
the window's names, the new pairs). Each document equals the ground truth computed from the files by
groundtruth.py, independently of the app."""

from __future__ import annotations

import getpass
import hashlib
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

import repository_module  # noqa: E402 - after the path it lives on

groundtruth = repository_module.load("groundtruth", "molecule/default/tests/groundtruth.py")

SOURCE = "https://gbif.org"
ARCHIVES = sorted((groundtruth.DATA / "gbif").glob("*.zip"), key=lambda path: path.stat().st_size)


def _batch(spark: Any, archive: Path, folder: Path) -> Any:  # noqa: ANN401 - pyspark objects
    """The archive's records as the consumer gets them from Kafka: key, value (bytes), topic, timestamp."""
    from pyspark.sql import functions as F  # noqa: N812 - the usual name of this module

    from zootopia.records import Record
    from zootopia.sources.readers import read_dwca

    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    lines = folder / f"{archive.stem}.jsonl"
    with lines.open("wb") as out:
        for row in read_dwca(archive, digest):
            assert isinstance(row, Record), row
            out.write(row.to_json() + b"\n")
    return spark.read.text(lines.as_uri()).select(
        F.lit(SOURCE).cast("binary").alias("key"),
        F.col("value").cast("binary").alias("value"),
        F.lit("gbif").alias("topic"),
        F.current_timestamp().alias("timestamp"),
    )


def test_two_windows_equal_the_ground_truth(spark: Any, hdfs: Any, tmp_path: Path) -> None:  # noqa: ANN401
    from hdfs import InsecureClient

    from zootopia import config
    from zootopia.consumer.job import WindowWriter
    from zootopia.consumer.store import WindowStore

    settings = config.Settings(hdfs=config.HdfsSettings(url=hdfs.http, user="zootopia", root="/zootopia"))
    admin = InsecureClient(hdfs.http, user=getpass.getuser())  # the NameNode's own user: the superuser
    admin.makedirs("/zootopia")
    admin.set_owner("/zootopia", owner="zootopia")
    writer = WindowWriter(spark, settings)
    assert len(ARCHIVES) == 2
    truths = [groundtruth.archive(archive) for archive in ARCHIVES]
    seen: set[str] = set()
    for batch_id, (archive, truth) in enumerate(zip(ARCHIVES, truths)):
        writer(_batch(spark, archive, tmp_path), batch_id)
        document = WindowStore(settings.hdfs).document(batch_id + 1)
        assert document is not None
        assert document["records"] == truth.records
        assert document["kingdoms"] == dict(truth.kingdoms)
        assert document["species"] == len(truth.species)
        assert document["new_species"] == len(truth.species - seen)
        assert document["sources"][SOURCE]["records"] == truth.records
        seen |= truth.species
    whole = groundtruth.gbif()
    assert document is not None
    assert document["cumulative"]["records"] == whole.records == 12_885
    assert document["cumulative"]["species"] == len(whole.species) == 3_382
