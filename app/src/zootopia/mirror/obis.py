"""OBIS: /v3/dataset listing the datasets of the recorded occurrence pages, and an archive per dataset."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import NotFound

from zootopia.mirror import dwca
from zootopia.mirror.params import non_negative, page_size

# The recorded /v3/occurrence pages, relative to the data directory.
PAGES = ("obis/occurrence-mola-mola-10000.json.gz", "obis/occurrence-unfiltered-100.json")


@dataclass(frozen=True)
class ObisDataset:
    id: str
    title: str
    records: list[dict[str, Any]]


def read_page(path: Path) -> list[dict[str, Any]]:
    """The `results` of a recorded occurrence page (gzip or plain JSON)."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    results: list[dict[str, Any]] = json.loads(raw)["results"]
    return results


def load_datasets(data_dir: Path) -> list[ObisDataset]:
    """One dataset per distinct dataset_id of the records (first record of an id wins), sorted by id."""
    records: dict[str, dict[str, Any]] = {}
    for page in PAGES:
        for record in read_page(data_dir / page):
            records.setdefault(str(record["id"]), record)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records.values():
        grouped.setdefault(str(record["dataset_id"]), []).append(record)
    return [ObisDataset(key, _title(key, grouped[key]), grouped[key]) for key in sorted(grouped)]


def _title(dataset_id: str, records: list[dict[str, Any]]) -> str:
    # The most frequent datasetName (ties: the smallest), else a name made from the id.
    names = Counter(str(r["datasetName"]).strip() for r in records if str(r.get("datasetName") or "").strip())
    if not names:
        return f"OBIS dataset {dataset_id}"
    return min(names, key=lambda name: (-names[name], name))


def blueprint(datasets: list[ObisDataset], base_url: str) -> Blueprint:
    cache = dwca.ArchiveCache({dataset.id: dataset.records for dataset in datasets})
    bp = Blueprint("obis", __name__, url_prefix="/obis")

    @bp.get("/v3/dataset")
    def listing() -> Response:
        skip = non_negative(request.args, "skip", 0)
        # Without a size the real API returns every dataset.
        size = page_size(request.args, "size", len(datasets), None)
        results = [
            {"id": dataset.id, "title": dataset.title, "archive": f"{base_url}/obis/archives/{dataset.id}.zip"}
            for dataset in datasets[skip : skip + size]
        ]
        return jsonify(total=len(datasets), results=results)

    @bp.get("/archives/<dataset_id>.zip")
    def archive(dataset_id: str) -> Response:
        body = cache.get(dataset_id)
        if body is None:
            raise NotFound(f"no OBIS dataset {dataset_id!r}")
        return Response(body, mimetype="application/zip")

    return bp
