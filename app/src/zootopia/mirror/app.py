"""The Flask application putting the three mirrors under one base URL, and a threaded server for it."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

from zootopia.mirror import gbif, idigbio, obis

log = logging.getLogger(__name__)


def create_app(
    data_dir: Path,
    base_url: str,
    idigbio_window: int = idigbio.SEARCH_WINDOW,
    idigbio_scale_records: int = 0,
    gbif_scale_datasets: int = 0,
) -> Flask:
    """Load and index the recorded data once; `base_url` is how clients reach the mirror (archive URLs).

    `idigbio_window`: the iDigBio search's result window; `idigbio_scale_records`: when not 0, one
    more iDigBio recordset of that many records, without an archive link (the scale bench's);
    `gbif_scale_datasets`: when not 0, a GBIF registry of that many datasets (the scale bench's).
    """
    started = time.monotonic()
    base_url = base_url.rstrip("/")
    archives = gbif.load_archives(data_dir)
    datasets = obis.load_datasets(data_dir)
    index = idigbio.load_index(data_dir, base_url)
    if idigbio_scale_records:
        index = idigbio.scale_recordset(index, idigbio_scale_records)
    app = Flask(__name__)
    app.register_blueprint(gbif.blueprint(archives, base_url, data_dir / "gbif", gbif_scale_datasets))
    app.register_blueprint(obis.blueprint(datasets, base_url))
    app.register_blueprint(idigbio.blueprint(index, idigbio_window))

    @app.errorhandler(HTTPException)
    def as_json(error: HTTPException) -> tuple[Response, int]:
        # Clients are programs: every error is JSON, 404 for unknown paths and ids, 400 for bad parameters.
        return jsonify(error=error.description or error.name), error.code or 500

    log.info(
        "mirror of %s: %d GBIF archives, %d OBIS datasets, %d iDigBio recordsets (%d records, %d without recordset)"
        " loaded in %.1f s",
        data_dir,
        len(archives),
        len(datasets),
        len(index.recordsets),
        sum(len(items) for items in index.records.values()),
        index.without_recordset,
        time.monotonic() - started,
    )
    return app


class _PlainLog(WSGIRequestHandler):
    """One plain line per request: werkzeug's colour codes would litter the journal."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.log("info", '"%s" %s %s', self.requestline, code, size)


def serve(data_dir: Path, host: str, port: int, base_url: str, idigbio_window: int = idigbio.SEARCH_WINDOW) -> None:
    """Serve until interrupted; one thread per request, one log line per request."""
    app = create_app(data_dir, base_url, idigbio_window)
    server = make_server(host, port, app, threaded=True, request_handler=_PlainLog)
    log.info("serving on %s:%d as %s", host, port, base_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
