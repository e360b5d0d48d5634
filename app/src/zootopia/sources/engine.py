"""The built-in stream engine: what `preston track --seed URL | preston json-stream` does, in Python.

A seed is crawled into resources; each is downloaded into the content cache,
kept pinned while its rows are read, and streamed row by row, then closed by a
ResourceDone. A resource that cannot be downloaded or read becomes one
Malformed and the stream goes on with the next; its position is the resource's
own (`set_aside_position`), so a stream's progress covers it and a restarted
stream does not set it aside twice. A registry that cannot be read raises
crawl.CrawlError: the seed's stream is incomplete, and the caller decides when
to try again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import requests

from zootopia.config import Settings
from zootopia.records import WHOLE_RESOURCE, Malformed, Position, Record, ResourceDone, StreamItem
from zootopia.sources import crawl, readers
from zootopia.sources.cache import CacheError, ContentCache


@dataclass
class EngineStats:
    resources: int = 0
    failed_resources: int = 0
    records: int = 0
    malformed: int = 0
    bytes: int = 0
    # Resources finished earlier in the same crawl (a restart): not downloaded again.
    passed_over: int = 0


def builtin_stream(
    source_url: str,
    settings: Settings,
    cache: ContentCache,
    session: requests.Session,
    stats: EngineStats | None = None,
    pages: crawl.PageSizes | None = None,
    finished: Callable[[str], bool] | None = None,
) -> Iterator[StreamItem]:
    """Every row of every resource `source_url` names, resource after resource; a resource whose URL
    `finished` says this crawl already finished is passed over without being downloaded."""
    stats = stats if stats is not None else EngineStats()
    for resource in crawl.resolve(source_url, settings.services, session, pages):
        if finished is not None and finished(resource.url):
            stats.passed_over += 1
            continue
        yield from _resource_rows(resource, settings, cache, session, stats)


def _resource_rows(
    resource: crawl.Resource,
    settings: Settings,
    cache: ContentCache,
    session: requests.Session,
    stats: EngineStats,
) -> Iterator[StreamItem]:
    stats.resources += 1
    # The reason of a resource set aside names what listed it (e.g. its iDigBio recordset).
    named = f"{resource.kind} resource of {resource.origin}" if resource.origin else f"{resource.kind} resource"
    if resource.failure is not None:
        stats.failed_resources += 1
        yield Malformed(resource.url, f"{named}: {resource.failure}", set_aside_position(resource.url))
        return
    try:
        with cache.fetching(resource.url, session, settings.services.timeout_seconds) as cached:
            stats.bytes += cached.size
            if resource.kind == "dwca":
                rows = readers.read_dwca(cached.path, cached.sha256, cache.work_dir)
            else:
                rows = readers.read_idigbio_page(cached.path, cached.sha256)
            for item in rows:
                if isinstance(item, Record):
                    stats.records += 1
                else:
                    stats.malformed += 1
                yield item
            sha256 = cached.sha256
    except (CacheError, readers.ArchiveError) as error:
        stats.failed_resources += 1
        yield Malformed(resource.url, f"{named} unreadable: {error}", set_aside_position(resource.url))
        return
    yield ResourceDone(sha256, resource.url)


def set_aside_position(url: str) -> Position:
    """The position of a resource set aside whole: the sha256 of its URL (it has no content hash)."""
    return Position(hashlib.sha256(url.encode("utf-8")).hexdigest(), WHOLE_RESOURCE, 1)
