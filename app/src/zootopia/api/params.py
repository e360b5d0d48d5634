"""Query parameters of the API: each endpoint names the ones it takes; anything else is a 400."""

from __future__ import annotations

from collections.abc import Collection

from werkzeug.datastructures import MultiDict

# A token given as a parameter is refused: URLs end up in logs, browser histories and bookmarks.
TOKEN = "token"
BY_VALUES = ("source", "kingdom", "totalSpecies")


class ApiError(Exception):
    """A request the API refuses: the status and a one-line explanation for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def checked(args: MultiDict[str, str], allowed: Collection[str], required: Collection[str] = ()) -> dict[str, str]:
    """The parameters, one value each; unknown, repeated or missing ones are refused."""
    for name in args:
        if name not in allowed:
            raise ApiError(400, f"Unrecognized parameter '{name}'")
        if len(args.getlist(name)) > 1:
            raise ApiError(400, f"Parameter '{name}' is given more than once")
    for name in required:
        if not args.get(name, "").strip():
            raise ApiError(400, f"Missing parameter '{name}'")
    return {name: args[name] for name in args}


def by(value: str | None) -> str:
    if value is None:
        raise ApiError(400, f"Missing parameter 'by' (one of {', '.join(BY_VALUES)})")
    if value not in BY_VALUES:
        raise ApiError(400, f"Invalid value '{value}' for 'by': use one of {', '.join(BY_VALUES)}")
    return value


def windows(value: str | None) -> int | None:
    """How many of the last windows to show: a count >= 1, 0 for all of them, None for totals."""
    if value is None:
        return None
    if value == "all":
        return 0
    if value.isdigit() and value.isascii() and int(value) >= 1:
        return int(value)
    raise ApiError(400, f"Invalid value '{value}' for 'windows': use a whole number >= 1 or 'all'")


def window_id(value: str | None) -> int:
    if value is None or not value.strip():
        raise ApiError(400, "Missing parameter 'id' (a window number >= 1)")
    if value.isdigit() and value.isascii() and int(value) >= 1:
        return int(value)
    raise ApiError(400, f"Invalid value '{value}' for 'id': a window number is a whole number >= 1")


def period(value: str | None) -> str:
    """The bucket of /history: an hour (the default) or a day of windows."""
    if value is None:
        return "hour"
    if value in ("hour", "day"):
        return value
    raise ApiError(400, f"Invalid value '{value}' for 'per': use hour or day")
