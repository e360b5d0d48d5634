"""json-stream lines: both Preston spellings become the same Record; anything else is Malformed with a reason."""

from __future__ import annotations

import json

import pytest

from zootopia.records import KINGDOM, SCIENTIFIC_NAME, Malformed, Position, Record, parse_stream_line, position_of

HASH = "a" * 64
CONTENT_ID = f"line:zip:hash://sha256/{HASH}!/occurrence.txt!/L12"


def test_preston_035_line_round_trips() -> None:
    line = json.dumps(
        {KINGDOM: "Animalia", "contentId": CONTENT_ID, "rowType": "http://rs.tdwg.org/dwc/terms/Occurrence"}
    )
    record = parse_stream_line(line + "\n")
    assert isinstance(record, Record)
    assert record.fields == {KINGDOM: "Animalia"}
    assert record.position == Position(HASH, "!/occurrence.txt", 12)
    assert json.loads(record.to_json()) == json.loads(line)


def test_a_blank_cell_written_as_null_by_preston_is_kept_as_null() -> None:
    line = json.dumps({KINGDOM: None, SCIENTIFIC_NAME: "Bufo bufo", "contentId": CONTENT_ID})
    record = parse_stream_line(line)
    assert isinstance(record, Record)
    assert record.fields == {KINGDOM: None, SCIENTIFIC_NAME: "Bufo bufo"}
    assert b'"http://rs.tdwg.org/dwc/terms/kingdom":null' in record.to_json()


def test_a_record_is_written_byte_for_byte_as_the_json_module_writes_it() -> None:
    # Escapes (quote, backslash, control characters), non-ASCII kept as UTF-8 (accents, a character
    # outside the BMP, U+2028), null for a blank cell: the bytes json.dumps gave before orjson.
    fields: dict[str, str | None] = {
        KINGDOM: 'Anim"alia\\ \n\t\x00\x1f\x7f',
        SCIENTIFIC_NAME: "Pé 😀 \u2028 ä",
        "http://rs.tdwg.org/dwc/terms/locality": None,
    }
    record = Record(fields, CONTENT_ID, "http://rs.tdwg.org/dwc/terms/Occurrence", Position(HASH, "!/o", 1))
    body = {**fields, "contentId": CONTENT_ID, "rowType": "http://rs.tdwg.org/dwc/terms/Occurrence"}
    assert record.to_json() == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def test_preston_0310_names_are_read_as_contentid_and_rowtype() -> None:
    line = json.dumps(
        {
            KINGDOM: "Plantae",
            "http://www.w3.org/ns/prov#wasDerivedFrom": CONTENT_ID,
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#type": "http://rs.tdwg.org/dwc/terms/Event",
        }
    )
    record = parse_stream_line(line.encode())
    assert isinstance(record, Record)
    assert record.content_id == CONTENT_ID
    assert record.row_type == "http://rs.tdwg.org/dwc/terms/Event"
    assert record.fields == {KINGDOM: "Plantae"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({KINGDOM: "Fungi"}), "no contentId"),
        (json.dumps({"contentId": "urn:uuid:1"}), "names no line"),
        (json.dumps({KINGDOM: 3, "contentId": CONTENT_ID}), "neither a string nor null"),
        (b"\xff\xfe{", "not JSON"),
    ],
)
def test_malformed_lines_say_why(line: str | bytes, reason: str) -> None:
    result = parse_stream_line(line)
    assert isinstance(result, Malformed)
    assert reason in result.reason


def test_position_of_a_json_page_item() -> None:
    assert position_of(f"line:json:hash://sha256/{HASH}!/items!/L3") == Position(HASH, "!/items", 3)
    assert position_of("hash://sha256/short!/L3") is None
