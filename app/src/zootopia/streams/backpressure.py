"""Backpressure: a stream waits while the consumer is too far behind, or its topic's disk too full.

The data topics keep records by bytes (retention.bytes per partition, a share of the brokers'
disks), and the streams keep two bounds with them, each checked between two transactions:

- No uncounted record may be the oldest when retention is reached. The consumer commits, to the
  group `zootopia-consumer`, the offsets its windows have counted; a stream compares them with the
  ends of its topic's partitions, and pauses when the records in between could fill more than
  `backpressure_share` of a partition's retention. It resumes once they fit in half of that. Their
  size is what a record of the topic takes on the brokers' disks (their partitions' bytes over their
  records), or before the topic holds any, what this stream sent times the producer's compression.
- No partition passes its disk budget (roles/kafka: its retention and two segments). A retention
  check, every few seconds on each broker, leaves a partition under its retention and one segment
  (Kafka deletes whole segments, oldest first, while the rest still holds the retention). A stream
  pauses while any replica holds more than that, as the brokers report it (DescribeLogDirs), and
  writes at most a quarter segment per partition in one transaction. Once it sees a replica shrink
  (a broker's check deleted segments), it waits until their files are gone (file.delete.delay.ms,
  and a margin for the broker's scheduler) before it writes again; so it does for a replica it did
  not see at its last look (its first look after a start, a broker that did not answer), which may
  have deleted files on disk that no figure shows. A partition then holds at most its retention, a
  segment, and two transactions of each stream writing to it (one past the bound, one before the
  stream saw the deletion): two streams on one topic stay within the budget.

Both bounds fail closed: a stream that cannot ask (a broker away, its metadata not known) waits as
paused and asks again, rather than write on past a consumer it cannot see.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.protocol.admin import DescribeLogDirsRequest

from zootopia.config import Settings
from zootopia.kafka_clients import COUNTED_GROUP, connection

log = logging.getLogger(__name__)

# How often a paused stream asks again (three small requests, about 10 ms).
POLL_SECONDS = 1.0
_REQUEST_TIMEOUT_MS = 30000
# A broker removes a deleted segment's files a little after file.delete.delay.ms (its scheduler's
# thread): within 60 ms on the idle local cluster, sampled every 0.2 s; more under load.
DELETED_FILES_MARGIN_SECONDS = 0.1
# Of a segment, what one transaction may write to a partition (see the module's docstring).
TRANSACTION_SEGMENT_SHARE = 0.25
# A transaction's records while neither the brokers nor this stream's own records tell their size.
UNKNOWN_TRANSACTION_RECORDS = 100


@dataclass(frozen=True)
class Lag:
    """Records written to the topic that no window has counted yet, in its most behind partition; the
    bytes of the topic's largest partition replica on any broker, and what a record takes there
    (0: not known, the topic holds none)."""

    records: int
    partition: int
    stored_bytes: int = 0
    record_bytes: float = 0.0


def uncounted(ends: dict[int, int], starts: dict[int, int], counted: dict[int, int | None]) -> Lag:
    """The most behind partition: the records between what the consumer counted (at least the log's
    start: retention may have deleted the rest) and the partition's end."""
    behind = [
        (end - min(end, max(starts.get(partition, 0), counted.get(partition) or 0)), partition)
        for partition, end in ends.items()
    ]
    records, partition = max(behind, default=(0, 0))
    return Lag(records, partition)


def _uncounted_bytes(lag: Lag, bytes_per_record: float) -> float:
    """The uncounted records' size: by the brokers' figures, or this stream's estimate before any."""
    return lag.records * (lag.record_bytes or bytes_per_record)


@dataclass(frozen=True)
class TopicBytes:
    """A topic's byte settings as the brokers have them (retention -1: none)."""

    retention: int
    segment: int
    delete_delay_ms: int = 60000


@dataclass(frozen=True)
class Bound:
    """When a stream pauses: bytes of uncounted records in one partition, bytes one replica stores."""

    pause_bytes: float
    stored_bytes: int
    transaction_bytes: float
    delete_delay_seconds: float

    @classmethod
    def of(cls, topic: TopicBytes, share: float) -> Bound | None:
        """None when there is nothing to bound: no byte retention, or backpressure switched off."""
        if topic.retention <= 0 or share <= 0:
            return None
        return cls(
            pause_bytes=topic.retention * share,
            stored_bytes=topic.retention + topic.segment,
            transaction_bytes=topic.segment * TRANSACTION_SEGMENT_SHARE,
            delete_delay_seconds=topic.delete_delay_ms / 1000 + DELETED_FILES_MARGIN_SECONDS,
        )

    def pauses(self, lag: Lag, bytes_per_record: float) -> bool:
        return _uncounted_bytes(lag, bytes_per_record) > self.pause_bytes or lag.stored_bytes > self.stored_bytes

    def resumes(self, lag: Lag, bytes_per_record: float) -> bool:
        return _uncounted_bytes(lag, bytes_per_record) <= self.pause_bytes / 2 and lag.stored_bytes <= self.stored_bytes

    def transaction_records(self, bytes_per_record: float, partitions: int) -> int:
        """Records one transaction may hold: its stream deals them evenly over the partitions."""
        return max(1, int(self.transaction_bytes * partitions / bytes_per_record))


class Backpressure:
    """The lag of one topic behind the consumer, its disk, and the wait while either is too large."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.topic = topic
        self.share = settings.kafka.backpressure_share
        self.partitions = 1
        # Bytes a record of the topic takes on a broker's disk, as last seen (0: not yet).
        self.record_bytes = 0.0
        self._replicas: dict[tuple[int, int], int] = {}
        self._deleted_at = -math.inf
        self._settings = settings
        self._consumer: KafkaConsumer | None = None
        self._admin: KafkaAdminClient | None = None
        self._bound: Bound | None = None
        self._bound_read = False

    def lag(self) -> Lag:
        """Raises when any of it is unknown: a partition without an end, a start or a replica's size."""
        consumer = self._client()
        partitions = [TopicPartition(self.topic, p) for p in sorted(consumer.partitions_for_topic(self.topic) or [])]
        if not partitions:
            # kafka-python answers an empty set when its metadata request failed: no lag to go on with.
            raise RuntimeError(f"no partitions of {self.topic} known")
        ends = {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
        starts = {tp.partition: offset for tp, offset in consumer.beginning_offsets(partitions).items()}
        counted = {tp.partition: consumer.committed(tp, timeout_ms=_REQUEST_TIMEOUT_MS) for tp in partitions}
        self.partitions = len(partitions)
        behind = uncounted(ends, starts, counted)
        replicas = replica_bytes(self._admin_client(), self.topic)
        self.note_replicas(replicas)
        sizes: dict[int, int] = {}
        for (_broker, partition), size in replicas.items():
            sizes[partition] = max(size, sizes.get(partition, 0))
        unknown = {tp.partition for tp in partitions} - (ends.keys() & starts.keys() & sizes.keys())
        if unknown:
            raise RuntimeError(f"{self.topic}: no end, start or size of partitions {sorted(unknown)}")
        held = sum(ends[p] - starts[p] for p in sizes)
        record_bytes = sum(sizes.values()) / held if held > 0 else 0.0
        self.record_bytes = record_bytes or self.record_bytes
        return Lag(behind.records, behind.partition, max(sizes.values()), record_bytes)

    def bound(self) -> Bound | None:
        """From the topic's retention.bytes and segment.bytes, asked of the brokers once."""
        if not self._bound_read:
            self._bound = Bound.of(self._topic_bytes(), self.share) if self.share > 0 else None
            self._bound_read = True
        return self._bound

    def transaction_records(self, bytes_per_record: float, most: int) -> int:
        """Records the next transaction may hold, at most `most`."""
        bound = self._bound
        record_bytes = self.record_bytes or bytes_per_record
        if self.share <= 0 or (self._bound_read and bound is None):
            return most
        if bound is None or record_bytes <= 0:
            # The brokers could not be asked, and this stream sent nothing yet: a small one, after which
            # the stream knows its records' size.
            return min(most, UNKNOWN_TRANSACTION_RECORDS)
        return min(most, bound.transaction_records(record_bytes, self.partitions))

    def hold(
        self,
        bytes_per_record: float,
        on_pause: Callable[[Lag | None], None],
        sleep: Callable[[float], None] = time.sleep,
    ) -> Lag | None:
        """Returns at once if the consumer is close enough behind and the disk below its bound; else calls
        `on_pause` once and waits until both are. Returns the lag seen last, or None when there is nothing
        to bound. When the brokers cannot be asked, the stream waits as paused (`on_pause(None)`) and asks
        again: a stream that went on blind could outrun the consumer until retention deleted records no
        window counted."""
        if self.share <= 0:
            return None
        bound, lag = self._look()
        if self._unbounded():
            return None
        if bound is not None and lag is not None and not bound.pauses(lag, bytes_per_record):
            self._await_deleted_files(bound, sleep)
            return lag
        if lag is not None:
            log.info(
                "%s: the consumer is %d records behind in partition %d, the largest replica holds %d bytes; pausing",
                self.topic,
                lag.records,
                lag.partition,
                lag.stored_bytes,
            )
        on_pause(lag)
        while bound is None or lag is None or not bound.resumes(lag, bytes_per_record):
            sleep(POLL_SECONDS)
            bound, lag = self._look()
            if self._unbounded():  # the first look failed; the topic turned out to have no byte retention
                return None
        log.info("%s: %d records behind, largest replica %d bytes; resuming", self.topic, lag.records, lag.stored_bytes)
        self._await_deleted_files(bound, sleep)
        return lag

    def _unbounded(self) -> bool:
        """The topic's settings were read and there is nothing to bound."""
        return self._bound_read and self._bound is None

    def _look(self) -> tuple[Bound | None, Lag | None]:
        """The bound and the lag; on an error (logged), the bound if known and no lag."""
        try:
            bound = self.bound()
            return bound, self.lag() if bound is not None else None
        except Exception as error:
            log.warning("%s: cannot ask how far behind the consumer is; waiting: %s", self.topic, error)
            self.close()
            return self._bound, None

    def note_replicas(self, replicas: dict[tuple[int, int], int]) -> None:
        """A replica smaller than at the last look: its broker's retention check deleted segments, whose
        files stay on that disk for the topic's file.delete.delay.ms. A replica the last look did not see
        may have just deleted some too: a stream that wrote at once could fill the partition again beside
        them (a gap that fits rehearsal 39's 1.43 MB against a 1.40 MB budget; not reproduced)."""
        if any(size < self._replicas.get(replica, math.inf) for replica, size in replicas.items()):
            self._deleted_at = time.monotonic()
        self._replicas = replicas

    def _await_deleted_files(self, bound: Bound, sleep: Callable[[float], None]) -> None:
        left = self._deleted_at + bound.delete_delay_seconds - time.monotonic()
        if left > 0:
            sleep(left)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def _client(self) -> KafkaConsumer:
        if self._consumer is None:
            # Never subscribes nor commits: it only reads the group's committed offsets.
            self._consumer = KafkaConsumer(
                **connection(self._settings),
                group_id=COUNTED_GROUP,
                enable_auto_commit=False,
                request_timeout_ms=_REQUEST_TIMEOUT_MS,
            )
        return self._consumer

    def _admin_client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = KafkaAdminClient(**connection(self._settings), request_timeout_ms=_REQUEST_TIMEOUT_MS)
        return self._admin

    def _topic_bytes(self) -> TopicBytes:
        return topic_bytes(self._settings, self.topic)


def topic_bytes(settings: Settings, topic: str) -> TopicBytes:
    """The topic's retention.bytes, segment.bytes and file.delete.delay.ms as the brokers have them."""
    admin = KafkaAdminClient(**connection(settings), request_timeout_ms=_REQUEST_TIMEOUT_MS)
    try:
        response = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])[0]
    finally:
        admin.close()
    values = {entry[0]: entry[1] for entry in response.resources[0][4]}
    return TopicBytes(
        int(values.get("retention.bytes") or -1),
        int(values.get("segment.bytes") or 0),
        int(values.get("file.delete.delay.ms") or 60000),
    )


def replica_bytes(admin: KafkaAdminClient, topic: str) -> dict[tuple[int, int], int]:
    """Bytes of each replica of the topic's partitions, by (broker, partition): the live segments, as
    the broker counts them for retention. Asks the brokers of the partitions' in-sync replicas (one
    that is away or catching up holds no more than the leader); one that cannot answer is passed
    over. Needs Describe on the cluster; without it a broker answers with no directories, which is
    an error here rather than an empty disk."""
    in_sync = {broker for p in admin.describe_topics([topic])[0]["partitions"] for broker in p["isr"]}
    replicas: dict[tuple[int, int], int] = {}
    for broker in sorted(in_sync):
        try:
            # No topic list: every partition the broker holds (kafka-python's request schema cannot name them).
            response = admin.send_request(DescribeLogDirsRequest[0](topics=None), node_id=broker)
        except Exception as error:
            log.warning("%s: broker %d cannot tell its partitions' sizes: %s", topic, broker, error)
            continue
        for error_code, _directory, topics in response.log_dirs:
            for name, partitions in topics if error_code == 0 else []:
                for partition, size, *_ in partitions if name == topic else []:
                    replicas[broker, partition] = size
    if not replicas:
        raise RuntimeError(f"no broker described the partitions of {topic} (Describe on the cluster?)")
    return replicas
