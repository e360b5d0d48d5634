"""iDigBio: /v2/search/recordsets and /v2/search/records?rq={"recordset": ...} over the recorded records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest

from zootopia.mirror.params import non_negative, page_size

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000
Item = dict[str, Any]


@dataclass(frozen=True)
class IdigbioIndex:
    recordsets: list[Item]  # sorted by uuid
    records: dict[str, list[Item]]  # recordset uuid -> its records, sorted by uuid
    without_recordset: int  # distinct records no recordset query can reach


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


def load_index(data_dir: Path) -> IdigbioIndex:
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
    known = {item["uuid"]: item for item in registry["items"]}
    recordsets = [known.get(uuid) or _minimal_recordset(uuid) for uuid in sorted(records)]
    return IdigbioIndex(recordsets, records, without)


def _minimal_recordset(uuid: str) -> Item:
    return {"uuid": uuid, "type": "recordsets", "etag": _etag(uuid), "data": {}, "indexTerms": {"uuid": uuid}}


def recordset_query(raw: str | None) -> str:
    """The recordset uuid of an rq parameter; 400 for anything but {"recordset": "<uuid>"}."""
    if raw is None:
        raise BadRequest('rq is required; this mirror answers only rq={"recordset": "<uuid>"}')
    try:
        query = json.loads(raw)
    except json.JSONDecodeError as error:
        raise BadRequest(f"rq is not JSON: {error.msg} at column {error.colno}") from None
    if not isinstance(query, dict) or set(query) != {"recordset"} or not isinstance(query["recordset"], str):
        raise BadRequest(f'this mirror answers only rq={{"recordset": "<uuid>"}}, not {raw}')
    return query["recordset"]


def _page(items: list[Item]) -> Response:
    offset = non_negative(request.args, "offset", 0)
    limit = page_size(request.args, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    return jsonify(itemCount=len(items), items=items[offset : offset + limit])


def blueprint(index: IdigbioIndex) -> Blueprint:
    bp = Blueprint("idigbio", __name__, url_prefix="/idigbio")

    # The real API answers with and without the trailing slash.
    @bp.get("/v2/search/recordsets")
    @bp.get("/v2/search/recordsets/")
    def recordsets() -> Response:
        if request.args.get("rq") not in (None, "", "{}"):
            raise BadRequest("this mirror lists every recordset it has; rq is not supported here")
        return _page(index.recordsets)

    @bp.get("/v2/search/records")
    @bp.get("/v2/search/records/")
    def records() -> Response:
        # A recordset the mirror has no records of has none, as in the real API.
        return _page(index.records.get(recordset_query(request.args.get("rq")), []))

    return bp
