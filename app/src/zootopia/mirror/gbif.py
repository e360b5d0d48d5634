"""GBIF: the dataset registry (/v1/dataset) listing one dataset per recorded archive, and the archives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, jsonify, request, send_file
from werkzeug.exceptions import NotFound

from zootopia.mirror.params import non_negative, page_size

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


@dataclass(frozen=True)
class GbifArchive:
    name: str
    path: Path

    @property
    def key(self) -> str:
        # A stable dataset key, so restarts of the mirror list the same datasets.
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "zootopia-mirror:gbif/" + self.name))


def load_archives(data_dir: Path) -> list[GbifArchive]:
    """Every gbif/*.zip, sorted by file name."""
    return [GbifArchive(path.name, path) for path in sorted((data_dir / "gbif").glob("*.zip"))]


def blueprint(archives: list[GbifArchive], base_url: str) -> Blueprint:
    by_name = {archive.name: archive for archive in archives}
    bp = Blueprint("gbif", __name__, url_prefix="/gbif")

    @bp.get("/v1/dataset")
    def datasets() -> Response:
        offset = non_negative(request.args, "offset", 0)
        limit = page_size(request.args, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        page = archives[offset : offset + limit]
        results = [
            {
                "key": archive.key,
                "title": Path(archive.name).stem,
                "type": "OCCURRENCE",
                "endpoints": [{"type": "DWC_ARCHIVE", "url": f"{base_url}/gbif/archives/{archive.name}"}],
            }
            for archive in page
        ]
        return jsonify(
            offset=offset,
            limit=limit,
            endOfRecords=offset + limit >= len(archives),
            count=len(archives),
            results=results,
        )

    @bp.get("/archives/<name>")
    def archive(name: str) -> Response:
        found = by_name.get(name)
        if found is None:
            raise NotFound(f"no GBIF archive named {name!r}")
        return send_file(found.path, mimetype="application/zip", download_name=found.name, max_age=0)

    return bp
