"""A window's species counts against earlier windows' pairs: per source, overall, and the pairs to store."""

from __future__ import annotations

from zootopia.consumer.documents import SpeciesCount
from zootopia.consumer.firsts import count

GBIF, OBIS = "https://gbif.org", "https://obis.org"


def test_a_name_new_to_its_source_but_seen_by_another_is_new_there_not_overall() -> None:
    window = [(GBIF, "Puma concolor"), (OBIS, "Puma concolor"), (OBIS, "Gadus morhua"), (GBIF, "Gadus morhua")]
    earlier = [(GBIF, "Puma concolor"), (OBIS, "Lynx lynx")]
    found = count(window, earlier)
    assert found.by_source == {GBIF: SpeciesCount(2, 1), OBIS: SpeciesCount(2, 2)}
    # Puma concolor was seen before (by GBIF); Gadus morhua by no one.
    assert found.overall == SpeciesCount(2, 1)
    assert found.new_pairs == [(GBIF, "Gadus morhua"), (OBIS, "Gadus morhua"), (OBIS, "Puma concolor")]


def test_repeated_pairs_count_once_and_earlier_pairs_of_other_names_change_nothing() -> None:
    window = [(GBIF, "Puma concolor")] * 3
    found = count(window, [(OBIS, "Lynx lynx"), (OBIS, "Lynx lynx")])
    assert found.by_source == {GBIF: SpeciesCount(1, 1)}
    assert found.overall == SpeciesCount(1, 1)


def test_a_window_of_names_all_seen_stores_nothing() -> None:
    window = [(GBIF, "Puma concolor"), (OBIS, "Lynx lynx")]
    found = count(window, window)
    assert found.by_source == {GBIF: SpeciesCount(1, 0), OBIS: SpeciesCount(1, 0)}
    assert found.overall == SpeciesCount(2, 0)
    assert found.new_pairs == []


def test_an_empty_window_counts_nothing() -> None:
    found = count([], [(GBIF, "Puma concolor")])
    assert (found.by_source, found.overall, found.new_pairs) == ({}, SpeciesCount(0, 0), [])
