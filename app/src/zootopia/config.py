"""Settings shared by every Zootopia process, read from one JSON file.

Ansible renders the file from a dict (roles/zootopia); its path is
$ZOOTOPIA_CONFIG, or /etc/zootopia/zootopia.json.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Union
from urllib.parse import urlsplit

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

DEFAULT_PATH = Path("/etc/zootopia/zootopia.json")

# PLAINTEXT: the brokers of a development cluster; SASL_SSL: TLS plus a SCRAM login per process.
SECURITY_PROTOCOLS = ("PLAINTEXT", "SASL_SSL")
# The SASL mechanisms whose login module spark_options writes (ScramLoginModule).
SASL_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")

# The seeds Preston knows, and the topic each one streams to.
SEED_TOPICS = {
    "https://gbif.org": "gbif",
    "https://obis.org": "obis",
    "https://idigbio.org": "idigbio",
}


@dataclass(frozen=True)
class Services:
    """Base URLs of the aggregators' APIs (production: the real ones; tests: the mirror)."""

    gbif: str = "https://api.gbif.org"
    obis: str = "https://api.obis.org"
    idigbio: str = "https://search.idigbio.org"
    timeout_seconds: float = 60.0
    # iDigBio's search answers no page past this many hits (Elasticsearch's result window): the
    # crawl splits larger queries so that no request asks past it.
    idigbio_search_window: int = 10000

    def __post_init__(self) -> None:
        _check_count("services.idigbio_search_window", self.idigbio_search_window)


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: list[str] = field(default_factory=lambda: ["localhost:9092"])
    # Host suffix of a source URL -> topic; seeds and their API hosts are matched here.
    topic_rules: dict[str, str] = field(
        default_factory=lambda: {"gbif.org": "gbif", "obis.org": "obis", "idigbio.org": "idigbio"}
    )
    data_topics: list[str] = field(default_factory=lambda: ["gbif", "obis", "idigbio"])
    reject_topic: str = "zootopia.rejects"
    sources_topic: str = "zootopia.sources"
    progress_topic: str = "zootopia.progress"
    # One record per resource a source finished (key "<source id>:<resource hash>"), beside its progress.
    finished_topic: str = "zootopia.finished"
    # The consumer's warm-up writes sample records here and reads them back (consumer/warmup.py).
    warm_up_topic: str = "zootopia.warm-up"
    # Records per Kafka transaction: the unit of progress a restart resumes from.
    transaction_records: int = 2000
    # A stream whose transaction commit takes longer exits and is restarted by systemd.
    stall_seconds: float = 120.0
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    # PEM bundle the brokers' certificates are checked against (required with SASL_SSL).
    ca_file: str = ""
    # Principal -> file holding its password: the file names secrets, it never holds them.
    password_files: dict[str, str] = field(default_factory=dict)
    # Who this process logs in as: chosen by the entry point (config.load), never by the file,
    # so that no process can be configured into another's privileges.
    principal: str = ""
    # The brokers' Kafka version ("3.1"): clients speak its protocol versions without first
    # probing a broker for them (a probe that gives up under load while a broker restarts).
    # Empty: probe.
    api_version: str = ""
    # Share of a data-topic partition's retention.bytes that records the consumer has not counted yet
    # may fill before the streams writing there pause (streams/backpressure.py); 0: never pause.
    backpressure_share: float = 0.5

    def __post_init__(self) -> None:
        share = self.backpressure_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
            raise ValueError(f"kafka.backpressure_share must be a number from 0 to below 1, not {share!r}")
        if self.api_version and not re.fullmatch(r"[0-9]+\.[0-9]+(\.[0-9]+)?", self.api_version):
            raise ValueError(f"kafka.api_version must be a version such as 3.1, not {self.api_version!r}")
        if self.security_protocol not in SECURITY_PROTOCOLS:
            allowed = " or ".join(SECURITY_PROTOCOLS)
            raise ValueError(f"kafka.security_protocol must be {allowed}, not {self.security_protocol!r}")
        if self.security_protocol == "SASL_SSL":
            if self.sasl_mechanism not in SASL_MECHANISMS:
                allowed = " or ".join(SASL_MECHANISMS)
                raise ValueError(f"kafka.sasl_mechanism must be {allowed}, not {self.sasl_mechanism!r}")
            if not self.ca_file:
                raise ValueError("kafka.ca_file is required with SASL_SSL: the brokers' certificates must be checked")


@dataclass(frozen=True)
class CacheSettings:
    dir: str = "/var/lib/zootopia/cache"
    max_bytes: int = 2 * 1024**3


@dataclass(frozen=True)
class LimitSettings:
    """Bounds on third-party input, each far above the real data's largest (docs/architecture.md): what
    passes one is set aside as a reject naming it, never sent, read whole or expanded."""

    # meta.xml is read whole (and parsed, entities refused): the largest real one is 33.6 KB.
    meta_xml_bytes: int = 1024**2
    # One physical line of a core file: the largest real row is 11.2 KB.
    line_bytes: int = 1024**2
    # One field of a row: the largest real one is 9,030 characters.
    field_chars: int = 128 * 1024
    # One record as sent to Kafka (JSON): the largest real one is about 12.4 KB; the brokers take 1 MiB.
    record_bytes: int = 256 * 1024
    # A core file's uncompressed size over its compressed size: real ones are 8 to 10.
    compression_ratio: int = 200

    def __post_init__(self) -> None:
        for item in fields(self):
            _check_count(f"limits.{item.name}", getattr(self, item.name))


@dataclass(frozen=True)
class EgressSettings:
    """Where a stream may connect besides public addresses, and the public ones it never may."""

    # Addresses, networks or address:port pairs a stream may reach though not public (a local mirror).
    allowed: list[str] = field(default_factory=list)
    # Public addresses a stream never connects to: the cluster's own.
    refused: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for entry in [*self.allowed, *self.refused]:
            parse_endpoint(entry)


def parse_endpoint(entry: str) -> tuple[IPNetwork, int | None]:
    """An address, a network (CIDR) or an address and port (`10.0.0.5:8088`, `[fd00::5]:8088`)."""
    text, port = str(entry).strip(), None
    try:
        if text.startswith("["):
            text, _, rest = text[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else None
        elif text.count(":") == 1:
            text, _, number = text.partition(":")
            port = int(number)
        return ipaddress.ip_network(text, strict=False), port
    except ValueError:
        raise ValueError(f"egress: {entry!r} is not an address, a network or an address:port") from None


@dataclass(frozen=True)
class PrestonSettings:
    jar: str = "/opt/zootopia/preston/preston.jar"
    java: str = "java"
    work_dir: str = "/var/lib/zootopia/preston"
    # The seed's clean-cache step: keep only the newest archives.
    keep_archives: int = 2


@dataclass(frozen=True)
class HdfsSettings:
    url: str = "http://localhost:9870"
    user: str = "zootopia"
    root: str = "/zootopia"


@dataclass(frozen=True)
class ConsumerSettings:
    trigger_seconds: int = 120
    max_offsets_per_trigger: int = 0  # 0: no limit
    # Every this many windows the species pairs of earlier windows are merged into one set (species.py):
    # a window reads one set and at most this many small partitions, however many windows came before.
    species_compaction_windows: int = 30
    # Window documents older than the last window go into one file per this many windows (a day of
    # 2-minute windows): the results root holds windows / this many packs and fewer single files than this.
    documents_per_pack: int = 720
    spark_master: str = "spark://localhost:7077"
    spark_home: str = "/opt/zootopia/spark"
    # Passed as --conf to spark-submit (executor memory, cores, ...).
    spark_conf: dict[str, str] = field(default_factory=dict)
    # Where Spark's client defaults are (spark-defaults.conf).
    spark_conf_dir: str = "/etc/spark"
    # A file holding the cluster's spark.authenticate.secret ($VARS expanded); "" when the
    # cluster does not authenticate.
    auth_secret_file: str = ""

    def __post_init__(self) -> None:
        _check_count("consumer.species_compaction_windows", self.species_compaction_windows)
        _check_count("consumer.documents_per_pack", self.documents_per_pack)


@dataclass(frozen=True)
class ApiSettings:
    """The HTTP API on the master (zootopia api serve)."""

    # /addSource starts streams for these URLs only: the API never fetches anything else.
    allowed_sources: list[str] = field(default_factory=lambda: list(SEED_TOPICS))
    # A file holding the bearer token every request must carry; "" for none.
    token_file: str = ""
    # How often the API looks for new window documents on HDFS.
    refresh_seconds: float = 5.0
    # The last windows each API worker keeps in memory (12 hours of 2-minute windows); older ones are
    # read from HDFS when asked for, so a worker's memory does not grow with the number of windows.
    recent_windows: int = 360
    # The Spark master's web UI (its JSON status feeds /health).
    spark_ui: str = "http://localhost:8080"
    # Each component check of /health gives up after this long.
    health_timeout_seconds: float = 3.0

    def __post_init__(self) -> None:
        _check_count("api.recent_windows", self.recent_windows)


@dataclass(frozen=True)
class Settings:
    # Stream nodes in round-robin order: the n-th source added runs on nodes[n % len(nodes)].
    nodes: list[str] = field(default_factory=lambda: ["localhost"])
    engine: str = "builtin"
    # An exhausted stream crawls its source again after this long, sending only new rows.
    recrawl_seconds: int = 86400
    services: Services = field(default_factory=Services)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    egress: EgressSettings = field(default_factory=EgressSettings)
    preston: PrestonSettings = field(default_factory=PrestonSettings)
    hdfs: HdfsSettings = field(default_factory=HdfsSettings)
    consumer: ConsumerSettings = field(default_factory=ConsumerSettings)
    api: ApiSettings = field(default_factory=ApiSettings)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        sections: dict[str, type[Any]] = {
            "services": Services,
            "kafka": KafkaSettings,
            "cache": CacheSettings,
            "limits": LimitSettings,
            "egress": EgressSettings,
            "preston": PrestonSettings,
            "hdfs": HdfsSettings,
            "consumer": ConsumerSettings,
            "api": ApiSettings,
        }
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            section = sections.get(key)
            if section is None:
                values[key] = value
                continue
            if key == "kafka" and "principal" in value:
                raise ValueError("kafka.principal is chosen by the program, not the settings file")
            extra = set(value) - {f.name for f in fields(section)}
            if extra:
                raise ValueError(f"unknown settings in {key}: {', '.join(sorted(extra))}")
            values[key] = section(**value)
        if values.get("engine", "builtin") not in ("builtin", "preston"):
            raise ValueError(f"engine must be builtin or preston, not {values['engine']!r}")
        return cls(**values)


def load(path: Path | None = None, principal: str = "") -> Settings:
    """Settings from `path`, $ZOOTOPIA_CONFIG or the default file (defaults if none exists), for a
    process that logs in to Kafka as `principal` (see kafka_clients: API, STREAMS, CONSUMER)."""
    if path is None:
        path = Path(os.environ.get("ZOOTOPIA_CONFIG", DEFAULT_PATH))
    settings = Settings.from_dict(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else Settings()
    return replace(settings, kafka=replace(settings.kafka, principal=principal))


def topic_for(source_url: str, settings: Settings) -> str | None:
    """The topic a source streams to by the configured host rules, or None."""
    host = (urlsplit(source_url).hostname or "").lower()
    for suffix, topic in settings.kafka.topic_rules.items():
        if host == suffix or host.endswith("." + suffix):
            return topic
    return None


def _check_count(name: str, value: object) -> None:
    """A setting that counts something: a whole number of at least 1 (JSON's true is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer of at least 1, not {value!r}")
