"""The Kafka connection options: plain by default, TLS and a SCRAM login per principal with SASL_SSL."""

from __future__ import annotations

import gzip
import json
import re
import socket
import time
import zlib
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

from zootopia import config, kafka_clients
from zootopia.config import KafkaSettings, Settings
from zootopia.kafka_clients import connection, password, spark_options

SECRET = "s3cr3t-of-the-api"


def secured(tmp_path: Path, secret: str = SECRET, principal: str = kafka_clients.API) -> Settings:
    """SASL_SSL settings whose api principal's password is `secret` (written with the file's usual newline)."""
    (tmp_path / "api.password").write_text(f"  {secret}\n", encoding="utf-8")
    kafka = KafkaSettings(
        bootstrap_servers=["k1:9093", "k2:9093"],
        security_protocol="SASL_SSL",
        ca_file="/etc/zootopia/kafka-ca.pem",
        password_files={kafka_clients.API: str(tmp_path / "api.password"), "streams": str(tmp_path / "none")},
        principal=principal,
    )
    return Settings(kafka=kafka)


def write_settings(tmp_path: Path, kafka: dict[str, Any]) -> Path:
    path = tmp_path / "zootopia.json"
    path.write_text(json.dumps({"kafka": kafka}), encoding="utf-8")
    return path


def test_plaintext_is_the_default_and_gives_only_the_brokers() -> None:
    settings = Settings()
    assert settings.kafka.security_protocol == "PLAINTEXT"
    assert connection(settings) == {"bootstrap_servers": ["localhost:9092"], "api_version_auto_timeout_ms": 30000}
    assert spark_options(settings) == {"kafka.bootstrap.servers": "localhost:9092"}


def test_plaintext_needs_no_principal_nor_password() -> None:
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=["a:9092", "b:9092"], principal=""))
    assert connection(settings) == {"bootstrap_servers": ["a:9092", "b:9092"], "api_version_auto_timeout_ms": 30000}
    assert spark_options(settings) == {"kafka.bootstrap.servers": "a:9092,b:9092"}


def test_sasl_ssl_gives_the_tls_and_login_options_with_the_stripped_password(tmp_path: Path) -> None:
    assert connection(secured(tmp_path)) == {
        "bootstrap_servers": ["k1:9093", "k2:9093"],
        "api_version_auto_timeout_ms": 30000,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "api",
        "sasl_plain_password": SECRET,
        "ssl_cafile": "/etc/zootopia/kafka-ca.pem",
        "ssl_check_hostname": True,
    }


def test_sasl_ssl_spark_options(tmp_path: Path) -> None:
    assert spark_options(secured(tmp_path)) == {
        "kafka.bootstrap.servers": "k1:9093,k2:9093",
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "SCRAM-SHA-512",
        "kafka.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required"
        f' username="api" password="{SECRET}";',
        "kafka.ssl.truststore.type": "PEM",
        "kafka.ssl.truststore.location": "/etc/zootopia/kafka-ca.pem",
        "kafka.ssl.endpoint.identification.algorithm": "https",
    }


def test_the_jaas_config_escapes_quotes_and_backslashes(tmp_path: Path) -> None:
    jaas = spark_options(secured(tmp_path, secret='a"b\\c'))["kafka.sasl.jaas.config"]
    assert jaas.endswith(' password="a\\"b\\\\c";')


def test_the_password_is_the_principals_own(tmp_path: Path) -> None:
    settings = secured(tmp_path)
    (tmp_path / "streams.password").write_text("other\n", encoding="utf-8")
    files = {**settings.kafka.password_files, "streams": str(tmp_path / "streams.password")}
    streams = replace(settings.kafka, principal=kafka_clients.STREAMS, password_files=files)
    assert password(settings) == SECRET
    assert password(Settings(kafka=streams)) == "other"


def test_no_principal_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no Kafka principal"):
        connection(secured(tmp_path, principal=""))


def test_a_principal_without_a_password_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no file for the principal 'consumer'"):
        spark_options(secured(tmp_path, principal=kafka_clients.CONSUMER))


def test_a_missing_password_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=re.escape(f"{tmp_path / 'none'} of 'streams': No such file")):
        connection(secured(tmp_path, principal=kafka_clients.STREAMS))


def test_an_empty_password_file_is_an_error(tmp_path: Path) -> None:
    settings = secured(tmp_path, secret=" \n")
    with pytest.raises(ValueError, match=r"api\.password of 'api' is empty"):
        password(settings)


def test_a_password_of_several_lines_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="more than one line") as raised:
        password(secured(tmp_path, secret="first\nsecond"))
    assert "first" not in str(raised.value)
    assert "second" not in str(raised.value)


def test_an_unknown_protocol_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PLAINTEXT or SASL_SSL, not 'SSL'"):
        config.load(write_settings(tmp_path, {"security_protocol": "SSL"}))


def test_sasl_ssl_needs_a_ca_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ca_file is required"):
        config.load(write_settings(tmp_path, {"security_protocol": "SASL_SSL"}))


def test_a_sasl_mechanism_without_a_scram_login_is_refused(tmp_path: Path) -> None:
    kafka = {"security_protocol": "SASL_SSL", "ca_file": "/ca.pem", "sasl_mechanism": "PLAIN"}
    with pytest.raises(ValueError, match="sasl_mechanism"):
        config.load(write_settings(tmp_path, kafka))


def test_the_settings_file_cannot_choose_the_principal(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"kafka\.principal is chosen by the program"):
        config.load(write_settings(tmp_path, {"principal": "streams"}))


def test_load_sets_the_principal_the_program_chose(tmp_path: Path) -> None:
    (tmp_path / "api.password").write_text(SECRET, encoding="utf-8")
    path = write_settings(
        tmp_path,
        {
            "security_protocol": "SASL_SSL",
            "ca_file": "/ca.pem",
            "password_files": {"api": str(tmp_path / "api.password")},
        },
    )
    settings = config.load(path, principal=kafka_clients.API)
    assert settings.kafka.principal == "api"
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert connection(settings)["sasl_plain_password"] == SECRET
    assert config.load(path).kafka.principal == ""


def test_load_without_a_file_gives_defaults_with_the_principal(tmp_path: Path) -> None:
    settings = config.load(tmp_path / "absent.json", principal=kafka_clients.CONSUMER)
    assert settings.kafka.principal == "consumer"
    assert connection(settings)["bootstrap_servers"] == ["localhost:9092"]


def test_a_known_broker_version_is_used_without_probing(tmp_path: Path) -> None:
    settings = replace(secured(tmp_path), kafka=replace(secured(tmp_path).kafka, api_version="3.1"))
    assert connection(settings)["api_version"] == (3, 1)
    with pytest.raises(ValueError, match=re.escape("kafka.api_version must be a version such as 3.1")):
        KafkaSettings(api_version="3.x")


def test_reading_a_compacted_topic_gives_up_within_its_bound_when_no_broker_answers() -> None:
    """A broker that accepts connections and never answers (as one does while it starts): the read
    ends with a TimeoutError naming the topic, not after kafka-python's 305 s or never."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        kafka = KafkaSettings(bootstrap_servers=[f"127.0.0.1:{silent.getsockname()[1]}"], api_version="3.1")
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=re.escape("reading zootopia.sources took longer than 3 s")):
            kafka_clients.read_compacted(Settings(kafka=kafka), "zootopia.sources", timeout_seconds=3)
        assert time.monotonic() - started < 30


def test_record_batches_are_gzipped_at_the_java_producers_level_and_read_back_whole() -> None:
    value = json.dumps({f"http://rs.tdwg.org/dwc/terms/t{n}": f"v{n % 7}" for n in range(200)}).encode()
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=DefaultRecordBatch.CODEC_GZIP, is_transactional=False,
        producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20,
    )  # fmt: skip
    for offset in range(50):
        builder.append(offset, timestamp=None, key=b"https://gbif.org", value=value, headers=[])
    batch = bytes(builder.build())
    payload = batch[DefaultRecordBatchBuilder.HEADER_STRUCT.size :]
    # gzip's header marks the level: XFL 2 for 9 (kafka-python's own), 0 for the levels between.
    assert payload[:2] == b"\x1f\x8b"
    assert payload[8] == 0
    # The same deflate stream as zlib's at that level (gzip's frame is 18 bytes, zlib's 6).
    uncompressed = gzip.decompress(payload)
    assert len(payload) - 18 == len(zlib.compress(uncompressed, kafka_clients.GZIP_LEVEL)) - 6
    assert [record.value for record in DefaultRecordBatch(batch)] == [value] * 50


class OneUnansweredListOffsets:
    """Stands in for kafka-python's KafkaConsumer where scan_compacted meets it: its first end-offset request
    gets no answer in time (KafkaTimeoutError, as kafka-python raises it); the topic holds one record."""

    end_offset_calls = 0

    def __init__(self, **options: object) -> None:
        self.config = options
        self._position = 0

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.partition = partitions[0]

    def seek_to_beginning(self, partition: TopicPartition) -> None:
        self._position = 0

    def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        type(self).end_offset_calls += 1
        if type(self).end_offset_calls == 1:
            raise KafkaTimeoutError("Failed to get offsets by timestamps in 1000 ms")
        return {partitions[0]: 1}

    def position(self, partition: TopicPartition, timeout_ms: int) -> int:
        return self._position

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[SimpleNamespace]]:
        self._position = 1
        return {self.partition: [SimpleNamespace(key=b"source-1", value=b"{}")]}

    def close(self) -> None:
        pass


def test_an_unanswered_end_offset_request_is_asked_again_within_the_reads_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One lost ListOffsets answer no longer ends the read: scan_compacted asks again, with requests shorter
    than its bound, and reads the topic (a CI run once lost a whole 60 s read to one such request)."""
    monkeypatch.setattr(OneUnansweredListOffsets, "end_offset_calls", 0)  # counted from this test's start
    monkeypatch.setattr(kafka_clients, "KafkaConsumer", OneUnansweredListOffsets)
    read = kafka_clients.read_compacted(Settings(kafka=KafkaSettings(api_version="3.1")), "zootopia.progress", 60)
    assert read == {"source-1": b"{}"}
    assert OneUnansweredListOffsets.end_offset_calls == 2


def test_one_request_is_bounded_below_the_reads_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, object]] = []

    class Recorded(OneUnansweredListOffsets):
        end_offset_calls = 0

        def __init__(self, **options: object) -> None:
            super().__init__(**options)
            made.append(options)

    monkeypatch.setattr(kafka_clients, "KafkaConsumer", Recorded)
    settings = Settings(kafka=KafkaSettings(api_version="3.1"))
    kafka_clients.read_compacted(settings, "zootopia.progress", 60)
    kafka_clients.read_compacted(settings, "zootopia.progress", 3)
    assert [options["request_timeout_ms"] for options in made] == [kafka_clients.REQUEST_ATTEMPT_MS, 3000]
