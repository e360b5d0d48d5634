"""From a seed URL to the resources it names, by paging through the aggregator's registry.

https://gbif.org: every DWC_ARCHIVE endpoint of the GBIF dataset registry;
https://obis.org: every dataset archive of OBIS; https://idigbio.org: every
records page of every iDigBio recordset. Any other http(s) URL is itself a
Darwin Core Archive.

A registry page that cannot be read raises CrawlError: the crawl cannot go on.
A single recordset whose size cannot be read is no registry failure: it comes
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


def records_page_url(services: Services, recordset: str, limit: int, offset: int) -> str:
    query = urlencode({"rq": json.dumps({"recordset": recordset}), "limit": limit, "offset": offset})
    return f"{_base(services.idigbio)}/v2/search/records?{query}"


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
    seen: set[str] = set()
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
                if isinstance(archive, str) and archive and archive not in seen:
                    seen.add(archive)
                    yield Resource(archive, "dwca")
        if page.get("endOfRecords", True) or not results:
            return
        offset += len(results)


def _obis(services: Services, session: requests.Session, size: int) -> Iterator[Resource]:
    seen: set[str] = set()
    skip = 0
    while True:
        url = f"{_base(services.obis)}/v3/dataset?{urlencode({'skip': skip, 'size': size})}"
        page = _get_json(url, services, session)
        results = _list(page, "results", url)
        for dataset in results:
            archive = dataset.get("archive")
            if isinstance(archive, str) and archive.strip() and archive not in seen:
                seen.add(archive)
                yield Resource(archive, "dwca")
        skip += len(results)
        if not results or skip >= _int(page, "total", url):
            return


def _idigbio(services: Services, session: requests.Session, pages: PageSizes) -> Iterator[Resource]:
    offset = 0
    while True:
        query = urlencode({"limit": pages.idigbio_recordsets, "offset": offset})
        url = f"{_base(services.idigbio)}/v2/search/recordsets?{query}"
        page = _get_json(url, services, session)
        items = _list(page, "items", url)
        for recordset in items:
            uuid = recordset.get("uuid")
            if isinstance(uuid, str) and uuid:
                yield from _recordset_pages(uuid, services, session, pages.idigbio_records)
        offset += len(items)
        if not items or offset >= _int(page, "itemCount", url):
            return


def _recordset_pages(uuid: str, services: Services, session: requests.Session, size: int) -> Iterator[Resource]:
    # A one-record page is the cheapest way to learn how many records there are.
    probe = records_page_url(services, uuid, 1, 0)
    try:
        count = _int(_get_json(probe, services, session), "itemCount", probe)
    except CrawlError as error:
        yield Resource(probe, "idigbio-records", failure=f"size of recordset {uuid} unknown: {error}")
        return
    for offset in range(0, count, size):
        yield Resource(records_page_url(services, uuid, size, offset), "idigbio-records")


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
