"""One source's stream: engine rows -> Kafka, exactly once, resumable.

Records go to the source's topic (key = source URL), rows that cannot be
records to the reject topic, and every few thousand rows the progress is
written and everything committed in one Kafka transaction. A crash aborts the
open transaction (readers use read_committed), and the restart resumes from
the last committed progress.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from kafka import KafkaProducer

from zootopia.config import Settings
from zootopia.kafka_clients import producer, read_compacted, scan_compacted
from zootopia.records import REJECT_RAW_CHARS, WHOLE_RESOURCE, Malformed, Record, ResourceDone, StreamItem
from zootopia.streams.backpressure import Backpressure, Lag
from zootopia.streams.progress import Progress, mark_done, short, url_key
from zootopia.streams.registry import Source
from zootopia.streams.watchdog import Watchdog

log = logging.getLogger(__name__)

# A transaction is committed after this many seconds even when few rows came.
_COMMIT_SECONDS = 5.0
# Reading every finished resource of every source (GBIF's 52,000 archives are a few MB of records).
FINISHED_READ_SECONDS = 120.0


@dataclass
class Outcome:
    sent: int = 0
    rejected: int = 0
    skipped: int = 0
    seconds: float = 0.0
    # Bytes of the records sent (keys and values, before compression).
    bytes: int = 0
    pauses: int = 0


def load_progress(settings: Settings, source: Source) -> Progress:
    """The last committed progress. Open the source's producer first: its init_transactions waits until
    the previous instance's transaction is completed, so that progress is visible here."""
    value = read_compacted(settings, settings.kafka.progress_topic).get(source.id)
    progress = Progress.from_json(value) if value is not None else Progress(source.id)
    # Its finished resources, one record each: scanned, never all held as Python objects. A URL's
    # record names the crawl that finished it: only the current crawl's are passed over.
    prefix, url_prefix = f"{source.id}:", f"{source.id}:{_URL}"
    for key, body in scan_compacted(settings, settings.kafka.finished_topic, FINISHED_READ_SECONDS):
        if key.startswith(url_prefix):
            if body is not None and json.loads(body).get("crawl") == progress.crawl:
                progress.finished_urls.add(key[len(url_prefix) :])
        elif key.startswith(prefix):
            progress.finished.add(key[len(prefix) :])
    progress.resources = len(progress.finished)
    log.info(
        "%s: %d finished resources, %d URLs finished in crawl %d (%d bytes)",
        source.url,
        progress.resources,
        len(progress.finished_urls),
        progress.crawl,
        progress.finished.memory_bytes() + progress.finished_urls.memory_bytes(),
    )
    return progress


class Spread:
    """Deals a stream's records over its topic's partitions in turn, whatever their key (the source's URL).

    With idempotence kafka-python has one request in flight per broker: records keyed to one partition
    wait a round trip (acks from every in-sync replica) per batch, on one leader. Spread, each round trip
    carries a batch to every partition's leader. Nothing reads a source in order: the consumer counts
    by key, and a transaction covers every partition it wrote to. A partition whose leader is away is
    passed over until it is back.
    """

    def __init__(self) -> None:
        self._turn = itertools.count()

    def __call__(self, key: bytes | None, partitions: list[int], available: list[int]) -> int:
        candidates = available or partitions
        return candidates[next(self._turn) % len(candidates)]


def transactional_producer(settings: Settings, source: Source) -> KafkaProducer:
    # One transactional id per source: a new instance fences off any zombie of the old one.
    client = producer(
        settings,
        transactional_id=f"zootopia-stream-{source.id}",
        transaction_timeout_ms=120000,
        partitioner=Spread(),
    )
    client.init_transactions()
    return client


def run(
    client: KafkaProducer,
    settings: Settings,
    source: Source,
    items: Iterable[StreamItem],
    progress: Progress,
    watchdog: Watchdog | None = None,
    pressure: Backpressure | None = None,
) -> Outcome:
    """Send every row `items` yields that `progress` does not cover, updating `progress`; returns what was done.
    With `pressure`, after each commit the stream waits while the consumer is too far behind."""
    guard = watchdog or Watchdog(settings.kafka.stall_seconds)
    outcome = Outcome()
    started = time.monotonic()
    key = source.url.encode("utf-8")
    pending = 0
    limit = settings.kafka.transaction_records
    last_commit = time.monotonic()
    if progress.state == "done":
        progress.next_crawl()
    progress.state = "streaming"
    if pressure is not None:
        # Before the first transaction too: a restarted stream must not write one past the disk bound.
        limit = _hold(client, settings, progress, outcome, pressure, guard)
    client.begin_transaction()
    try:
        for resource in progress.take_legacy():
            _finished(client, settings, source, progress, resource)
        for item in items:
            if isinstance(item, Record):
                if progress.covers(item.position):
                    outcome.skipped += 1
                    continue
                value = item.to_json()
                if len(value) <= settings.limits.record_bytes:
                    client.send(source.topic, key=key, value=value)
                    outcome.bytes += len(key) + len(value)
                    progress.advance(item.position)
                    progress.records += 1
                    outcome.sent += 1
                    pending += 1
                else:
                    item = oversized(item, value, settings.limits.record_bytes)
            if isinstance(item, Malformed):
                if item.position is not None and progress.covers(item.position):
                    outcome.skipped += 1
                    continue
                client.send(settings.kafka.reject_topic, key=key, value=_reject(source, item))
                if item.position is not None and item.position.member == WHOLE_RESOURCE:
                    # Set aside whole (`raw` is its URL): finished, so that the open lines do not grow with them.
                    _finished(client, settings, source, progress, item.position.resource, item.raw)
                elif item.position is not None:
                    progress.advance(item.position)
                progress.rejects += 1
                outcome.rejected += 1
                pending += 1
            elif isinstance(item, ResourceDone):
                _finished(client, settings, source, progress, item.resource, item.url)
            if pending >= limit or time.monotonic() - last_commit > _COMMIT_SECONDS:
                with guard.guard():
                    _commit(client, settings, progress)
                if pressure is not None:
                    limit = _hold(client, settings, progress, outcome, pressure, guard)
                client.begin_transaction()
                pending = 0
                last_commit = time.monotonic()
        mark_done(progress)
        with guard.guard():
            _commit(client, settings, progress)
    except BaseException:
        with guard.guard():
            client.abort_transaction()
        raise
    outcome.seconds = time.monotonic() - started
    log.info(
        "%s: %d sent, %d rejected, %d skipped in %.1f s",
        source.url,
        outcome.sent,
        outcome.rejected,
        outcome.skipped,
        outcome.seconds,
    )
    return outcome


def _hold(
    client: KafkaProducer,
    settings: Settings,
    progress: Progress,
    outcome: Outcome,
    pressure: Backpressure,
    guard: Watchdog,
) -> int:
    """Between transactions: wait while the consumer is too far behind or the topic's disk too full, the
    pause in the progress. Returns how many records the next transaction may hold."""
    most = settings.kafka.transaction_records

    def paused(lag: Lag | None) -> None:
        progress.state = "paused"
        progress.pauses += 1
        progress.lag_records = lag.records if lag is not None else progress.lag_records
        outcome.pauses += 1
        client.begin_transaction()
        with guard.guard():
            _commit(client, settings, progress)

    # Before this stream sent anything, only the brokers' figures count (Lag.record_bytes).
    bytes_per_record = outcome.bytes / outcome.sent * _compression_rate(client) if outcome.sent else 0.0
    lag = pressure.hold(bytes_per_record, paused)
    progress.state = "streaming"
    if lag is not None:
        progress.lag_records = lag.records
    return pressure.transaction_records(bytes_per_record, most)


def _compression_rate(client: KafkaProducer) -> float:
    """Compressed over uncompressed bytes of the producer's recent batches (1 when it has none)."""
    value = client.metrics().get("producer-metrics", {}).get("compression-rate-avg")
    return float(value) if isinstance(value, (int, float)) and 0 < value <= 1 else 1.0


# Key infix of a finished URL's record ("<source id>:url:<hash>"); a content's is "<source id>:<hash>".
_URL = "url:"


def _finished(
    client: KafkaProducer, settings: Settings, source: Source, progress: Progress, resource: str, url: str = ""
) -> None:
    """A finished resource: its records (its content's, and its URL's in this crawl), in the transaction of
    the rows it covers, for those not written already."""
    body = json.dumps({"crawl": progress.crawl, "at": datetime.now(timezone.utc).isoformat()}).encode()
    if progress.complete(resource):
        client.send(settings.kafka.finished_topic, key=f"{source.id}:{short(resource)}".encode(), value=body)
    if url and progress.finish_url(url):
        client.send(settings.kafka.finished_topic, key=f"{source.id}:{_URL}{url_key(url)}".encode(), value=body)


def _commit(client: KafkaProducer, settings: Settings, progress: Progress) -> None:
    client.send(settings.kafka.progress_topic, key=progress.source_id.encode("utf-8"), value=progress.to_json())
    client.commit_transaction()


def oversized(record: Record, value: bytes, bound: int) -> Malformed:
    """A record larger than the bound, as the reject that takes its place (with the start of its JSON)."""
    reason = f"a record of {len(value)} bytes, over limits.record_bytes ({bound})"
    return Malformed(value[:REJECT_RAW_CHARS].decode("utf-8", errors="replace"), reason, record.position)


def _reject(source: Source, item: Malformed) -> bytes:
    where = None if item.position is None else item.position.__dict__
    # The raw text's start only: a reject stays under the brokers' message size whatever was set aside.
    body = {"source": source.url, "reason": item.reason, "raw": item.raw[:REJECT_RAW_CHARS], "position": where}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
