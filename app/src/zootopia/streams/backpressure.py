"""Backpressure: a stream waits while the consumer is too far behind in its topic.

The data topics keep records by bytes (retention.bytes per partition, a share of the brokers'
disks): a record the consumer has not counted yet must never be the oldest when that bound is
reached. The consumer commits, to the group `zootopia-consumer`, the offsets its windows have
counted; a stream compares them with the ends of its topic's partitions, and pauses when the
records in between could fill more than `backpressure_share` of a partition's retention. It
resumes once they fit in half of that.

The uncounted records' size is estimated from what this stream sent: their mean size times the
producer's compression rate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from zootopia.config import Settings
from zootopia.kafka_clients import COUNTED_GROUP, connection

log = logging.getLogger(__name__)

# How often a paused stream asks again (two small requests, about 7 ms).
POLL_SECONDS = 1.0
_REQUEST_TIMEOUT_MS = 30000


@dataclass(frozen=True)
class Lag:
    """Records written to the topic that no window has counted yet, in its most behind partition."""

    records: int
    partition: int


def uncounted(ends: dict[int, int], starts: dict[int, int], counted: dict[int, int | None]) -> Lag:
    """The most behind partition: the records between what the consumer counted (at least the log's
    start: retention may have deleted the rest) and the partition's end."""
    behind = [
        (end - min(end, max(starts.get(partition, 0), counted.get(partition) or 0)), partition)
        for partition, end in ends.items()
    ]
    records, partition = max(behind, default=(0, 0))
    return Lag(records, partition)


@dataclass(frozen=True)
class Bound:
    """Bytes of uncounted records one partition may hold before its stream pauses."""

    pause_bytes: float

    @classmethod
    def of(cls, retention_bytes: int, share: float) -> Bound | None:
        """None when there is nothing to bound: no byte retention, or backpressure switched off."""
        if retention_bytes <= 0 or share <= 0:
            return None
        return cls(retention_bytes * share)

    def pauses(self, lag: Lag, bytes_per_record: float) -> bool:
        return lag.records * bytes_per_record > self.pause_bytes

    def resumes(self, lag: Lag, bytes_per_record: float) -> bool:
        return lag.records * bytes_per_record <= self.pause_bytes / 2


class Backpressure:
    """The lag of one topic behind the consumer, and the wait while it is too large."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.topic = topic
        self.share = settings.kafka.backpressure_share
        self._settings = settings
        self._consumer: KafkaConsumer | None = None
        self._bound: Bound | None = None
        self._bound_read = False

    def lag(self) -> Lag:
        consumer = self._client()
        partitions = [TopicPartition(self.topic, p) for p in sorted(consumer.partitions_for_topic(self.topic) or [])]
        ends = {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
        starts = {tp.partition: offset for tp, offset in consumer.beginning_offsets(partitions).items()}
        counted = {tp.partition: consumer.committed(tp, timeout_ms=_REQUEST_TIMEOUT_MS) for tp in partitions}
        return uncounted(ends, starts, counted)

    def bound(self) -> Bound | None:
        """The topic's retention.bytes times the share, asked of the brokers once."""
        if not self._bound_read:
            self._bound = Bound.of(self._retention_bytes(), self.share) if self.share > 0 else None
            self._bound_read = True
        return self._bound

    def hold(
        self,
        bytes_per_record: float,
        on_pause: Callable[[Lag], None],
        sleep: Callable[[float], None] = time.sleep,
    ) -> Lag | None:
        """Returns at once if the consumer is close enough behind; else calls `on_pause` once and waits
        until it has caught up. Returns the lag seen last, or None when it could not be asked: then the
        stream goes on (a broker that cannot answer this cannot take records either), while a paused
        stream keeps waiting and asks again."""
        try:
            bound = self.bound()
            if bound is None or bytes_per_record <= 0:
                return None
            lag = self.lag()
        except Exception as error:
            log.warning("%s: cannot ask how far behind the consumer is: %s", self.topic, error)
            self.close()
            return None
        if not bound.pauses(lag, bytes_per_record):
            return lag
        log.info(
            "%s: the consumer is %d records behind in partition %d; pausing", self.topic, lag.records, lag.partition
        )
        on_pause(lag)
        while not bound.resumes(lag, bytes_per_record):
            sleep(POLL_SECONDS)
            try:
                lag = self.lag()
            except Exception as error:
                log.warning("%s: paused, cannot ask how far behind the consumer is: %s", self.topic, error)
                self.close()
        log.info("%s: the consumer caught up to %d records behind; resuming", self.topic, lag.records)
        return lag

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

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

    def _retention_bytes(self) -> int:
        return retention_bytes(self._settings, self.topic)


def retention_bytes(settings: Settings, topic: str) -> int:
    """The topic's retention.bytes as the brokers have it (-1: none)."""
    admin = KafkaAdminClient(**connection(settings), request_timeout_ms=_REQUEST_TIMEOUT_MS)
    try:
        response = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])[0]
    finally:
        admin.close()
    values = {entry[0]: entry[1] for entry in response.resources[0][4]}
    return int(values.get("retention.bytes") or -1)
