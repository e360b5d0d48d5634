"""The built-in stream engine: what `preston track --seed URL | preston json-stream` does, in Python.

A seed is crawled into resources; each is downloaded into the content cache,
kept pinned while its rows are read, and streamed row by row, then closed by a
ResourceDone. A zip larger than the whole cache is read in place instead, by
range requests (ranged.py): the disk a stream uses stays within the cache's
bound whatever the archive's size. A resource that cannot be downloaded or read becomes one
Malformed and the stream goes on with the next; its position is the resource's
own (`set_aside_position`), so a stream's progress covers it and a restarted
stream does not set it aside twice. A registry that cannot be read raises
crawl.CrawlError: the seed's stream is incomplete, and the caller decides when
to try again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import requests

from zootopia.config import Settings
from zootopia.records import WHOLE_RESOURCE, Malformed, Position, Record, ResourceDone, StreamItem
from zootopia.sources import crawl, readers, sequential
from zootopia.sources.cache import CacheError, CacheFull, ContentCache
from zootopia.sources.ranged import RangedFile, RangeUnsupported

# Reads of an archive in place are buffered so: zipfile's many small header reads cost no request each.
_IN_PLACE_BUFFER = 256 * 1024


@dataclass
class EngineStats:
    resources: int = 0
    failed_resources: int = 0
    records: int = 0
    malformed: int = 0
    bytes: int = 0
    # Resources finished earlier in the same crawl (a restart): not downloaded again.
    passed_over: int = 0
    # Archives larger than the cache, read in place by range requests.
    in_place: int = 0
    # Archives larger than the cache read as they download (no range requests, or not a zip).
    sequential: int = 0


def builtin_stream(
    source_url: str,
    settings: Settings,
    cache: ContentCache,
    session: requests.Session,
    stats: EngineStats | None = None,
    pages: crawl.PageSizes | None = None,
    finished: Callable[[str], bool] | None = None,
    sent: Callable[[str], bool] | None = None,
) -> Iterator[StreamItem]:
    """Every row of every resource `source_url` names, resource after resource; a resource whose URL
    `finished` says this crawl already finished is passed over without being downloaded, and one whose
    content `sent` says was sent whole is closed without reading its rows."""
    stats = stats if stats is not None else EngineStats()
    for resource in crawl.resolve(source_url, settings.services, session, pages):
        if finished is not None and finished(resource.url):
            stats.passed_over += 1
            continue
        yield from _resource_rows(resource, settings, cache, session, stats, sent)


def _resource_rows(
    resource: crawl.Resource,
    settings: Settings,
    cache: ContentCache,
    session: requests.Session,
    stats: EngineStats,
    sent: Callable[[str], bool] | None,
) -> Iterator[StreamItem]:
    stats.resources += 1
    # The reason of a resource set aside names what listed it (e.g. its iDigBio recordset).
    named = f"{resource.kind} resource of {resource.origin}" if resource.origin else f"{resource.kind} resource"
    if resource.failure is not None:
        stats.failed_resources += 1
        yield Malformed(resource.url, f"{named}: {resource.failure}", set_aside_position(resource.url))
        return
    try:
        with contextlib.ExitStack() as stack:
            identity, rows = _open(resource, settings, cache, session, stats, stack)
            if sent is not None and sent(identity):
                # Content a previous crawl sent whole: no row to read again (a recrawl of unchanged data).
                yield ResourceDone(identity, resource.url)
                return
            for item in rows:
                if isinstance(item, Record):
                    stats.records += 1
                else:
                    stats.malformed += 1
                yield item
    except (CacheError, readers.ArchiveError) as error:
        stats.failed_resources += 1
        yield Malformed(resource.url, f"{named} unreadable: {error}", set_aside_position(resource.url))
        return
    yield ResourceDone(identity, resource.url)


def _open(
    resource: crawl.Resource,
    settings: Settings,
    cache: ContentCache,
    session: requests.Session,
    stats: EngineStats,
    stack: contextlib.ExitStack,
) -> tuple[str, Iterator[readers.Row]]:
    """The resource's identity and its rows: from the cache (identity: the content's sha256), or, for
    an archive larger than the cache, read in place by range requests (identity: its listing's)."""
    timeout = settings.services.timeout_seconds
    try:
        cached = stack.enter_context(cache.fetching(resource.url, session, timeout))
    except CacheFull:
        if resource.kind != "dwca":
            raise
        try:
            ranged = stack.enter_context(RangedFile(resource.url, session, timeout))
            archive, identity = readers.open_zip_in_place(io.BufferedReader(ranged, _IN_PLACE_BUFFER))
        except (RangeUnsupported, readers.NotAZip):
            # No ranges, or a tar.gz: read as it downloads, twice (sources/sequential.py).
            stats.sequential += 1
            return sequential.open_archive(resource.url, session, timeout, settings.limits)
        stats.in_place += 1
        stats.bytes += ranged.size
        stack.enter_context(archive)
        ranged.stop_at([info.header_offset for info in archive.infolist()] + [archive.start_dir])
        return identity, readers.zip_rows(archive, identity, resource.url, settings.limits)
    stats.bytes += cached.size
    if resource.kind == "dwca":
        return cached.sha256, readers.read_dwca(cached.path, cached.sha256, cache.work_dir, settings.limits)
    return cached.sha256, readers.read_idigbio_page(cached.path, cached.sha256)


def set_aside_position(url: str) -> Position:
    """The position of a resource set aside whole: the sha256 of its URL (it has no content hash)."""
    return Position(hashlib.sha256(url.encode("utf-8")).hexdigest(), WHOLE_RESOURCE, 1)
