"""iDigBio: the recordsets listing, each recordset's archive, and the records search, over the recorded records.

Recordsets: every one of the recorded registry page, as recorded but for its archive
links, which point into the mirror; and one made by the mirror for each other
recordset the recorded records name. A recordset's archive (its `data.link` rewritten
to /idigbio/links/<host>/<path>, or /idigbio/archives/<uuid>.zip for the mirror's own
entries) is a deterministic Darwin Core Archive of its recorded records; the link of
a recorded recordset the mirror holds no record of is dead (404), as many real ones
are. The mirror's own entries all have an archive link but the one with the most
records (ties: the smallest uuid), which is reached through the records search, the
path of a recordset without an archive.

Searches take rq {"recordset": <uuid>} (records) or nothing (recordsets), each with an
optional {"uuid": {"type": "prefix", "value": <p>}}; like the Elasticsearch behind the
real API, no page reaches past the result window (offset + limit).
"""

from __future__ import annotations

import hashlib
import json
import uuid as uuids
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest, NotFound

from zootopia.mirror import dwca
from zootopia.mirror.params import non_negative, page_size

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000
# The real search's result window (Elasticsearch's index.max_result_window).
SEARCH_WINDOW = 10000
Item = dict[str, Any]


@dataclass(frozen=True)
class IdigbioIndex:
    recordsets: list[Item]  # the listing, sorted by uuid
    records: dict[str, list[Item]]  # recordset uuid -> its records, sorted by uuid
    without_recordset: int  # distinct records no recordset query can reach
    # Archive path under the mirror (lowercase: `indexTerms.archivelink` is `data.link` lowercased) -> recordset.
    archives: dict[str, str]


def _etag(value: object) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True).encode("utf-8")).hexdigest()


def _hit_item(hit: dict[str, Any]) -> Item:
    # An ES hit as the public API shows it: raw Darwin Core under data, index fields beside.
    source = dict(hit["_source"])
    data = source.pop("data", {})
    return {
        "uuid": hit["_id"],
        "type": "records",
        "etag": source.get("etag") or _etag(hit),
        "data": data,
        "indexTerms": source,
    }


def _candidates(data_dir: Path) -> list[Item]:
    """Every recorded record item: the search page's, then the ES snapshots' in file order."""
    page = json.loads((data_dir / "idigbio/search-records-page.json").read_bytes())
    items: list[Item] = list(page["items"])
    for path in sorted((data_dir / "idigbio/search-api-es-snapshots").glob("*.json")):
        snapshot = json.loads(path.read_bytes()).get("response_snapshot")
        hits = (snapshot or {}).get("hits") or {}
        items.extend(_hit_item(hit) for hit in hits.get("hits", []) if hit.get("_type") == "records")
    return items


def load_index(data_dir: Path, base_url: str) -> IdigbioIndex:
    # Several snapshots hold the same record, some with only a few fields: the fullest copy wins,
    # ties go to the first one seen.
    chosen: dict[str, Item] = {}
    for item in _candidates(data_dir):
        best = chosen.get(item["uuid"])
        if best is None or len(item["data"]) + len(item["indexTerms"]) > len(best["data"]) + len(best["indexTerms"]):
            chosen[item["uuid"]] = item
    records: dict[str, list[Item]] = {}
    for uuid in sorted(chosen):
        recordset = chosen[uuid]["indexTerms"].get("recordset")
        if isinstance(recordset, str) and recordset:
            records.setdefault(recordset, []).append(chosen[uuid])
    without = len(chosen) - sum(len(items) for items in records.values())
    registry = json.loads((data_dir / "idigbio/registry-recordsets-page.json").read_bytes())
    listing: dict[str, Item] = {}
    archives: dict[str, str] = {}
    for item in registry["items"]:
        listing[item["uuid"]] = _with_mirror_links(item, base_url, archives)
    made = sorted(uuid for uuid in records if uuid not in listing)
    searched = min(made, key=lambda uuid: (-len(records[uuid]), uuid)) if made else None
    for uuid in made:
        link = None if uuid == searched else f"{base_url}/idigbio/archives/{uuid}.zip"
        listing[uuid] = _made_recordset(uuid, link)
        if link is not None:
            archives[_archive_key(urlsplit(link).path)] = uuid
    return IdigbioIndex([listing[uuid] for uuid in sorted(listing)], records, without, archives)


def _archive_key(path: str) -> str:
    return path.lower()


def _with_mirror_links(item: Item, base_url: str, archives: dict[str, str]) -> Item:
    """The recorded recordset with `data.link` and `indexTerms.archivelink` pointing into the mirror."""
    copy: Item = json.loads(json.dumps(item))
    for section, key in (("data", "link"), ("indexTerms", "archivelink")):
        original = copy.get(section, {}).get(key)
        if isinstance(original, str) and original:
            parts = urlsplit(original)
            path = f"/idigbio/links/{parts.netloc}{parts.path}"
            copy[section][key] = f"{base_url}{path}" + (f"?{parts.query}" if parts.query else "")
            archives.setdefault(_archive_key(path + (f"?{parts.query}" if parts.query else "")), item["uuid"])
    return copy


def _made_recordset(uuid: str, link: str | None) -> Item:
    data: Item = {"link": link} if link else {}
    terms: Item = {"uuid": uuid, "archivelink": link} if link else {"uuid": uuid}
    return {"uuid": uuid, "type": "recordsets", "etag": _etag(uuid), "data": data, "indexTerms": terms}


def archive_records(items: list[Item]) -> list[dict[str, Any]]:
    """Records as the archive builder takes them: the uuid as id, each `dwc:` field by its term name."""
    rows = []
    for item in items:
        row = {key[len("dwc:") :]: value for key, value in item["data"].items() if key.startswith("dwc:")}
        row["id"] = item["uuid"]
        rows.append(row)
    return rows


def search_query(raw: str | None, base: set[str]) -> tuple[dict[str, str], str]:
    """(the `base` fields, the uuid prefix or "") of an rq parameter; 400 for anything else."""
    if raw in (None, "", "{}") and not base:
        return {}, ""
    if raw is None:
        raise BadRequest('rq is required; this mirror answers only rq={"recordset": "<uuid>"}')
    try:
        query = json.loads(raw)
    except json.JSONDecodeError as error:
        raise BadRequest(f"rq is not JSON: {error.msg} at column {error.colno}") from None
    allowed = " and ".join(sorted({*base, "uuid prefix"}))
    if not isinstance(query, dict) or not base <= set(query) <= {*base, "uuid"}:
        raise BadRequest(f"this mirror answers only rq with {allowed}, not {raw}")
    fields = {key: query[key] for key in base}
    if not all(isinstance(value, str) for value in fields.values()):
        raise BadRequest(f"rq fields must be strings here, not {raw}")
    prefix = query.get("uuid", {"type": "prefix", "value": ""})
    if not isinstance(prefix, dict) or prefix.get("type") != "prefix" or not isinstance(prefix.get("value"), str):
        raise BadRequest(f'uuid must be {{"type": "prefix", "value": "<text>"}} here, not {json.dumps(prefix)}')
    return fields, prefix["value"]


def _page(items: list[Item], window: int) -> Response:
    offset = non_negative(request.args, "offset", 0)
    limit = page_size(request.args, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    if offset + limit > window:
        # The real API passes Elasticsearch's refusal on.
        raise BadRequest(
            f"Result window is too large, from + size must be less than or equal to: [{window}]"
            f" but was [{offset + limit}]"
        )
    return jsonify(itemCount=len(items), items=items[offset : offset + limit])


def blueprint(index: IdigbioIndex, window: int = SEARCH_WINDOW) -> Blueprint:
    cache = dwca.ArchiveCache({uuid: archive_records(items) for uuid, items in index.records.items()})
    bp = Blueprint("idigbio", __name__, url_prefix="/idigbio")

    # The real API answers with and without the trailing slash.
    @bp.get("/v2/search/recordsets")
    @bp.get("/v2/search/recordsets/")
    def recordsets() -> Response:
        _, prefix = search_query(request.args.get("rq"), set())
        return _page([item for item in index.recordsets if item["uuid"].startswith(prefix)], window)

    @bp.get("/v2/search/records")
    @bp.get("/v2/search/records/")
    def records() -> Response:
        fields, prefix = search_query(request.args.get("rq"), {"recordset"})
        # A recordset the mirror has no records of has none, as in the real API.
        found = index.records.get(fields["recordset"], [])
        return _page([item for item in found if item["uuid"].startswith(prefix)], window)

    def archive(key: str) -> Response:
        recordset = index.archives.get(_archive_key(key))
        body = cache.get(recordset) if recordset else None
        if body is None:
            raise NotFound(f"no archive at {key}: the mirror holds no record of its recordset")
        return Response(body, mimetype="application/zip")

    @bp.get("/links/<path:link>")
    def recorded_link(link: str) -> Response:
        query = request.query_string.decode("utf-8")
        return archive(f"/idigbio/links/{link}" + (f"?{query}" if query else ""))

    @bp.get("/archives/<name>")
    def made_archive(name: str) -> Response:
        return archive(f"/idigbio/archives/{name}")

    return bp


def scale_recordset(index: IdigbioIndex, records: int) -> IdigbioIndex:
    """`index` plus one recordset of `records` records without an archive link, made of the recorded
    records repeated under uuids of their own (also their `dwc:occurrenceID`, so that a reader can
    tell every copy apart): larger than the search window, for the scale bench."""
    recorded = [item for items in index.records.values() for item in items]
    uuid = scale_recordset_uuid(records)
    made = []
    for number in range(records):
        original = recorded[number % len(recorded)]
        copy_id = str(uuids.uuid5(uuids.NAMESPACE_URL, f"zootopia-mirror:idigbio/scale/{records}/{number}"))
        data = {**original["data"], "dwc:occurrenceID": copy_id}
        terms = {**original["indexTerms"], "recordset": uuid, "uuid": copy_id}
        made.append({**original, "uuid": copy_id, "data": data, "indexTerms": terms})
    made.sort(key=lambda item: str(item["uuid"]))
    listing = sorted([*index.recordsets, _made_recordset(uuid, None)], key=lambda item: str(item["uuid"]))
    return IdigbioIndex(listing, {**index.records, uuid: made}, index.without_recordset, index.archives)


def scale_recordset_uuid(records: int) -> str:
    """The uuid of the scale recordset of `records` records."""
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"zootopia-mirror:idigbio/scale/{records}"))
