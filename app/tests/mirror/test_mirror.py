"""The mirror serves the recorded real data along the real API paths: checked against the files themselves.

Expected values are computed here from the data files, independently of the mirror's own loaders.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dwca.read import DwCAReader
from flask import Flask
from flask.testing import FlaskClient

from zootopia.mirror import create_app
from zootopia.mirror.dwca import build
from zootopia.records import DWC, KINGDOM, OCCURRENCE, SCIENTIFIC_NAME

BASE = "http://mirror.test:8088"
CANONICAL_KINGDOMS = ("Animalia", "Plantae", "Fungi", "Chromista", "Bacteria", "Archaea", "Protozoa", "Viruses")
OBIS_PAGES = ("occurrence-mola-mola-10000.json.gz", "occurrence-unfiltered-100.json")


def kingdom_of(value: object) -> str:
    """The brief's counting rule: canonical spelling when it matches one, 'unspecified' when empty."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return "unspecified"
    for name in CANONICAL_KINGDOMS:
        if text.lower() == name.lower():
            return name
    return text


@pytest.fixture(scope="module")
def app(data_dir: Path) -> Flask:
    return create_app(data_dir, BASE + "/")


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def get_json(client: FlaskClient, path: str, **params: object) -> dict[str, Any]:
    response = client.get(path, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def obis_page(data_dir: Path, name: str) -> list[dict[str, Any]]:
    raw = (data_dir / "obis" / name).read_bytes()
    body = json.loads(gzip.decompress(raw) if name.endswith(".gz") else raw)
    results: list[dict[str, Any]] = body["results"]
    return results


@pytest.fixture(scope="module")
def obis_records(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The recorded OBIS occurrences, distinct by id."""
    records: dict[str, dict[str, Any]] = {}
    for name in OBIS_PAGES:
        for record in obis_page(data_dir, name):
            records.setdefault(record["id"], record)
    return records


def local_path(url: str) -> str:
    assert url.startswith(BASE + "/"), url
    return url[len(BASE) :]


# GBIF


def test_gbif_pages_list_every_archive_once_then_end(client: FlaskClient, data_dir: Path) -> None:
    listed: list[str] = []
    for offset in range(2):
        page = get_json(client, "/gbif/v1/dataset", offset=offset, limit=1)
        assert (page["offset"], page["limit"], page["count"]) == (offset, 1, 2)
        assert page["endOfRecords"] is (offset == 1)
        (dataset,) = page["results"]
        assert dataset["type"] == "OCCURRENCE"
        listed.extend(endpoint["url"] for endpoint in dataset["endpoints"] if endpoint["type"] == "DWC_ARCHIVE")
    names = sorted(path.name for path in (data_dir / "gbif").glob("*.zip"))
    assert listed == [f"{BASE}/gbif/archives/{name}" for name in names]
    assert get_json(client, "/gbif/v1/dataset", offset=2)["results"] == []


def test_gbif_page_size_defaults_to_20_and_is_capped_at_1000(client: FlaskClient) -> None:
    first = get_json(client, "/gbif/v1/dataset")
    assert (first["limit"], first["endOfRecords"], len(first["results"])) == (20, True, 2)
    assert get_json(client, "/gbif/v1/dataset", limit=5000)["limit"] == 1000
    keys = [dataset["key"] for dataset in first["results"]]
    assert keys == [dataset["key"] for dataset in get_json(client, "/gbif/v1/dataset")["results"]]


def test_gbif_archive_is_the_recorded_file(client: FlaskClient, data_dir: Path) -> None:
    for dataset in get_json(client, "/gbif/v1/dataset")["results"]:
        url = dataset["endpoints"][0]["url"]
        response = client.get(local_path(url))
        assert response.status_code == 200
        assert response.mimetype == "application/zip"
        assert response.get_data() == (data_dir / "gbif" / url.rsplit("/", 1)[1]).read_bytes()
        response.close()


# OBIS


def obis_datasets(client: FlaskClient) -> list[dict[str, Any]]:
    """Every listed dataset, walking the listing 100 at a time."""
    found: list[dict[str, Any]] = []
    while True:
        page = get_json(client, "/obis/v3/dataset", skip=len(found), size=100)
        found.extend(page["results"])
        if not page["results"]:
            assert page["total"] == len(found)
            return found


def test_obis_listing_covers_every_dataset_once(client: FlaskClient, obis_records: dict[str, dict[str, Any]]) -> None:
    datasets = obis_datasets(client)
    expected = sorted({record["dataset_id"] for record in obis_records.values()})
    assert [dataset["id"] for dataset in datasets] == expected
    assert len(expected) == 249
    for dataset in datasets:
        assert dataset["archive"] == f"{BASE}/obis/archives/{dataset['id']}.zip"
    names = {record["dataset_id"]: record.get("datasetName") for record in obis_records.values()}
    titled = [dataset for dataset in datasets if names[dataset["id"]]]
    assert titled
    assert all(dataset["title"] == names[dataset["id"]] for dataset in titled)
    assert len(get_json(client, "/obis/v3/dataset")["results"]) == len(expected)


def archive_rows(client: FlaskClient, url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    response = client.get(local_path(url))
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    path = tmp_path / url.rsplit("/", 1)[1]
    path.write_bytes(response.get_data())
    with DwCAReader(str(path)) as archive:
        assert archive.descriptor is not None
        assert archive.descriptor.core.type == OCCURRENCE
        for row in archive:
            yield row.id, row.data


def test_obis_archives_hold_every_record_once(
    client: FlaskClient, obis_records: dict[str, dict[str, Any]], data_dir: Path, tmp_path: Path
) -> None:
    ids: Counter[str] = Counter()
    kingdoms: Counter[str] = Counter()
    species: set[str] = set()
    for dataset in obis_datasets(client):
        for record_id, data in archive_rows(client, dataset["archive"], tmp_path):
            ids[record_id] += 1
            assert obis_records[record_id]["dataset_id"] == dataset["id"]
            kingdoms[kingdom_of(data.get(KINGDOM))] += 1
            if data.get(SCIENTIFIC_NAME, "").strip():
                species.add(data[SCIENTIFIC_NAME].strip())
    assert set(ids) == set(obis_records)
    assert set(ids.values()) == {1}
    assert sum(ids.values()) == len(obis_records) == 10100
    assert kingdoms == Counter(kingdom_of(record.get("kingdom")) for record in obis_records.values())
    assert species == {record["scientificName"].strip() for record in obis_records.values()}
    # The counting rule above reproduces the data README's figures for the unfiltered page.
    unfiltered = Counter(kingdom_of(record.get("kingdom")) for record in obis_page(data_dir, OBIS_PAGES[1]))
    assert unfiltered == {
        "Animalia": 71,
        "Chromista": 11,
        "Bacteria": 9,
        "Archaea": 5,
        "Biota incertae sedis": 3,
        "Protozoa": 1,
    }


def test_obis_archive_columns_are_darwin_core_terms_with_json_scalars(
    client: FlaskClient, obis_records: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    record = obis_records["00000002-3cef-4bc1-8540-2c20b4798855"]
    ((record_id, data),) = archive_rows(client, f"{BASE}/obis/archives/{record['dataset_id']}.zip", tmp_path)
    assert record_id == record["id"]
    assert all(term.startswith(DWC) for term in data)
    assert data[DWC + "decimalLatitude"] == "35.472387"
    assert data[DWC + "coordinateUncertaintyInMeters"] == "500"
    assert data[KINGDOM] == "Chromista"
    # OBIS's own fields (and the DwC-less `species`, `flags`, `depth`) are left out.
    for field in ("aphiaID", "sst", "flags", "dataset_id", "node_id", "species", "depth", "marine"):
        assert field in record
        assert DWC + field not in data


def test_obis_archives_are_byte_identical_across_builds(
    client: FlaskClient, data_dir: Path, obis_records: dict[str, dict[str, Any]]
) -> None:
    again = create_app(data_dir, BASE).test_client()
    for dataset in obis_datasets(client):
        path = local_path(dataset["archive"])
        assert client.get(path).get_data() == again.get(path).get_data()
    records = list(obis_records.values())[:500]
    assert build(records) == build(list(reversed(records)))


# iDigBio


def idigbio_expected(data_dir: Path) -> tuple[set[str], Counter[str]]:
    """Distinct record uuids a recordset query can reach, and their index kingdoms."""
    copies: list[tuple[str, dict[str, Any]]] = []
    for path in sorted((data_dir / "idigbio" / "search-api-es-snapshots").glob("search-*.json")):
        hits = json.loads(path.read_bytes())["response_snapshot"].get("hits", {}).get("hits", [])
        copies.extend((hit["_id"], hit["_source"]) for hit in hits if hit["_type"] == "records")
    page = json.loads((data_dir / "idigbio" / "search-records-page.json").read_bytes())
    copies.extend((item["uuid"], item["indexTerms"]) for item in page["items"])
    reachable = {uuid for uuid, terms in copies if terms.get("recordset")}
    kingdoms = {uuid: terms["kingdom"] for uuid, terms in copies if terms.get("kingdom")}
    return reachable, Counter(kingdoms.values())


def idigbio_registry(data_dir: Path) -> dict[str, dict[str, Any]]:
    registry = json.loads((data_dir / "idigbio" / "registry-recordsets-page.json").read_bytes())
    return {item["uuid"]: item for item in registry["items"]}


def all_recordsets(client: FlaskClient) -> list[dict[str, Any]]:
    recordsets: list[dict[str, Any]] = []
    while True:
        page = get_json(client, "/idigbio/v2/search/recordsets", limit=10, offset=len(recordsets))
        recordsets.extend(page["items"])
        if not page["items"]:
            assert page["itemCount"] == len(recordsets)
            return recordsets


def search_all(client: FlaskClient, recordset: str) -> list[dict[str, Any]]:
    query = json.dumps({"recordset": recordset})
    items: list[dict[str, Any]] = []
    while True:
        page = get_json(client, "/idigbio/v2/search/records/", rq=query, limit=7, offset=len(items))
        items.extend(page["items"])
        if not page["items"]:
            assert page["itemCount"] == len(items)
            return items


def test_idigbio_recordsets_and_records_cover_every_record_once(client: FlaskClient, data_dir: Path) -> None:
    recordsets = all_recordsets(client)
    seen: Counter[str] = Counter()
    index_kingdoms: Counter[str] = Counter()
    with_records = 0
    for recordset in recordsets:
        assert recordset["type"] == "recordsets"
        items = search_all(client, recordset["uuid"])
        with_records += bool(items)
        assert [item["uuid"] for item in items] == sorted(item["uuid"] for item in items)
        for item in items:
            assert (item["type"], item["indexTerms"]["recordset"]) == ("records", recordset["uuid"])
            assert item["etag"]
            assert any(key.startswith("dwc:") for key in item["data"])
            seen[item["uuid"]] += 1
            if item["indexTerms"].get("kingdom"):
                index_kingdoms[item["indexTerms"]["kingdom"]] += 1
    reachable, kingdoms = idigbio_expected(data_dir)
    assert set(seen) == reachable
    assert set(seen.values()) == {1}
    assert len(seen) == 179
    assert with_records == 49
    # Every recordset of the recorded registry page, and one for each other recordset of the records.
    registry = idigbio_registry(data_dir)
    assert {item["uuid"] for item in recordsets} >= set(registry)
    assert len(recordsets) == len(registry) + 45 == 145
    # The data README: 159 distinct records carry a kingdom, animalia 90, plantae 68, fungi 1.
    assert index_kingdoms == kingdoms == {"animalia": 90, "plantae": 68, "fungi": 1}


def test_idigbio_recorded_recordsets_are_served_as_recorded_with_links_into_the_mirror(
    client: FlaskClient, data_dir: Path
) -> None:
    recorded = idigbio_registry(data_dir)
    served = get_json(client, "/idigbio/v2/search/recordsets", limit=5000)["items"]
    real = [item for item in served if item["uuid"] in recorded]
    assert len(real) == 100
    for item in real:
        original = recorded[item["uuid"]]
        link = original["data"].get("link")
        if link is None:
            assert item == original
            continue
        host_path = link.split("://", 1)[1]
        assert item["data"]["link"] == f"{BASE}/idigbio/links/{host_path}"
        assert (
            item["indexTerms"]["archivelink"]
            == f"{BASE}/idigbio/links/{original['indexTerms']['archivelink'].split('://', 1)[1]}"
        )
        for section in ("data", "indexTerms"):
            assert {k: v for k, v in item[section].items() if k not in ("link", "archivelink")} == {
                k: v for k, v in original[section].items() if k not in ("link", "archivelink")
            }


def idigbio_archive_rows(body: bytes) -> list[dict[str, str]]:
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "archive.zip"
        path.write_bytes(body)
        with DwCAReader(str(path)) as archive:
            return [dict(row.data, id=row.id) for row in archive]


def test_idigbio_each_archive_holds_its_recordsets_records_and_dead_links_are_404(
    client: FlaskClient, data_dir: Path
) -> None:
    recorded = idigbio_registry(data_dir)
    without_link = []
    dead = 0
    largest = 0
    for recordset in all_recordsets(client):
        items = search_all(client, recordset["uuid"])
        largest = max(largest, len(items))
        link = recordset["data"].get("link")
        if link is None:
            without_link.append((recordset["uuid"], len(items)))
            continue
        response = client.get(local_path(link))
        # The lowercased archivelink names the same archive.
        assert client.get(local_path(recordset["indexTerms"]["archivelink"])).status_code == response.status_code
        if not items:
            assert response.status_code == 404
            assert "no record of its recordset" in response.get_json()["error"]
            dead += 1
            continue
        assert response.status_code == 200
        rows = idigbio_archive_rows(response.get_data())
        assert [row["id"] for row in rows] == [item["uuid"] for item in items]
        for row, item in zip(rows, items):
            assert row.get(KINGDOM, "") == item["data"].get("dwc:kingdom", "")
            assert row.get(SCIENTIFIC_NAME, "") == item["data"].get("dwc:scientificName", "")
    assert dead == sum(1 for item in recorded.values() if item["data"].get("link")) - 4
    # The recorded page's seven recordsets without a link (no record of them here), and the
    # mirror's own recordset with the most records, read through the records search.
    assert sorted(n for _, n in without_link) == [0] * 7 + [largest]
    assert sum(1 for uuid, _ in without_link if uuid in recorded) == 7


def test_idigbio_searches_split_by_uuid_prefix(client: FlaskClient) -> None:
    recordset = max(all_recordsets(client), key=lambda rs: len(search_all(client, rs["uuid"])))
    items = search_all(client, recordset["uuid"])
    parts: list[str] = []
    for digit in "0123456789abcdef":
        rq = json.dumps({"recordset": recordset["uuid"], "uuid": {"type": "prefix", "value": digit}})
        page = get_json(client, "/idigbio/v2/search/records", rq=rq, limit=100)
        assert page["itemCount"] == len(page["items"])
        assert all(item["uuid"].startswith(digit) for item in page["items"])
        parts.extend(item["uuid"] for item in page["items"])
    assert parts == [item["uuid"] for item in items]
    listed = get_json(
        client, "/idigbio/v2/search/recordsets", rq=json.dumps({"uuid": {"type": "prefix", "value": "0"}})
    )
    assert listed["items"]
    assert all(item["uuid"].startswith("0") for item in listed["items"])


def test_idigbio_search_refuses_pages_past_its_window(data_dir: Path) -> None:
    client = create_app(data_dir, BASE, idigbio_window=10).test_client()
    rq = json.dumps({"recordset": "09b18522-5643-478f-86e9-d2e34440d43e"})
    assert client.get("/idigbio/v2/search/records", query_string={"rq": rq, "limit": 5, "offset": 5}).status_code == 200
    for path, params in (
        ("/idigbio/v2/search/records", {"rq": rq, "limit": 5, "offset": 6}),
        ("/idigbio/v2/search/records", {"rq": rq, "limit": 11}),
        ("/idigbio/v2/search/recordsets", {"limit": 1, "offset": 10}),
    ):
        response = client.get(path, query_string=params)
        assert response.status_code == 400
        assert "Result window is too large" in response.get_json()["error"]
        assert "[10]" in response.get_json()["error"]


def test_idigbio_default_page_holds_a_whole_recordset_and_unknown_ones_are_empty(client: FlaskClient) -> None:
    page = get_json(client, "/idigbio/v2/search/recordsets", limit=1)
    assert (page["itemCount"], len(page["items"])) == (145, 1)
    big = max(
        get_json(client, "/idigbio/v2/search/recordsets", limit=200)["items"],
        key=lambda rs: get_json(client, "/idigbio/v2/search/records", rq=json.dumps({"recordset": rs["uuid"]}))[
            "itemCount"
        ],
    )
    records = get_json(client, "/idigbio/v2/search/records", rq=json.dumps({"recordset": big["uuid"]}))
    assert len(records["items"]) == min(records["itemCount"], 100)
    unknown = json.dumps({"recordset": "00000000-0000-0000-0000-000000000000"})
    assert get_json(client, "/idigbio/v2/search/records", rq=unknown) == {"itemCount": 0, "items": []}


# Errors


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/gbif/v1/dataset?limit=ten", 400),
        ("/gbif/v1/dataset?offset=-1", 400),
        ("/obis/v3/dataset?size=1.5", 400),
        ("/obis/v3/dataset?skip=-3", 400),
        ("/idigbio/v2/search/recordsets?limit=x", 400),
        ("/idigbio/v2/search/records?limit=10", 400),
        ("/idigbio/v2/search/records?rq=not-json", 400),
        ('/idigbio/v2/search/records?rq={"scientificname":"puma concolor"}', 400),
        ('/idigbio/v2/search/records?rq={"recordset":42}', 400),
        ('/idigbio/v2/search/records?rq=["recordset"]', 400),
        ('/idigbio/v2/search/recordsets?rq={"name":"x"}', 400),
        ('/idigbio/v2/search/records?rq={"recordset":"x","uuid":"a"}', 400),
        ('/idigbio/v2/search/records?rq={"recordset":"x","uuid":{"type":"range","gte":"a"}}', 400),
        ("/idigbio/links/www.snib.mx/iptconabio/archive.do?r=SNIB-HC022", 404),
        ("/idigbio/archives/00000000-0000-0000-0000-000000000000.zip", 404),
        ("/gbif/archives/missing.zip", 404),
        ("/gbif/archives/../obis/registry-dataset-page.json", 404),
        ("/obis/archives/00000000-0000-0000-0000-000000000000.zip", 404),
        ("/obis/archives/003063a2-57ad-4c7b-a58b-df6f40fbf4ba", 404),
        ("/gbif/v1/occurrence/search", 404),
        ("/", 404),
    ],
)
def test_bad_requests_get_a_json_error(client: FlaskClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    body = response.get_json()
    assert isinstance(body, dict)
    assert isinstance(body["error"], str)
    assert body["error"]


def test_a_large_archive_with_ranges_without_them_and_as_a_tar_gz(client: FlaskClient) -> None:
    ranged = client.get("/gbif/large/2MiB.zip", headers={"Range": "bytes=0-9"})
    assert (ranged.status_code, len(ranged.data)) == (206, 10)
    whole = client.get("/gbif/large/2MiB.zip?ranges=no", headers={"Range": "bytes=0-9"})
    assert whole.status_code == 200
    assert len(whole.data) >= 2 * 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(whole.data)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    tar = client.get("/gbif/large/2MiB.tar.gz")
    assert tar.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(tar.data), mode="r:gz") as opened:
        names = opened.getnames()
        assert {name: opened.extractfile(name).read() for name in names} == members  # type: ignore[union-attr]
    assert names[-1] == "metadata.xml"  # meta.xml and metadata.xml last, as in the zip
