"""The Kafka source's options: the query's and a batch of given offset ranges (the warm-up's)."""

from __future__ import annotations

import json

from zootopia import kafka_clients
from zootopia.config import KafkaSettings, Settings
from zootopia.consumer import kafka_source


class RecordedReader:
    """Records what Spark's DataFrameReader would be given (format and options), in order."""

    def __init__(self) -> None:
        self.options: dict[str, str] = {}
        self.source = ""

    def format(self, source: str) -> RecordedReader:
        self.source = source
        return self

    def option(self, key: str, value: object) -> RecordedReader:
        assert key not in self.options, f"{key} given twice"
        self.options[key] = str(value)
        return self


SETTINGS = Settings(kafka=KafkaSettings(bootstrap_servers=["k1:9092", "k2:9092"]))


def test_the_query_reads_every_data_topic_from_its_start_with_the_shared_options() -> None:
    reader = kafka_source.data_topics(RecordedReader(), SETTINGS)
    assert reader.source == "kafka"
    assert reader.options == {
        "kafka.bootstrap.servers": "k1:9092,k2:9092",
        "groupIdPrefix": kafka_clients.CONSUMER_GROUP_PREFIX,
        "kafka.isolation.level": "read_committed",
        "kafkaConsumer.pollTimeoutMs": str(kafka_source.KAFKA_POLL_TIMEOUT_MS),
        "kafka.fetch.max.wait.ms": str(kafka_source.KAFKA_FETCH_MAX_WAIT_MS),
        "subscribe": "gbif,obis,idigbio",
        "startingOffsets": "earliest",
    }


def test_offset_ranges_assign_exactly_the_given_partitions_and_offsets() -> None:
    reader = kafka_source.offset_ranges(RecordedReader(), SETTINGS, "zootopia.warm-up", {2: (40, 46), 0: (7, 13)})
    assert json.loads(reader.options["assign"]) == {"zootopia.warm-up": [0, 2]}
    assert json.loads(reader.options["startingOffsets"]) == {"zootopia.warm-up": {"0": 7, "2": 40}}
    assert json.loads(reader.options["endingOffsets"]) == {"zootopia.warm-up": {"0": 13, "2": 46}}
    # The same login, group prefix and isolation as the query: the warm-up starts the clients the query uses.
    shared = kafka_source.kafka_reader(RecordedReader(), SETTINGS).options
    assert {key: reader.options[key] for key in shared} == shared
    assert "subscribe" not in reader.options
