"""The consumer's pure parts: HDFS layout, counting rules, window documents and running totals."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from zootopia.consumer import documents, layout, rules
from zootopia.consumer.documents import Cumulative, KingdomCount, SpeciesCount, build_document

GBIF = "https://api.gbif.org/v1/dataset/a"
OBIS = "https://api.obis.org/v3/dataset/b"
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_layout_paths_hang_off_the_root() -> None:
    where = layout.Layout("/zootopia/")
    assert where.window_document(7) == "/zootopia/windows/window-000007.json"
    assert where.window_document_temp(7) == "/zootopia/windows/.window-000007.json.tmp"
    assert where.species_partition(3) == "/zootopia/species/window=3"
    assert where.rejects_partition(3) == "/zootopia/rejects/window=3"
    assert where.checkpoint == "/zootopia/checkpoints/consumer"


def test_window_ids_follow_batch_ids() -> None:
    assert layout.window_id(0) == 1
    assert layout.window_id(41) == 42
    with pytest.raises(ValueError, match="negative"):
        layout.window_id(-1)


def test_window_file_names_round_trip_and_skip_others() -> None:
    for window in (1, 999_999, 1_234_567):
        assert layout.window_of_file(layout.window_file_name(window)) == window
    assert layout.window_of_file(".window-000001.json.tmp") is None
    assert layout.window_of_file("window-1.json") is None
    assert layout.window_of_file("_SUCCESS") is None
    with pytest.raises(ValueError, match="start at 1"):
        layout.window_file_name(0)


def test_whitespace_class_is_exactly_what_str_strip_removes() -> None:
    whitespace = re.compile(rules.WHITESPACE_CLASS)
    wrong = [
        hex(code) for code in range(sys.maxunicode + 1) if bool(whitespace.fullmatch(chr(code))) != chr(code).isspace()
    ]
    assert wrong == []


@pytest.mark.parametrize(
    "text",
    ["", " ", "Animalia", "  Puma concolor \t", "\xa0Mola mola\u3000", "a b", "\n\nx\n", " \u2028 ", "x\u200b"],
)
def test_strip_pattern_strips_as_python_does(text: str) -> None:
    assert re.sub(rules.STRIP_PATTERN, "", text) == text.strip()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Animalia", "Animalia"),
        (" ANIMALIA ", "Animalia"),
        ("plantae", "Plantae"),
        ("viruses\t", "Viruses"),
        ("Chromista", "Chromista"),
        ("Metazoa", "Metazoa"),
        ("  Incertae sedis ", "Incertae sedis"),
        ("", "unspecified"),
        ("   ", "unspecified"),
        (None, "unspecified"),
        ("Unspecified", "Unspecified"),
    ],
)
def test_kingdom_rule(raw: str | None, expected: str) -> None:
    assert rules.kingdom(raw) == expected


def test_species_rule_and_source() -> None:
    assert rules.species(" Mola mola ") == "Mola mola"
    assert rules.species(" ") is None
    assert rules.species(None) is None
    assert rules.source(None) == "unknown"
    assert rules.source(GBIF.encode()) == GBIF


def _first_window() -> dict[str, Any]:
    return build_document(
        1,
        trigger_seconds=120,
        counts=[
            KingdomCount(GBIF, "gbif", "Animalia", 5),
            KingdomCount(GBIF, "gbif", "Plantae", 2),
            KingdomCount(OBIS, "obis", "Animalia", 3),
            KingdomCount(OBIS, "obis", "unspecified", 1),
        ],
        rejects=2,
        species_by_source={GBIF: SpeciesCount(4, 4), OBIS: SpeciesCount(2, 2)},
        species_overall=SpeciesCount(5, 5),
        previous=Cumulative(),
        processed_at=WHEN,
    )


def test_first_window_document() -> None:
    assert _first_window() == {
        "window": 1,
        "batch_id": 0,
        "processed_at": "2026-01-02T03:04:05Z",
        "trigger_seconds": 120,
        "records": 11,
        "rejects": 2,
        "kingdoms": {"Animalia": 8, "Plantae": 2, "unspecified": 1},
        "species": 5,
        "new_species": 5,
        "sources": {
            GBIF: {
                "topic": "gbif",
                "records": 7,
                "kingdoms": {"Animalia": 5, "Plantae": 2},
                "species": 4,
                "new_species": 4,
                "cumulative_records": 7,
                "cumulative_species": 4,
            },
            OBIS: {
                "topic": "obis",
                "records": 4,
                "kingdoms": {"Animalia": 3, "unspecified": 1},
                "species": 2,
                "new_species": 2,
                "cumulative_records": 4,
                "cumulative_species": 2,
            },
        },
        "cumulative": {
            "records": 11,
            "species": 5,
            "rejects": 2,
            "kingdoms": {"Animalia": 8, "Plantae": 2, "unspecified": 1},
            "sources": {GBIF: {"records": 7, "species": 4}, OBIS: {"records": 4, "species": 2}},
        },
    }


def test_totals_carry_over_windows_a_source_misses() -> None:
    first = _first_window()
    second = build_document(
        2,
        trigger_seconds=120,
        counts=[KingdomCount(OBIS, "obis", "Animalia", 4)],
        rejects=0,
        species_by_source={OBIS: SpeciesCount(3, 1)},
        species_overall=SpeciesCount(3, 0),
        previous=Cumulative.from_documents([first]),
        processed_at=WHEN + timedelta(minutes=2),
    )
    assert list(second["sources"]) == [OBIS]
    assert second["sources"][OBIS]["cumulative_records"] == 8
    assert second["sources"][OBIS]["cumulative_species"] == 3
    assert second["cumulative"] == {
        "records": 15,
        "species": 5,
        "rejects": 2,
        "kingdoms": {"Animalia": 12, "Plantae": 2, "unspecified": 1},
        # GBIF is not in window 2 but stays in its totals.
        "sources": {GBIF: {"records": 7, "species": 4}, OBIS: {"records": 8, "species": 3}},
    }
    # GBIF comes back in window 3: its totals continue from window 1, read from the stored documents.
    stored = [json.loads(documents.dumps(doc)) for doc in (second, first)]
    third = build_document(
        3,
        trigger_seconds=120,
        counts=[KingdomCount(GBIF, "gbif", "Fungi", 1)],
        rejects=1,
        species_by_source={GBIF: SpeciesCount(1, 1)},
        species_overall=SpeciesCount(1, 1),
        previous=Cumulative.from_documents(stored),
        processed_at=WHEN,
    )
    assert third["sources"][GBIF]["cumulative_records"] == 8
    assert third["sources"][GBIF]["cumulative_species"] == 5
    assert {key: third["cumulative"][key] for key in ("records", "species", "rejects")} == {
        "records": 16,
        "species": 6,
        "rejects": 3,
    }
    assert third["cumulative"]["sources"][GBIF] == {"records": 8, "species": 5}
    assert third["cumulative"]["kingdoms"]["Fungi"] == 1


def test_an_empty_window_keeps_the_totals() -> None:
    first = _first_window()
    empty = build_document(
        2,
        trigger_seconds=120,
        counts=[],
        rejects=0,
        species_by_source={},
        species_overall=SpeciesCount(0, 0),
        previous=Cumulative.from_documents([first]),
        processed_at=WHEN,
    )
    assert empty["records"] == 0
    assert empty["sources"] == {}
    assert empty["cumulative"] == first["cumulative"]


def test_a_missing_window_document_is_an_error_not_a_smaller_total() -> None:
    first = _first_window()
    with pytest.raises(ValueError, match="window 1 needs the totals of window 0"):
        build_document(
            1,
            trigger_seconds=120,
            counts=[],
            rejects=0,
            species_by_source={},
            species_overall=SpeciesCount(0, 0),
            previous=Cumulative.from_documents([first]),
            processed_at=WHEN,
        )
    third = dict(first, window=3)
    with pytest.raises(ValueError, match="documents in between are missing"):
        Cumulative.from_documents([first, third])


def test_processed_at_is_utc() -> None:
    local = WHEN.astimezone(timezone(timedelta(hours=2)))
    document = build_document(
        1,
        trigger_seconds=10,
        counts=[],
        rejects=0,
        species_by_source={},
        species_overall=SpeciesCount(0, 0),
        previous=Cumulative(),
        processed_at=local,
    )
    assert document["processed_at"] == "2026-01-02T03:04:05Z"


def test_a_source_on_two_topics_lists_both() -> None:
    document = build_document(
        1,
        trigger_seconds=10,
        counts=[KingdomCount(GBIF, "obis", "Animalia", 1), KingdomCount(GBIF, "gbif", "Animalia", 2)],
        rejects=0,
        species_by_source={},
        species_overall=SpeciesCount(0, 0),
        previous=Cumulative(),
        processed_at=WHEN,
    )
    assert document["sources"][GBIF]["topic"] == "gbif,obis"
    assert document["sources"][GBIF]["kingdoms"] == {"Animalia": 3}


def _windows(count: int) -> list[dict[str, Any]]:
    """`count` stored documents: sources and kingdoms come and go, some windows are empty."""
    stored: list[dict[str, Any]] = []
    totals = Cumulative()
    for window in range(1, count + 1):
        counts = [KingdomCount(GBIF, "gbif", "Animalia", window)] if window % 3 else []
        if window % 4 == 1:
            counts.append(KingdomCount(OBIS, "obis", ["Plantae", "Fungi"][window % 2], 2))
        seen = {count.source for count in counts}
        document = build_document(
            window,
            trigger_seconds=120,
            counts=counts,
            rejects=window % 2,
            species_by_source={url: SpeciesCount(2, 1) for url in seen},
            species_overall=SpeciesCount(2, 1 if seen else 0),
            previous=totals,
            processed_at=WHEN,
        )
        stored.append(json.loads(documents.dumps(document)))
        totals = totals.after(document)
    return stored


def test_the_last_document_alone_restores_the_totals_of_every_window_before() -> None:
    stored = _windows(12)
    for last in range(1, len(stored) + 1):
        assert Cumulative.from_last_document(stored[last - 1]) == Cumulative.from_documents(stored[:last])
    totals = Cumulative.from_last_document(stored[-1])
    assert totals is not None
    assert totals.window == 12
    assert sum(entry.records for entry in totals.sources.values()) == totals.records
    assert sum(totals.kingdoms.values()) == totals.records


def test_a_document_of_an_older_release_restores_nothing_on_its_own() -> None:
    older = _windows(2)[-1]
    older["cumulative"] = {key: older["cumulative"][key] for key in ("records", "species", "rejects")}
    assert Cumulative.from_last_document(older) is None
