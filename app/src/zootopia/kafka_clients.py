"""The Kafka clients every part shares: a durable producer and a reader of compacted topics, and the
connection options (plain, or TLS with a SCRAM login) of every client, kafka-python's and Spark's.

Each process logs in as its own principal, so the brokers' ACLs grant it only what it needs.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition, codec
from kafka.errors import KafkaTimeoutError
from kafka.record import default_records

from zootopia.config import Settings

# The principals, one per kind of process (config.load(principal=...) in each entry point).
API = "api"  # the HTTP API and the ops' `zootopia streams add|remove|list`: the registry, progress
STREAMS = "streams"  # the agents and streams: data topics, rejects, progress (transactions)
CONSUMER = "consumer"  # the Spark job: reads the data topics
# The Spark job's consumer group ids start with this, so the ACLs can name them by prefix.
CONSUMER_GROUP_PREFIX = "zootopia-consumer"
# The group the consumer commits the offsets its windows counted to; the streams read it (backpressure).
COUNTED_GROUP = CONSUMER_GROUP_PREFIX
# How long a client tries the bootstrap brokers before it gives up (NoBrokersAvailable).
API_VERSION_TIMEOUT_MS = 30000
# How long a compacted topic's reader waits for one answer (scan_compacted): a request that gets none is sent
# again on a new connection, within the read's own bound. A ListOffsets request once went unanswered for
# its whole 60 s on a healthy cluster (CI rehearsal 33), and that one request failed the read.
REQUEST_ATTEMPT_MS = 15000

# gzip's level for the record batches kafka-python builds: Kafka's Java producer uses zlib's default,
# 6 (it has no setting for it before Kafka 3.8); kafka-python hard-codes 9, which makes the records
# 17 % smaller and held a stream to 4,700 records/s against 6,600 at 6 (bench/producer.yml).
GZIP_LEVEL = 6
if default_records.gzip_encode is not codec.gzip_encode:
    raise RuntimeError("kafka-python's record batches no longer call kafka.codec.gzip_encode: review GZIP_LEVEL")
default_records.gzip_encode = functools.partial(codec.gzip_encode, compresslevel=GZIP_LEVEL)


def password(settings: Settings) -> str:
    """The password of this process's principal, read from its file (stripped). Errors name the
    principal and the file, never the content."""
    kafka = settings.kafka
    if not kafka.principal:
        raise ValueError("no Kafka principal is set: the program must pass config.load(principal=...)")
    path = kafka.password_files.get(kafka.principal)
    if not path:
        raise ValueError(f"kafka.password_files has no file for the principal {kafka.principal!r}")
    try:
        secret = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        # Only the reason: a decoding error's message would quote bytes of the file.
        reason = (error.strerror or type(error).__name__) if isinstance(error, OSError) else "not UTF-8 text"
        raise RuntimeError(f"cannot read the Kafka password file {path} of {kafka.principal!r}: {reason}") from None
    if not secret:
        raise ValueError(f"the Kafka password file {path} of {kafka.principal!r} is empty")
    if "\n" in secret or "\r" in secret:
        # A JAAS quoted string ends at a line break: Spark's login would get part of the password.
        raise ValueError(f"the Kafka password file {path} of {kafka.principal!r} holds more than one line")
    return secret


def connection(settings: Settings) -> dict[str, object]:
    """kafka-python's connection options: the brokers and, with SASL_SSL, the TLS and login ones."""
    kafka = settings.kafka
    options: dict[str, object] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        # Every client first asks a broker its API versions, trying the bootstrap brokers in turn for
        # this long (kafka-python's default, 2 s, is shorter than a TLS and SCRAM login takes on a busy
        # node once a stopped broker's refusal has used its share: NoBrokersAvailable with two of three up).
        "api_version_auto_timeout_ms": API_VERSION_TIMEOUT_MS,
    }
    if kafka.api_version:
        options["api_version"] = tuple(int(part) for part in kafka.api_version.split(".")[:2])
    if kafka.security_protocol == "SASL_SSL":
        options.update(
            security_protocol="SASL_SSL",
            sasl_mechanism=kafka.sasl_mechanism,
            sasl_plain_username=kafka.principal,
            sasl_plain_password=password(settings),
            ssl_cafile=kafka.ca_file,
            ssl_check_hostname=True,
        )
    return options


def _jaas_quoted(value: str) -> str:
    # JAAS reads quoted values with java.io.StreamTokenizer: a backslash escapes the next character.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def spark_options(settings: Settings) -> dict[str, str]:
    """The Spark Kafka source's connection options (`kafka.`-prefixed client properties).

    Spark 3 redacts sasl.jaas.config where it logs these; the password never reaches a command line.
    """
    kafka = settings.kafka
    options = {"kafka.bootstrap.servers": ",".join(kafka.bootstrap_servers)}
    if kafka.security_protocol == "SASL_SSL":
        login = "org.apache.kafka.common.security.scram.ScramLoginModule required"
        jaas = f"{login} username={_jaas_quoted(kafka.principal)} password={_jaas_quoted(password(settings))};"
        options.update(
            {
                "kafka.security.protocol": "SASL_SSL",
                "kafka.sasl.mechanism": kafka.sasl_mechanism,
                "kafka.sasl.jaas.config": jaas,
                # Kafka clients >= 2.7 read a PEM bundle directly: no JKS truststore to build.
                "kafka.ssl.truststore.type": "PEM",
                "kafka.ssl.truststore.location": kafka.ca_file,
                "kafka.ssl.endpoint.identification.algorithm": "https",
            }
        )
    return options


def producer(settings: Settings, **overrides: object) -> KafkaProducer:
    """A producer that loses nothing while two of three brokers live: acks from every in-sync replica, retried."""
    options: dict[str, object] = {
        **connection(settings),
        "acks": "all",
        "retries": 2**31 - 1,
        # kafka-python sleeps this long before it retries a transactional request, also the first
        # AddPartitionsToTxn of each transaction, which the coordinator refuses while it still writes
        # the previous commit's markers (Java's client waits 20 ms there). At 500 ms a stream lost
        # half its time between transactions (bench/producer.yml: 2,200 against 4,700 records/s).
        "retry_backoff_ms": 50,
        "request_timeout_ms": 30000,
        # Idempotence makes kafka-python send one request at a time per broker: big,
        # compressed batches (json-stream lines are mostly repeated term URIs) carry more per trip.
        "linger_ms": 50,
        "batch_size": 1024 * 1024,
        "max_request_size": 8 * 1024 * 1024,
        "compression_type": "gzip",
    }
    options.update(overrides)
    return KafkaProducer(**options)


def read_compacted(settings: Settings, topic: str, timeout_seconds: float = 60.0) -> dict[str, bytes]:
    """The latest committed value of every key of a one-partition compacted topic (tombstones drop the key).
    Bounded as a whole: see `scan_compacted`."""
    values: dict[str, bytes] = {}
    for key, value in scan_compacted(settings, topic, timeout_seconds):
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


def scan_compacted(settings: Settings, topic: str, timeout_seconds: float = 60.0) -> Iterator[tuple[str, bytes | None]]:
    """Every committed (key, value) of a one-partition compacted topic, in offset order (a key may come
    more than once, a tombstone's value is None), up to its end when the scan began.

    Bounded by `timeout_seconds` as a whole (TimeoutError), give or take one request's REQUEST_ATTEMPT_MS:
    kafka-python's own waits are 305 s for the end offset and unbounded for the position, and a caller such
    as the streams agent must get its next round, with fresh metadata, while a broker that just restarted
    does not know the topic yet. An end offset not given in time is asked again until then.
    """
    deadline = time.monotonic() + timeout_seconds

    def left_ms() -> int:
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0:
            raise TimeoutError(f"reading {topic} took longer than {timeout_seconds:.0f} s")
        return left

    consumer = KafkaConsumer(
        **connection(settings),
        enable_auto_commit=False,
        isolation_level="read_committed",
        # kafka-python bounds both one request and end_offsets as a whole by this.
        request_timeout_ms=max(1000, min(REQUEST_ATTEMPT_MS, int(timeout_seconds * 1000))),
    )
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        attempts = 0
        while True:
            attempts += 1
            try:
                end = consumer.end_offsets([partition])[partition]
                break
            except KafkaTimeoutError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"reading {topic} took longer than {timeout_seconds:.0f} s:"
                        f" no end offset in {attempts} attempt(s) of up to {consumer.config['request_timeout_ms']} ms"
                    ) from None
        while (position := consumer.position(partition, timeout_ms=left_ms())) is None or position < end:
            for batch in consumer.poll(timeout_ms=min(1000, left_ms())).values():
                for message in batch:
                    yield message.key.decode("utf-8"), message.value
    finally:
        consumer.close()
