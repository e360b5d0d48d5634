"""The Flask app: the contract of the original API (plain text, one item per line), JSON on request, a token.

Results come from the in-memory snapshot (api/results.py); stream control goes to the registry.
"""

from __future__ import annotations

import hmac
import json
from importlib.resources import files

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from zootopia.api import params
from zootopia.api.health import Health
from zootopia.api.openapi import document as openapi_document
from zootopia.api.params import ApiError
from zootopia.api.results import Results, Snapshot
from zootopia.api.streams import AllowList, RegistryUnavailableError, Streams, describe
from zootopia.streams.registry import SourceError

JSON = "application/json"
# Rendered /count answers kept per snapshot (the by x windows x format combinations asked for).
RENDERED_MAX = 256
TEXT = "text/plain"


def create_app(results: Results, streams: Streams, allow: AllowList, health: Health, token: str = "") -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep counts in the order they were built
    dashboard = files("zootopia.api").joinpath("static/dashboard.html").read_bytes()

    @app.before_request
    def authorize() -> None:
        # Plain text unless the caller prefers JSON (no Accept, or */*, means text as in the original).
        g.json = request.accept_mimetypes.best_match([TEXT, JSON], default=TEXT) == JSON
        if token and not _token_matches(token):
            raise ApiError(401, "A valid token is required: pass token=... or an Authorization: Bearer header")

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
        return Response(dashboard, mimetype="text/html")

    @app.get("/openapi.json")
    def openapi() -> Response:
        params.checked(request.args, ())
        return jsonify(openapi_document(secured=bool(token), allowed=sorted(allow.urls)))

    @app.get("/addSource")
    def add_source() -> Response:
        url = params.checked(request.args, ("url",), required=("url",))["url"]
        normal = allow.allowed(url)
        if normal is None:
            allowed = ", ".join(sorted(allow.urls))
            raise ApiError(400, f"'{url}' is not an allowed source: use one of {allowed}")
        source, created = streams.add(normal)
        return _reply(200, [], {"source": describe(source), "created": created})

    @app.get("/removeSource")
    def remove_source() -> Response:
        url = params.checked(request.args, ("url",), required=("url",))["url"]
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
        # The same question on the same snapshot gets the same bytes: rendered once per window.
        key = (by, last, bool(g.json))
        body = snapshot.rendered.get(key)
        if body is None:
            body = _count(snapshot, by, last)
            if len(snapshot.rendered) < RENDERED_MAX:
                snapshot.rendered[key] = body
        return Response(body, status=200, mimetype=JSON if g.json else TEXT)

    @app.get("/window")
    def window() -> Response:
        number = params.window_id(params.checked(request.args, ("id",)).get("id"))
        snapshot = results.snapshot
        found = snapshot.window(number)
        if found is None:
            raise ApiError(404, f"No window {number} (windows so far: {snapshot.last})")
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


def _count(snapshot: Snapshot, by: str, last: int | None) -> bytes:
    if last is None:
        totals = snapshot.totals_of(by)
        return _render([f"{name} {number}" for name, number in totals.items()], {"by": by, "counts": totals})
    shown = snapshot.windows[-last:] if last else snapshot.windows
    lines = [f"{w.id} {name} {number}" for w in shown for name, number in w.counts(by).items()]
    listed = [{"window": w.id, "counts": w.counts(by), "cumulative": w.cumulative(by)} for w in shown]
    return _render(lines, {"by": by, "windows": listed})


def _token_matches(token: str) -> bool:
    given = request.args.get(params.TOKEN, "")
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        given = header[7:].strip()
    # Constant time: the time taken says nothing about how much of the token was right.
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def _render(lines: list[str], body: object) -> bytes:
    """The answer's bytes: JSON when the caller asked for it, else the lines as plain text."""
    if g.get("json", False):
        return json.dumps(body, separators=(",", ":")).encode("utf-8") + b"\n"
    return "".join(line + "\n" for line in lines).encode("utf-8")


def _reply(status: int, lines: list[str], body: object) -> Response:
    return Response(_render(lines, body), status=status, mimetype=JSON if g.get("json", False) else TEXT)
