"""GBIF: the dataset registry (/v1/dataset) listing one dataset per recorded archive, the archives, and
large archives of their rows (large.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, jsonify, request, send_file
from werkzeug.exceptions import NotFound

from zootopia.mirror.large import LargeArchives
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

    def copy_key(self, copy: int) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"zootopia-mirror:gbif/{self.name}?copy={copy}"))


def load_archives(data_dir: Path) -> list[GbifArchive]:
    """Every gbif/*.zip, sorted by file name."""
    return [GbifArchive(path.name, path) for path in sorted((data_dir / "gbif").glob("*.zip"))]


def blueprint(archives: list[GbifArchive], base_url: str, gbif_dir: Path, scale_datasets: int = 0) -> Blueprint:
    """`gbif_dir`: the recorded data's gbif/, whose download /gbif/large/<n>MiB.zip repeats;
    `scale_datasets`: when not 0, the registry lists that many datasets, the recorded archives
    repeated in turn, each copy under a key and URL of its own (the scale bench's registry)."""
    by_name = {archive.name: archive for archive in archives}
    bp = Blueprint("gbif", __name__, url_prefix="/gbif")
    large = LargeArchives(gbif_dir)
    total = scale_datasets or len(archives)

    def dataset(number: int) -> dict[str, object]:
        archive = archives[number % len(archives)]
        copy = number // len(archives)
        url = f"{base_url}/gbif/archives/{archive.name}"
        return {
            "key": archive.key if not scale_datasets else archive.copy_key(copy),
            "title": Path(archive.name).stem,
            "type": "OCCURRENCE",
            "endpoints": [{"type": "DWC_ARCHIVE", "url": url if not scale_datasets else f"{url}?copy={copy}"}],
        }

    @bp.get("/v1/dataset")
    def datasets() -> Response:
        offset = non_negative(request.args, "offset", 0)
        limit = page_size(request.args, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        return jsonify(
            offset=offset,
            limit=limit,
            endOfRecords=offset + limit >= total,
            count=total,
            results=[dataset(number) for number in range(offset, min(offset + limit, total))],
        )

    @bp.get("/large/<int:mebibytes>MiB.zip")
    def large_archive(mebibytes: int) -> Response:
        # An archive larger than the streams' cache, read in place by range requests (send_file answers
        # them); with ?ranges=no, the whole file to every request, as many hosts answer.
        path = large.path(mebibytes)
        ranges = request.args.get("ranges", "yes") != "no"
        return send_file(path, mimetype="application/zip", download_name=path.name, max_age=0, conditional=ranges)

    @bp.get("/large/<int:mebibytes>MiB.tar.gz")
    def large_tar(mebibytes: int) -> Response:
        # The same members as a tar.gz: one gzip stream, read as it downloads whatever the host answers.
        path = large.tar_path(mebibytes)
        return send_file(path, mimetype="application/gzip", download_name=path.name, max_age=0)

    @bp.get("/archives/<name>")
    def archive(name: str) -> Response:
        found = by_name.get(name)
        if found is None:
            raise NotFound(f"no GBIF archive named {name!r}")
        return send_file(found.path, mimetype="application/zip", download_name=found.name, max_age=0)

    return bp
