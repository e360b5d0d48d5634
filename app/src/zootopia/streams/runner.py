"""`zootopia stream run ID`: the process of one zootopia-stream@ID unit."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from zootopia.config import Settings
from zootopia.records import StreamItem, parse_stream_line
from zootopia.streams import producer, registry
from zootopia.streams.backpressure import Backpressure
from zootopia.streams.progress import Progress
from zootopia.streams.watchdog import Watchdog

log = logging.getLogger(__name__)


def engine_items(settings: Settings, source: registry.Source, progress: Progress) -> Iterator[StreamItem]:
    """The rows of a source from the configured engine; the built-in one passes over the resources
    `progress` says this crawl finished, without downloading them, and reads no row of content it sent."""
    if settings.engine == "preston":
        from zootopia.sources.preston import preston_stream

        return preston_stream(source.url, settings, Path(settings.preston.work_dir) / source.id)
    from zootopia.sources import egress
    from zootopia.sources.cache import ContentCache
    from zootopia.sources.engine import builtin_stream

    cache = ContentCache(Path(settings.cache.dir), settings.cache.max_bytes)
    # Every connection the stream makes (registry pages, archives, redirects) is checked (sources/egress.py).
    session = egress.session(settings.egress)
    return builtin_stream(
        source.url, settings, cache, session, finished=progress.finished_url, sent=progress.sent_whole
    )


def seconds_until_recrawl(settings: Settings, progress_done_at: str) -> float:
    done = datetime.fromisoformat(progress_done_at)
    return settings.recrawl_seconds - (datetime.now(timezone.utc) - done).total_seconds()


def run_source(settings: Settings, source_id: str) -> int:
    """Stream the source until exhausted, then again every recrawl interval."""
    source = _registered(settings, source_id)
    if source is None:
        return 0
    watchdog = Watchdog(settings.kafka.stall_seconds)
    pressure = Backpressure(settings, source.topic)
    client = producer.transactional_producer(settings, source)
    try:
        progress = producer.load_progress(settings, source)
        while True:
            if progress.state == "done":
                wait = seconds_until_recrawl(settings, progress.done_at)
                if wait > 0:
                    log.info("%s exhausted at %s; next crawl in %.0f s", source.url, progress.done_at, wait)
                    time.sleep(min(wait, 600))
                    if _registered(settings, source_id) is None:
                        return 0
                    continue
            producer.run(
                client, settings, source, engine_items(settings, source, progress), progress, watchdog, pressure
            )
    finally:
        pressure.close()
        client.close()


def _registered(settings: Settings, source_id: str) -> registry.Source | None:
    source = next((s for s in registry.sources(settings) if s.id == source_id), None)
    if source is None:
        log.warning("source %s is not registered (removed?): nothing to stream", source_id)
    return source


def produce_lines(settings: Settings, url: str, topic: str, lines: TextIO = sys.stdin) -> producer.Outcome:
    """Send json-stream lines (Preston's output format) read from `lines` as the stream of `url`."""
    source = registry.Source(
        id=registry.source_id(url),
        url=url,
        topic=topic,
        node="",
        seq=-1,
        added_at=datetime.now(timezone.utc).isoformat(),
    )
    pressure = Backpressure(settings, source.topic)
    client = producer.transactional_producer(settings, source)
    try:
        progress = producer.load_progress(settings, source)
        items = (parse_stream_line(line) for line in lines if line.strip())
        return producer.run(client, settings, source, items, progress, pressure=pressure)
    finally:
        pressure.close()
        client.close()
