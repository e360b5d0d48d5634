"""`zootopia stream run ID`: the process of one zootopia-stream@ID unit."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from zootopia import registry, stream
from zootopia.config import Settings
from zootopia.records import StreamItem, parse_stream_line

log = logging.getLogger(__name__)


def engine_items(settings: Settings, source: registry.Source) -> Iterator[StreamItem]:
    """The rows of a source from the configured engine."""
    if settings.engine == "preston":
        from zootopia.preston import preston_stream

        return preston_stream(source.url, settings, Path(settings.preston.work_dir) / source.id)
    import requests

    from zootopia.cache import ContentCache
    from zootopia.engine import builtin_stream

    cache = ContentCache(Path(settings.cache.dir), settings.cache.max_bytes)
    return builtin_stream(source.url, settings, cache, requests.Session())


def seconds_until_recrawl(settings: Settings, progress_done_at: str) -> float:
    done = datetime.fromisoformat(progress_done_at)
    return settings.recrawl_seconds - (datetime.now(timezone.utc) - done).total_seconds()


def run_source(settings: Settings, source_id: str) -> int:
    """Stream the source until exhausted, then again every recrawl interval."""
    while True:
        source = next((s for s in registry.sources(settings) if s.id == source_id), None)
        if source is None:
            log.warning("source %s is not registered (removed?): nothing to stream", source_id)
            return 0
        progress = stream.load_progress(settings, source)
        if progress.state == "done":
            wait = seconds_until_recrawl(settings, progress.done_at)
            if wait > 0:
                log.info("%s exhausted at %s; next crawl in %.0f s", source.url, progress.done_at, wait)
                time.sleep(min(wait, 600))
                continue
        stream.run(settings, source, engine_items(settings, source), progress)


def produce_lines(settings: Settings, url: str, topic: str, lines: TextIO = sys.stdin) -> stream.Outcome:
    """Send json-stream lines (Preston's output format) read from `lines` as the stream of `url`."""
    source = registry.Source(
        id=registry.source_id(url),
        url=url,
        topic=topic,
        node="",
        seq=-1,
        added_at=datetime.now(timezone.utc).isoformat(),
    )
    progress = stream.load_progress(settings, source)
    items = (parse_stream_line(line) for line in lines if line.strip())
    return stream.run(settings, source, items, progress)
