"""Zootopia: a streaming biodiversity pipeline, one package per stage.

    sources   a source URL -> rows (crawl the registry, download into a bounded cache, read archives)
    streams   rows -> Kafka, exactly once (registry of sources, per-node agent, transactional producer)
    consumer  Kafka topics -> per-window counts on HDFS (the Spark Structured Streaming job)
    api       HDFS results and the registry -> analysts over HTTP (the API and its dashboard)
    mirror    the recorded GBIF, OBIS and iDigBio data -> their APIs' paths (the local cluster's internet)

Shared by every stage: `records` (the row format), `config` (the settings file), `kafka_clients`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    # The one place of the version is app/pyproject.toml; an installed package carries it in its metadata.
    __version__ = version("zootopia")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
