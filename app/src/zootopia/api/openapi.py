"""The OpenAPI 3 description served at /openapi.json (tests check it against the app's routes and replies)."""

from __future__ import annotations

from typing import Any

from zootopia import __version__
from zootopia.api.params import BY_VALUES

_COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
_SOURCE = {
    "type": "object",
    "required": ["url", "node", "topic", "added_at"],
    "properties": {name: {"type": "string"} for name in ("url", "node", "topic", "added_at")},
}
_OBJECT = {"type": "object"}
_SOURCE_REPLY = {"type": "object", "required": ["source"], "properties": {"source": _SOURCE}}
_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_URL = {"name": "url", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1}}


def _answer(description: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    """A response given as plain text lines, or as JSON when the caller accepts it."""
    content: dict[str, Any] = {"text/plain": {"schema": {"type": "string"}}}
    if schema is not None:
        content["application/json"] = {"schema": schema}
    return {"description": description, "content": content}


def _refusals(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Bad parameters: the body explains which and why",
        401: "No token in an Authorization: Bearer header, a wrong one, or one in the URL",
        404: "No such window",
        503: "A component did not answer",
    }
    # Every operation refuses unknown parameters (400) and, with a token configured, a missing one (401).
    return {str(status): _answer(reasons[status], _ERROR) for status in sorted({*statuses, 400, 401})}


def _operation(summary: str, parameters: list[dict[str, Any]], ok: dict[str, Any], *refusals: int) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {"200": ok, **_refusals(*refusals)},
        }
    }


def _with_form(operation: dict[str, Any]) -> dict[str, Any]:
    """The same operation as a POST too, its query parameters as the fields of a form in the body."""
    get = operation["get"]
    fields = {parameter["name"]: parameter["schema"] for parameter in get["parameters"]}
    required = [parameter["name"] for parameter in get["parameters"] if parameter.get("required")]
    form = {"type": "object", "properties": fields, "required": required, "additionalProperties": False}
    post = {
        **get,
        "parameters": [],
        "responses": dict(get["responses"]),
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": form}}},
    }
    return {**operation, "post": post}


def document(secured: bool, allowed: list[str]) -> dict[str, Any]:
    """The description; `secured` when a token is configured (then every operation needs it).

    /addSource takes the configured allow-list only, so the schema names it.
    """
    window_counts = {
        "type": "object",
        "required": ["window", "counts", "cumulative"],
        "properties": {"window": {"type": "integer", "minimum": 1}, "counts": _COUNTS, "cumulative": _COUNTS},
    }
    count = {
        "type": "object",
        "required": ["by"],
        "properties": {
            "by": {"type": "string", "enum": list(BY_VALUES)},
            "counts": _COUNTS,
            "windows": {"type": "array", "items": window_counts},
        },
    }
    bucket = {
        "type": "object",
        "required": ["first", "last", "until", "records", "kingdoms", "new_species", "species"],
        "properties": {
            "until": {"type": "string"},
            "kingdoms": _COUNTS,
            **{name: {"type": "integer", "minimum": 0} for name in ("records", "new_species", "species")},
            **{name: {"type": "integer", "minimum": 1} for name in ("first", "last")},
        },
    }
    history = {
        "type": "object",
        "required": ["per", "windows_per_bucket", "last", "buckets"],
        "properties": {
            "per": {"type": "string", "enum": ["hour", "day"]},
            "windows_per_bucket": {"type": "integer", "minimum": 1},
            "last": {"type": "integer", "minimum": 0},
            "buckets": {"type": "array", "items": bucket},
        },
    }
    row = {
        "type": "object",
        "required": ["source", "plants", "animals", "fungi", "species"],
        "properties": {
            "source": {"type": "string"},
            **{name: {"type": "integer", "minimum": 0} for name in ("plants", "animals", "fungi", "species")},
        },
    }
    health = {
        "type": "object",
        "required": ["status", "components"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            "components": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string", "enum": ["ok", "degraded", "down"]}},
                },
            },
        },
    }
    paths = {
        "/": {
            "get": {
                "summary": "The dashboard",
                "responses": {
                    "200": {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}},
                    **_refusals(),
                },
            }
        },
        "/addSource": _with_form(
            _operation(
                "Stream an allowed source (nothing changes when it already streams); the text reply is empty",
                [{**_URL, "schema": {"type": "string", "enum": allowed}}],
                _answer(
                    "The source streams",
                    {
                        "type": "object",
                        "required": ["source", "created"],
                        "properties": {"source": _SOURCE, "created": {"type": "boolean"}},
                    },
                ),
                400,
                503,
            )
        ),
        "/removeSource": _with_form(
            _operation(
                "Stop streaming a source; what it sent stays counted",
                [_URL],
                _answer("The stream stopped", _SOURCE_REPLY),
                400,
                503,
            )
        ),
        "/listSources": _operation(
            "The active sources, one URL per line",
            [],
            _answer(
                "The sources",
                {
                    "type": "object",
                    "required": ["sources"],
                    "properties": {"sources": {"type": "array", "items": _SOURCE}},
                },
            ),
            503,
        ),
        "/count": _operation(
            "Records per source or kingdom, or unique species: totals, or per window for the last K windows",
            [
                {"name": "by", "in": "query", "required": True, "schema": {"type": "string", "enum": list(BY_VALUES)}},
                {
                    "name": "windows",
                    "in": "query",
                    "required": False,
                    "description": "The last K windows (K >= 1) or all of them; each line starts with its window",
                    "schema": {"type": "string", "pattern": "^([1-9][0-9]*|all)$"},
                },
            ],
            _answer("Lines 'name N', or 'window name N' per window", count),
            400,
        ),
        "/history": _operation(
            "Every window so far in buckets of an hour or a day of windows (at the consumer's trigger)",
            [
                {
                    "name": "per",
                    "in": "query",
                    "required": False,
                    "description": "The bucket: hour (the default) or day; the last bucket is the one still filling",
                    "schema": {"type": "string", "enum": ["hour", "day"]},
                }
            ],
            _answer("Lines 'first-last until records new_species species'", history),
            400,
        ),
        "/window": _operation(
            "One window's table: per source, plant, animal and fungi records and unique species",
            [{"name": "id", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1}}],
            _answer(
                "Lines 'window source plants animals fungi species'",
                {
                    "type": "object",
                    "required": ["window", "rows"],
                    "properties": {"window": {"type": "integer"}, "rows": {"type": "array", "items": row}},
                },
            ),
            400,
            404,
            503,
        ),
        "/health": {
            "get": {
                "summary": "Per-component status (Kafka, HDFS, Spark, streams, results)",
                "responses": {
                    "200": _answer("Every component is ok", health),
                    "503": _answer("Some component is not ok", health),
                    **_refusals(),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {
                    "200": {"description": "OpenAPI 3", "content": {"application/json": {"schema": _OBJECT}}},
                    **_refusals(),
                },
            }
        },
    }
    described: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Zootopia API", "version": __version__},
        "paths": paths,
    }
    # The dashboard's page holds no data: served without a token (its calls carry it).
    del paths["/"]["get"]["responses"]["401"]
    if secured:
        described["components"] = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
        described["security"] = [{"bearer": []}]
        paths["/"]["get"]["security"] = []
    else:
        for path, item in paths.items():
            for operation in item.values():
                if path != "/":
                    del operation["responses"]["401"]
    return described
