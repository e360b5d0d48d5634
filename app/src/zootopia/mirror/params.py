"""Query parameters shared by the three APIs: paging integers, refused with a 400 when malformed."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest


def non_negative(args: MultiDict[str, str], name: str, default: int) -> int:
    """The integer parameter `name`, or `default` when absent; 400 when not a non-negative integer."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, not {raw!r}") from None
    if value < 0:
        raise BadRequest(f"{name} must not be negative, not {value}")
    return value


def page_size(args: MultiDict[str, str], name: str, default: int, maximum: int | None) -> int:
    """A page size; above `maximum` it is capped, as the real APIs do, rather than refused."""
    value = non_negative(args, name, default)
    return value if maximum is None else min(value, maximum)
