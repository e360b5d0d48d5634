"""The offsets the consumer's windows have counted, committed to Kafka for the streams' backpressure.

Spark keeps its offsets in its checkpoint, not in Kafka. After each window the driver commits the
offsets the query's last progress ended at (the window document is written by then) to the group
`zootopia-consumer`, which the streams read (streams/backpressure.py). Nothing reads them back
here: the checkpoint stays the consumer's only position.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from zootopia.config import Settings
from zootopia.kafka_clients import COUNTED_GROUP, connection

LOG = logging.getLogger("zootopia.consumer")


def counted_offsets(progress: dict[str, Any] | None) -> dict[TopicPartition, int]:
    """The offsets every source of a query progress ended at: every record before them is in a window."""
    offsets: dict[TopicPartition, int] = {}
    for source in (progress or {}).get("sources") or []:
        end = source.get("endOffset")
        if isinstance(end, str):  # Spark gives an offset it cannot parse as JSON as a string
            end = json.loads(end)
        for topic, partitions in (end or {}).items():
            for partition, offset in partitions.items():
                offsets[TopicPartition(topic, int(partition))] = int(offset)
    return offsets


class CountedCommitter:
    """Commits counted offsets when they move; a failure is logged and the next window tries again."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: KafkaConsumer | None = None
        self._committed: dict[TopicPartition, int] = {}

    def commit(self, offsets: dict[TopicPartition, int]) -> bool:
        if not offsets or offsets == self._committed:
            return False
        try:
            if self._client is None:
                # Never subscribes: commits as no member of the group (generation -1), as Kafka allows.
                self._client = KafkaConsumer(
                    **connection(self._settings), group_id=COUNTED_GROUP, enable_auto_commit=False
                )
            self._client.commit(
                {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()}, timeout_ms=30000
            )
        except Exception as error:
            LOG.warning("cannot commit the counted offsets to %s: %s", COUNTED_GROUP, error)
            self.close()
            return False
        self._committed = dict(offsets)
        return True

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
