"""From a seed URL to the resources it names, by paging through the aggregator's registry.

https://gbif.org: every DWC_ARCHIVE endpoint of the GBIF dataset registry;
https://obis.org: every dataset archive of OBIS; https://idigbio.org: every
recordset's published archive (`data.link`), as Preston tracks it, and for a
recordset without one, its records search split so that no request asks past
the search's result window. Any other http(s) URL is itself a Darwin Core Archive.

A registry page that cannot be read raises CrawlError: the crawl cannot go on.
A single recordset that cannot be read whole is no registry failure: it comes
out as a Resource with `failure` set, for the caller to count and pass over.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import requests

from zootopia.config import Services
from zootopia.hashset import HashPrefixSet, digest

ResourceKind = Literal["dwca", "idigbio-records"]


@dataclass(frozen=True)
class PageSizes:
    """How many entries each registry request asks for (the APIs cap them: GBIF 1000, iDigBio 5000)."""

    gbif: int = 100
    obis: int = 100
    idigbio_recordsets: int = 100
    idigbio_records: int = 1000


class CrawlError(Exception):
    """A registry could not be read: the seed's crawl stops here."""


@dataclass(frozen=True)
class Resource:
    url: str
    kind: ResourceKind
    # Why the resource cannot be read, when the crawl already knows it cannot.
    failure: str | None = None
    # What named it, for the reason of a resource set aside (e.g. "iDigBio recordset <uuid>").
    origin: str = ""


def resolve(
    source_url: str, services: Services, session: requests.Session, pages: PageSizes | None = None
) -> Iterator[Resource]:
    """The resources `source_url` names, in registry order, each once."""
    seed = _seed_name(source_url)
    pages = pages or PageSizes()
    if seed == "gbif.org":
        yield from _gbif(services, session, pages.gbif)
    elif seed == "obis.org":
        yield from _obis(services, session, pages.obis)
    elif seed == "idigbio.org":
        yield from _idigbio(services, session, pages)
    else:
        yield Resource(source_url, "dwca")


def _seed_name(source_url: str) -> str | None:
    """The aggregator a seed URL names (scheme, www. and trailing slash tolerated), else None."""
    parts = urlsplit(source_url.strip())
    if parts.scheme not in ("http", "https"):
        raise CrawlError(f"not an http(s) URL: {source_url!r}")
    host = (parts.hostname or "").lower()
    host = host[4:] if host.startswith("www.") else host
    if parts.path.strip("/") or parts.query or host not in ("gbif.org", "obis.org", "idigbio.org"):
        return None
    return host


def _gbif(services: Services, session: requests.Session, size: int) -> Iterator[Resource]:
    seen = HashPrefixSet()  # 8 bytes an archive, where a set of URLs takes ~150
    offset = 0
    while True:
        url = f"{_base(services.gbif)}/v1/dataset?{urlencode({'offset': offset, 'limit': size})}"
        page = _get_json(url, services, session)
        results = _list(page, "results", url)
        for dataset in results:
            for endpoint in dataset.get("endpoints") or []:
                if not isinstance(endpoint, dict) or endpoint.get("type") != "DWC_ARCHIVE":
                    continue
                archive = endpoint.get("url")
                if isinstance(archive, str) and archive and seen.add(digest(archive)):
                    yield Resource(archive, "dwca")
        if page.get("endOfRecords", True) or not results:
            return
        offset += len(results)


def _obis(services: Services, session: requests.Session, size: int) -> Iterator[Resource]:
    seen = HashPrefixSet()
    skip = 0
    while True:
        url = f"{_base(services.obis)}/v3/dataset?{urlencode({'skip': skip, 'size': size})}"
        page = _get_json(url, services, session)
        results = _list(page, "results", url)
        for dataset in results:
            archive = dataset.get("archive")
            if isinstance(archive, str) and archive.strip() and seen.add(digest(archive)):
                yield Resource(archive, "dwca")
        skip += len(results)
        if not results or skip >= _int(page, "total", url):
            return


def _idigbio(services: Services, session: requests.Session, pages: PageSizes) -> Iterator[Resource]:
    listing = f"{_base(services.idigbio)}/v2/search/recordsets"
    for page in _windowed(listing, {}, services, session, pages.idigbio_recordsets, "the recordsets"):
        if isinstance(page, _Unreachable):
            raise CrawlError(page.reason)
        url = _search_url(listing, *page)
        for recordset in _list(_get_json(url, services, session), "items", url):
            uuid = recordset.get("uuid")
            if not isinstance(uuid, str) or not uuid:
                continue
            link = archive_link(recordset)
            if link is not None:
                yield Resource(link, "dwca", origin=f"iDigBio recordset {uuid}")
            else:
                yield from _recordset_search(uuid, services, session, pages.idigbio_records)


def archive_link(recordset: dict[str, Any]) -> str | None:
    """The recordset's published Darwin Core Archive: `data.link`, else `indexTerms.archivelink`."""
    for section, key in (("data", "link"), ("indexTerms", "archivelink")):
        fields = recordset.get(section)
        value = fields.get(key) if isinstance(fields, dict) else None
        if isinstance(value, str) and urlsplit(value.strip()).scheme in ("http", "https"):
            return value.strip()
    return None


def _recordset_search(uuid: str, services: Services, session: requests.Session, size: int) -> Iterator[Resource]:
    records = f"{_base(services.idigbio)}/v2/search/records"
    origin = f"iDigBio recordset {uuid} (no archive link: records search)"
    try:
        for page in _windowed(records, {"recordset": uuid}, services, session, size, f"recordset {uuid}"):
            if isinstance(page, _Unreachable):
                yield Resource(page.probe, "idigbio-records", failure=page.reason, origin=origin)
            else:
                yield Resource(_search_url(records, *page), "idigbio-records", origin=origin)
    except CrawlError as error:
        yield Resource(
            records, "idigbio-records", failure=f"recordset {uuid} cannot be searched: {error}", origin=origin
        )


@dataclass(frozen=True)
class _Unreachable:
    """Hits of one uuid that the search cannot page within its window (only a server that
    counts more hits than it holds can say so): they are set aside with this reason."""

    reason: str
    probe: str


# (rq, limit, offset) of one search page.
_Page = tuple[dict[str, Any], int, int]


# A uuid is 8-4-4-4-12 lowercase hex digits: a prefix is refined one digit at a time.
_HEX = "0123456789abcdef"
_UUID_HYPHENS = (8, 13, 18, 23)
_UUID_LENGTH = 36


def _windowed(
    endpoint: str, query: dict[str, Any], services: Services, session: requests.Session, size: int, what: str
) -> Iterator[_Page | _Unreachable]:
    """(rq, limit, offset) of pages that together hold every hit of `query`, none past the result window.

    A query with more hits than the window is split by uuid prefix (a query type the
    search documents), recursively, until each part fits; its pages are then asked
    by offset, the last one shortened so that offset + limit never passes the window.
    """
    window = services.idigbio_search_window
    step = max(1, min(size, window))

    def count(rq: dict[str, Any]) -> int:
        # A one-hit page is the cheapest way to learn how many hits there are.
        probe = _search_url(endpoint, rq, 1, 0)
        return _int(_get_json(probe, services, session), "itemCount", probe)

    def parts(prefix: str) -> Iterator[_Page | _Unreachable]:
        rq = {**query, "uuid": {"type": "prefix", "value": prefix}} if prefix else query
        hits = count(rq)
        if hits <= window:
            for offset in range(0, hits, step):
                yield rq, min(step, window - offset), offset
            return
        if len(prefix) >= _UUID_LENGTH:
            reason = f"{what}: {hits} hits of uuid {prefix} cannot be paged within the search window of {window}"
            yield _Unreachable(reason, _search_url(endpoint, rq, 1, 0))
            return
        children = [prefix + "-"] if len(prefix) in _UUID_HYPHENS else [prefix + digit for digit in _HEX]
        for child in children:
            yield from parts(child)

    return parts("")


def _search_url(endpoint: str, rq: dict[str, Any], limit: int, offset: int) -> str:
    params: dict[str, Any] = {"rq": json.dumps(rq, sort_keys=True)} if rq else {}
    return f"{endpoint}?{urlencode({**params, 'limit': limit, 'offset': offset})}"


def _base(url: str) -> str:
    return url.rstrip("/")


def _get_json(url: str, services: Services, session: requests.Session) -> dict[str, Any]:
    try:
        response = session.get(url, timeout=services.timeout_seconds)
        response.raise_for_status()
        body = response.json()
    except requests.RequestException as error:
        raise CrawlError(f"registry request {url} failed: {error}") from error
    except ValueError as error:
        raise CrawlError(f"registry response of {url} is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise CrawlError(f"registry response of {url} is not a JSON object")
    return body


def _list(page: dict[str, Any], key: str, url: str) -> list[dict[str, Any]]:
    value = page.get(key)
    if not isinstance(value, list):
        raise CrawlError(f"registry response of {url} has no {key!r} list")
    return [item for item in value if isinstance(item, dict)]


def _int(page: dict[str, Any], key: str, url: str) -> int:
    value = page.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CrawlError(f"registry response of {url} has no integer {key!r}")
    return value
