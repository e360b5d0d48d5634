"""What a stream emits: one record per Darwin Core row, as Preston's json-stream prints it.

A line is a JSON object with one key per term, named by the term's URI, plus
`contentId` (where the row came from) and `rowType`. Preston 0.3.10 and later
name those two by their PROV and RDF URIs; `parse_stream_line` accepts both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Union

import orjson

DWC = "http://rs.tdwg.org/dwc/terms/"
KINGDOM = DWC + "kingdom"
SCIENTIFIC_NAME = DWC + "scientificName"
OCCURRENCE = DWC + "Occurrence"

CONTENT_ID = "contentId"
ROW_TYPE = "rowType"
# Preston >= 0.3.10 spells the two above so.
PROV_DERIVED_FROM = "http://www.w3.org/ns/prov#wasDerivedFrom"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

# line:zip:hash://sha256/<hash>!/occurrence.txt!/L12 -> resource hash, member, line.
_CONTENT_ID = re.compile(r"hash://sha256/(?P<hash>[0-9a-f]{64})(?P<member>(?:!/[^!]*?)*)!/L(?P<line>[0-9]+)$")


# The member of a resource set aside whole (a dead link, a file that is no archive): no archive member
# or page is named so.
WHOLE_RESOURCE = "!/resource"


@dataclass(frozen=True)
class Position:
    """Where a row is: the sha256 of its resource (archive or page), the member in it, the row's line."""

    resource: str
    member: str
    line: int


@dataclass(frozen=True)
class Record:
    # A blank cell is None (JSON null), as Preston's json-stream writes it: the term's key is kept.
    fields: dict[str, str | None]
    content_id: str
    row_type: str
    position: Position

    def to_json(self) -> bytes:
        """The json-stream line (Preston 0.3.5 names), UTF-8, without the newline.

        orjson writes the bytes json.dumps(ensure_ascii=False, separators=(",", ":")) encoded as UTF-8
        would, about three times faster: on a stream's path, a 12 KB record's encoding costs more
        than Kafka's client spends on it.
        """
        return orjson.dumps({**self.fields, CONTENT_ID: self.content_id, ROW_TYPE: self.row_type})


# The part of a set-aside row's text its reject keeps (a real row is at most 11.2 KB): a reject stays far
# under the brokers' message size whatever the row.
REJECT_RAW_CHARS = 64 * 1024


@dataclass(frozen=True)
class Malformed:
    """A row that cannot be a record: set aside with the reason, never sent as data."""

    raw: str
    reason: str
    position: Position | None


@dataclass(frozen=True)
class ResourceDone:
    """Every row of a resource has been emitted: a restart can skip the whole resource (by its content's
    sha256 `resource`, and within the same crawl by its `url` without downloading it)."""

    resource: str
    url: str = ""


StreamItem = Union[Record, Malformed, ResourceDone]


def position_of(content_id: str) -> Position | None:
    """The position a content id names, or None when it names no line of a hashed resource."""
    match = _CONTENT_ID.search(content_id)
    if match is None:
        return None
    return Position(match["hash"], match["member"], int(match["line"]))


def parse_stream_line(line: str | bytes) -> Record | Malformed:
    """A json-stream line (Preston 0.3.5 or >= 0.3.10) as a Record, or why it is not one."""
    text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
    text = text.rstrip("\r\n")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        return Malformed(text, f"not JSON: {error.msg} at column {error.colno}", None)
    if not isinstance(body, dict):
        return Malformed(text, f"not a JSON object but {type(body).__name__}", None)
    content_id = body.pop(CONTENT_ID, None) or body.pop(PROV_DERIVED_FROM, None)
    row_type = body.pop(ROW_TYPE, None) or body.pop(RDF_TYPE, None) or OCCURRENCE
    if not isinstance(content_id, str):
        return Malformed(text, "no contentId (or prov:wasDerivedFrom)", None)
    position = position_of(content_id)
    if position is None:
        return Malformed(text, f"contentId names no line of a hashed resource: {content_id}", None)
    if not all(isinstance(key, str) and (value is None or isinstance(value, str)) for key, value in body.items()):
        return Malformed(text, "a term value is neither a string nor null", position)
    return Record(body, content_id, str(row_type), position)
