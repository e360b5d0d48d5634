"""The Flask app: the contract of the original API (plain text, one item per line), JSON on request, a token.

Results come from the worker's snapshot (api/results.py): recent windows and totals from memory, older
windows read on demand and answers over many windows streamed; stream control goes to the registry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable, Iterator
from importlib.resources import files

from flask import Flask, Response, g, jsonify, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from zootopia.api import history, params
from zootopia.api.health import Health
from zootopia.api.openapi import document as openapi_document
from zootopia.api.params import ApiError
from zootopia.api.results import Results, Window
from zootopia.api.streams import AllowList, RegistryUnavailableError, Streams, describe
from zootopia.streams.registry import SourceError

JSON = "application/json"
# Rendered /count answers kept per snapshot (the by x windows x format combinations asked for).
RENDERED_MAX = 256
TEXT = "text/plain"
# On every answer: nothing cached or framed, no type guessed, no Referer sent on.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
HSTS = "max-age=31536000"
# A form holds one URL: a larger body is refused (413) before it is read.
MAX_BODY = 16 * 1024

log = logging.getLogger(__name__)


def create_app(results: Results, streams: Streams, allow: AllowList, health: Health, token: str = "") -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep counts in the order they were built
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    dashboard = files("zootopia.api").joinpath("static/dashboard.html").read_bytes()
    dashboard_policy = _dashboard_policy(dashboard)

    @app.before_request
    def authorize() -> None:
        # Plain text unless the caller prefers JSON (no Accept, or */*, means text as in the original).
        g.json = request.accept_mimetypes.best_match([TEXT, JSON], default=TEXT) == JSON
        if not token:
            return
        if params.TOKEN in request.args or params.TOKEN in request.form:
            raise ApiError(
                401,
                "A token in the URL or a form is refused (links end up in logs and histories): "
                "send it in an Authorization: Bearer header",
            )
        # The dashboard's page holds no data: it is served to anyone, and asks for everything with the token.
        if request.endpoint != "index" and not _token_matches(token):
            raise ApiError(401, "A valid token is required in an Authorization: Bearer header")

    @app.after_request
    def secured(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response

    @app.errorhandler(ApiError)
    def refused(error: ApiError) -> Response:
        response = _reply(error.status, [error.message], {"error": error.message})
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="zootopia"'
        return response

    @app.errorhandler(RegistryUnavailableError)
    def unavailable(error: RegistryUnavailableError) -> Response:
        return _reply(503, [str(error)], {"error": str(error)})

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message = {404: f"No such path: {request.path}", 405: f"{request.method} is not allowed on {request.path}"}
        text = message.get(status, error.name)
        response = _reply(status, [text], {"error": text})
        if status == 405 and error.get_response().headers.get("Allow"):
            response.headers["Allow"] = error.get_response().headers["Allow"]
        return response

    @app.get("/")
    def index() -> Response:
        params.checked(request.args, ())
        response = Response(dashboard, mimetype="text/html")
        response.headers["Content-Security-Policy"] = dashboard_policy
        return response

    @app.get("/openapi.json")
    def openapi() -> Response:
        params.checked(request.args, ())
        return jsonify(openapi_document(secured=bool(token), allowed=sorted(allow.urls)))

    # The original's GET stays (it is the contract); a POST form does the same with the fields in its body.
    @app.route("/addSource", methods=["GET", "POST"])
    def add_source() -> Response:
        url = params.checked(_fields(), ("url",), required=("url",))["url"]
        normal = allow.allowed(url)
        if normal is None:
            allowed = ", ".join(sorted(allow.urls))
            raise ApiError(400, f"'{url}' is not an allowed source: use one of {allowed}")
        source, created = streams.add(normal)
        return _reply(200, [], {"source": describe(source), "created": created})

    @app.route("/removeSource", methods=["GET", "POST"])
    def remove_source() -> Response:
        url = params.checked(_fields(), ("url",), required=("url",))["url"]
        try:
            source = streams.remove(url)
        except SourceError as error:
            raise ApiError(400, str(error)) from error
        if source is None:
            raise ApiError(400, f"'{url}' is not an active source")
        return _reply(200, [], {"source": describe(source)})

    @app.get("/listSources")
    def list_sources() -> Response:
        params.checked(request.args, ())
        listed = streams.sources()
        return _reply(200, [source.url for source in listed], {"sources": [describe(s) for s in listed]})

    @app.get("/count")
    def count() -> Response:
        args = params.checked(request.args, ("by", "windows"))
        by = params.by(args.get("by"))
        last = params.windows(args.get("windows"))
        snapshot = results.snapshot
        first = max(1, snapshot.last - last + 1) if last else 1
        as_json = bool(g.json)
        mimetype = JSON if as_json else TEXT
        if last is not None and first < snapshot.first_recent:
            # Older windows are read from HDFS as the answer is sent: memory stays bounded.
            shown = results.read_range(first, snapshot.last)
            return Response(_logged(_count_windows(by, shown, as_json)), status=200, mimetype=mimetype)
        # The same question on the same snapshot gets the same bytes: rendered once per snapshot.
        key = (by, last, as_json)
        body = snapshot.rendered.get(key)
        if body is None:
            if last is None:
                totals = snapshot.totals_of(by)
                body = _render([f"{name} {number}" for name, number in totals.items()], {"by": by, "counts": totals})
            else:
                body = b"".join(_count_windows(by, snapshot.recent[first - snapshot.first_recent :], as_json))
            if len(snapshot.rendered) < RENDERED_MAX:
                snapshot.rendered[key] = body
        return Response(body, status=200, mimetype=mimetype)

    @app.get("/history")
    def history_report() -> Response:
        per = params.period(params.checked(request.args, ("per",)).get("per"))
        snapshot = results.snapshot
        key = (f"history:{per}", None, bool(g.json))
        body = snapshot.rendered.get(key)
        if body is None:
            listed = history.buckets(snapshot, per)
            lines = [f"{b.first}-{b.last} {b.until} {b.records} {b.new_species} {b.species}" for b in listed]
            size = snapshot.hour * history.PERIODS[per]
            document = {"per": per, "windows_per_bucket": size, "last": snapshot.last}
            body = _render(lines, {**document, "buckets": [b.as_dict() for b in listed]})
            if len(snapshot.rendered) < RENDERED_MAX:
                snapshot.rendered[key] = body
        return Response(body, status=200, mimetype=JSON if g.json else TEXT)

    @app.get("/window")
    def window() -> Response:
        number = params.window_id(params.checked(request.args, ("id",)).get("id"))
        try:
            found = results.window(number)
        except Exception as error:  # an older window is read from HDFS: the journal says why, the caller when
            log.exception("window %d could not be read", number)
            raise ApiError(503, f"Window {number} could not be read now: try again in a minute") from error
        if found is None:
            raise ApiError(404, f"No window {number} (windows so far: {results.snapshot.last})")
        rows = [
            {
                "source": row.source,
                "plants": row.kingdoms.get("Plantae", 0),
                "animals": row.kingdoms.get("Animalia", 0),
                "fungi": row.kingdoms.get("Fungi", 0),
                "species": row.species,
            }
            for row in found.sources.values()
        ]
        lines = [f"{number} {r['source']} {r['plants']} {r['animals']} {r['fungi']} {r['species']}" for r in rows]
        return _reply(200, lines, {"window": number, "rows": rows})

    @app.get("/health")
    def health_report() -> Response:
        params.checked(request.args, ())
        report = health.report()
        status = 200 if report["status"] == "ok" else 503
        lines = [f"{name} {component['status']}" for name, component in report["components"].items()]
        return _reply(status, [f"status {report['status']}", *lines], report)

    return app


def _count_windows(by: str, windows: Iterable[Window], as_json: bool) -> Iterator[bytes]:
    """The /count?windows= answer, window by window: the same bytes whether it is joined or streamed."""
    if as_json:
        yield b'{"by":' + json.dumps(by).encode("utf-8") + b',"windows":['
    for index, w in enumerate(windows):
        if as_json:
            item = {"window": w.id, "counts": w.counts(by), "cumulative": w.cumulative(by)}
            yield (b"," if index else b"") + json.dumps(item, separators=(",", ":")).encode("utf-8")
        else:
            yield "".join(f"{w.id} {name} {number}\n" for name, number in w.counts(by).items()).encode("utf-8")
    if as_json:
        yield b"]}\n"


def _logged(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A streamed answer that fails half way can only stop: the journal says why."""
    try:
        yield from chunks
    except Exception:
        log.exception("a streamed answer stopped: reading an older window failed")
        raise


def _fields() -> MultiDict[str, str]:
    """A request's parameters: the query's for a GET, the form's for a POST (whose query must be empty)."""
    if request.method != "POST":
        return request.args
    params.checked(request.args, ())
    return request.form


def _dashboard_policy(page: bytes) -> str:
    """The dashboard's Content-Security-Policy: its own inline script only (by hash), calls to this origin."""
    scripts = re.findall(rb"<script>(.*?)</script>", page, re.DOTALL)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in scripts)
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; "
        "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


def _token_matches(token: str) -> bool:
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header[:7].lower() == "bearer " else ""
    # Constant time: the time taken says nothing about how much of the token was right.
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def _render(lines: list[str], body: object) -> bytes:
    """The answer's bytes: JSON when the caller asked for it, else the lines as plain text."""
    if g.get("json", False):
        return json.dumps(body, separators=(",", ":")).encode("utf-8") + b"\n"
    return "".join(line + "\n" for line in lines).encode("utf-8")


def _reply(status: int, lines: list[str], body: object) -> Response:
    return Response(_render(lines, body), status=status, mimetype=JSON if g.get("json", False) else TEXT)
