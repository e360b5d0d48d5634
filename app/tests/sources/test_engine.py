"""The built-in engine end to end over HTTP: the three seeds against the mirror of the real data.

Expected counts are computed here from the recorded files, without the engine's readers.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from zootopia.config import Services, Settings
from zootopia.mirror import create_app
from zootopia.records import KINGDOM, SCIENTIFIC_NAME, Malformed, Record, ResourceDone, StreamItem
from zootopia.sources import crawl
from zootopia.sources.cache import ContentCache
from zootopia.sources.engine import EngineStats, builtin_stream, set_aside_position
from zootopia.streams.progress import Progress

# The mirror's iDigBio search answers no page past this many hits: small, so the crawl must split.
IDIGBIO_WINDOW = 5
# Every iDigBio search request the mirror was sent (path and query string).
SEARCHES: list[str] = []
CANONICAL = ("Animalia", "Plantae", "Fungi", "Chromista", "Bacteria", "Archaea", "Protozoa", "Viruses")


def kingdom(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    for name in CANONICAL:
        if text.lower() == name.lower():
            return name
    return text or "unspecified"


@pytest.fixture(scope="module")
def mirror(data_dir: Path) -> Iterator[str]:
    # The app needs its own URL, known only once the port is bound: bind first, plug the app in after.
    holder: dict[str, Any] = {}

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if "/v2/search/" in environ["PATH_INFO"]:
            SEARCHES.append(environ["PATH_INFO"] + "?" + environ.get("QUERY_STRING", ""))
        app: Any = holder["app"]
        result: Iterable[bytes] = app(environ, start_response)
        return result

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    base = f"http://127.0.0.1:{server.port}"
    holder["app"] = create_app(data_dir, base, idigbio_window=IDIGBIO_WINDOW)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()


@pytest.fixture
def settings(mirror: str, tmp_path: Path) -> Settings:
    services = Services(
        gbif=f"{mirror}/gbif",
        obis=f"{mirror}/obis",
        idigbio=f"{mirror}/idigbio",
        timeout_seconds=30,
        idigbio_search_window=IDIGBIO_WINDOW,
    )
    return replace(Settings(), services=services)


def run(seed: str, settings: Settings, tmp_path: Path, pages: crawl.PageSizes | None = None) -> list[StreamItem]:
    cache = ContentCache(tmp_path / "cache", 10**9)
    with requests.Session() as session:
        return list(builtin_stream(seed, settings, cache, session, EngineStats(), pages))


def records(items: list[StreamItem]) -> list[Record]:
    return [item for item in items if isinstance(item, Record)]


def test_gbif_seed_streams_every_archive(settings: Settings, data_dir: Path, tmp_path: Path) -> None:
    zips = sorted((data_dir / "gbif").glob("*.zip"))
    expected = 0
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            expected += archive.read("occurrence.txt").rstrip(b"\n").count(b"\n")  # lines minus the header
    assert expected == 7929 + 4956
    items = run("https://gbif.org/", settings, tmp_path, crawl.PageSizes(gbif=1))
    assert [item for item in items if isinstance(item, Malformed)] == []
    assert len(records(items)) == expected
    done = [item.resource for item in items if isinstance(item, ResourceDone)]
    assert done == [hashlib.sha256(path.read_bytes()).hexdigest() for path in zips]


def obis_records(data_dir: Path) -> dict[str, dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for name in ("occurrence-mola-mola-10000.json.gz", "occurrence-unfiltered-100.json"):
        raw = (data_dir / "obis" / name).read_bytes()
        page = json.loads(gzip.decompress(raw) if name.endswith(".gz") else raw)
        for record in page["results"]:
            if record.get("dataset_id"):
                by_id.setdefault(record["id"], record)
    return by_id


def test_obis_seed_streams_the_distinct_recorded_occurrences(
    settings: Settings, data_dir: Path, tmp_path: Path
) -> None:
    expected = obis_records(data_dir)
    items = run("https://obis.org", settings, tmp_path, crawl.PageSizes(obis=50))
    assert [item for item in items if isinstance(item, Malformed)] == []
    got = records(items)
    assert len(got) == len(expected) == 10100
    assert Counter(kingdom(r.fields.get(KINGDOM)) for r in got) == Counter(
        kingdom(r.get("kingdom")) for r in expected.values()
    )
    occurrence_ids = Counter(r.fields.get("http://rs.tdwg.org/dwc/terms/occurrenceID") or None for r in got)
    assert occurrence_ids == Counter(r.get("occurrenceID") or None for r in expected.values())
    datasets = {r["dataset_id"] for r in expected.values()}
    assert sum(isinstance(item, ResourceDone) for item in items) == len(datasets)


def idigbio_records(data_dir: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """Distinct record uuids that belong to a recordset, with the recordset and their raw Darwin Core."""
    sources: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    page = json.loads((data_dir / "idigbio/search-records-page.json").read_bytes())
    for item in page["items"]:
        sources.setdefault(item["uuid"], []).append((item["data"], item["indexTerms"]))
    for path in sorted((data_dir / "idigbio/search-api-es-snapshots").glob("*.json")):
        snapshot = json.loads(path.read_bytes()).get("response_snapshot") or {}
        for hit in (snapshot.get("hits") or {}).get("hits", []):
            if hit.get("_type") == "records":
                source = dict(hit["_source"])
                sources.setdefault(hit["_id"], []).append((source.pop("data", {}), source))
    found = {}
    for uuid, copies in sources.items():
        recordset = next((terms["recordset"] for _, terms in copies if terms.get("recordset")), None)
        if recordset is not None:
            found[uuid] = (recordset, next((data for data, _ in copies if data), {}))
    return found


def listed_recordsets(data_dir: Path, mirror: str) -> list[dict[str, Any]]:
    # Asked of a mirror with the real window: the test's own would refuse a page this large.
    listing = create_app(data_dir, mirror).test_client().get("/idigbio/v2/search/recordsets?limit=5000")
    return list(listing.get_json()["items"])


def test_idigbio_seed_streams_each_recordsets_archive(
    settings: Settings, mirror: str, data_dir: Path, tmp_path: Path
) -> None:
    expected = idigbio_records(data_dir)
    SEARCHES.clear()
    items = run("https://idigbio.org", settings, tmp_path, crawl.PageSizes(idigbio_recordsets=7, idigbio_records=3))
    got = records(items)
    assert len(got) == len(expected) == 179
    assert Counter(kingdom(r.fields.get(KINGDOM)) for r in got) == Counter(
        kingdom(data.get("dwc:kingdom")) for _, data in expected.values()
    )
    assert Counter((r.fields.get(SCIENTIFIC_NAME) or "").strip() for r in got) == Counter(
        (data.get("dwc:scientificName") or "").strip() for _, data in expected.values()
    )
    occurrence_ids = Counter(r.fields.get("http://rs.tdwg.org/dwc/terms/occurrenceID") or None for r in got)
    assert occurrence_ids == Counter(data.get("dwc:occurrenceID") or None for _, data in expected.values())
    # Every recordset with an archive link is read through it; the one without, through the search.
    per_recordset = Counter(recordset for recordset, _ in expected.values())
    listed = listed_recordsets(data_dir, mirror)
    searched = [rs["uuid"] for rs in listed if not rs["data"].get("link") and per_recordset[rs["uuid"]]]
    assert len(searched) == 1
    from_pages = [r for r in got if r.content_id.startswith("line:json:")]
    assert len(from_pages) == per_recordset[searched[0]] > IDIGBIO_WINDOW
    assert sum(r.content_id.startswith("line:zip:") for r in got) == len(got) - len(from_pages)
    # One archive per other recordset with records, and the searched one's pages (more than one).
    assert sum(isinstance(item, ResourceDone) for item in items) > len(per_recordset)
    # A recordset whose archive link is dead is set aside with the reason; the crawl goes on.
    registry = json.loads((data_dir / "idigbio/registry-recordsets-page.json").read_bytes())["items"]
    dead = {rs["uuid"] for rs in registry if rs["data"].get("link") and rs["uuid"] not in per_recordset}
    malformed = [item for item in items if isinstance(item, Malformed)]
    assert len(malformed) == len(dead) == 89
    for item in malformed:
        assert item.position == set_aside_position(item.raw)
        assert "404" in item.reason
        assert item.reason.startswith("dwca resource of iDigBio recordset ")
    assert {item.reason.split()[5] for item in malformed} == dead
    # No search asked past the window.
    assert SEARCHES
    for search in SEARCHES:
        params = dict(parse_qsl(search.split("?", 1)[1]))
        assert int(params["offset"]) + int(params["limit"]) <= IDIGBIO_WINDOW, search


def test_a_search_that_cannot_be_split_further_is_set_aside_with_its_count(tmp_path: Path) -> None:
    # A search server that counts more hits for one uuid than its window lets it page.
    recordset = "00000000-1111-2222-3333-444444444444"
    stuck = "abcdef01-2345-6789-abcd-ef0123456789"
    search = Flask(__name__)

    @search.get("/v2/search/recordsets")
    def recordsets() -> Response:
        return jsonify(itemCount=1, items=[{"uuid": recordset, "data": {}, "indexTerms": {}}])

    @search.get("/v2/search/records")
    def records() -> Response:
        rq = json.loads(request.args["rq"])
        prefix = rq.get("uuid", {}).get("value", "")
        return jsonify(itemCount=3 if stuck.startswith(prefix) else 0, items=[])

    server = make_server("127.0.0.1", 0, search, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        services = Services(idigbio=f"http://127.0.0.1:{server.port}", idigbio_search_window=2, timeout_seconds=5)
        with requests.Session() as session:
            resources = list(crawl.resolve("https://idigbio.org", services, session))
    finally:
        server.shutdown()
    assert len(resources) == 1
    assert resources[0].failure == (
        f"recordset {recordset}: 3 hits of uuid {stuck} cannot be paged within the search window of 2"
    )
    assert recordset in resources[0].origin


def test_the_search_window_is_checked() -> None:
    with pytest.raises(ValueError, match="idigbio_search_window must be an integer of at least 1, not 0"):
        Services(idigbio_search_window=0)


def test_a_direct_archive_url_and_a_missing_one(settings: Settings, mirror: str, tmp_path: Path) -> None:
    url = f"{mirror}/gbif/archives/nrm-herpetology-dwca-20180905.zip"
    items = run(url, settings, tmp_path)
    assert len(records(items)) == 4956
    assert isinstance(items[-1], ResourceDone)
    missing = run(f"{mirror}/gbif/archives/no-such.zip", settings, tmp_path)
    assert len(missing) == 1
    assert isinstance(missing[0], Malformed)
    assert missing[0].position == set_aside_position(f"{mirror}/gbif/archives/no-such.zip")
    assert "404" in missing[0].reason


def test_a_resource_that_is_no_archive_is_set_aside(settings: Settings, mirror: str, tmp_path: Path) -> None:
    items = run(f"{mirror}/gbif/v1/dataset?offset=0&limit=1", settings, tmp_path)
    assert len(items) == 1
    assert isinstance(items[0], Malformed)
    assert "neither a zip nor a tar file" in items[0].reason


def test_an_archive_larger_than_the_cache_is_read_in_place_and_the_next_one_through_the_cache(
    settings: Settings, data_dir: Path, tmp_path: Path
) -> None:
    big = data_dir / "gbif/gbif-download-0013147-250515123054153.zip"
    small = data_dir / "gbif/nrm-herpetology-dwca-20180905.zip"
    cache = ContentCache(tmp_path / "cache", big.stat().st_size - 1)
    stats = EngineStats()
    with requests.Session() as session:
        items = list(builtin_stream("https://gbif.org", settings, cache, session, stats))
    assert [item for item in items if isinstance(item, Malformed)] == []
    assert len(records(items)) == 7929 + 4956
    assert (stats.resources, stats.failed_resources, stats.in_place, stats.records) == (2, 0, 1, 7929 + 4956)
    # The small one went through the cache (its identity is its sha256); the big one never did.
    assert [path.name for path in cache.path_of("00").parent.parent.glob("??/*")] == [
        hashlib.sha256(small.read_bytes()).hexdigest()
    ]
    assert cache.usage() <= cache.max_bytes
    assert list(cache.work_dir.iterdir()) == []


def test_a_restart_passes_over_the_urls_its_crawl_finished_without_downloading_them(
    settings: Settings, tmp_path: Path
) -> None:
    # A stream killed after GBIF's first archive: its progress has that URL finished in this crawl.
    first = run("https://gbif.org", settings, tmp_path / "first")
    done = [item for item in first if isinstance(item, ResourceDone)]
    assert len(done) == 2
    assert all(item.url.startswith(settings.services.gbif) for item in done)
    progress = Progress("s1")
    progress.complete(done[0].resource)
    assert progress.finish_url(done[0].url)
    cache = ContentCache(tmp_path / "again", 10**9)
    stats = EngineStats()
    with requests.Session() as session:
        again = list(
            builtin_stream("https://gbif.org", settings, cache, session, stats, finished=progress.finished_url)
        )
    # Only the second archive is downloaded and read: the first is neither fetched nor re-read row by row.
    assert (stats.passed_over, stats.resources) == (1, 1)
    assert [item.resource for item in again if isinstance(item, ResourceDone)] == [done[1].resource]
    assert len(records(again)) == len(records(first)) - sum(
        1 for item in records(first) if item.position.resource == done[0].resource
    )
    # A recrawl looks at every URL again.
    progress.next_crawl()
    assert not progress.finished_url(done[0].url)


def test_an_unreachable_registry_is_a_crawl_error(tmp_path: Path) -> None:
    services = Services(gbif="http://127.0.0.1:9/gbif", timeout_seconds=5)
    with requests.Session() as session, pytest.raises(crawl.CrawlError, match="registry request"):
        list(crawl.resolve("https://www.gbif.org/", services, session))
