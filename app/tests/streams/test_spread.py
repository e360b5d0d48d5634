"""The streams' partitioner: a source's records are dealt over its topic's partitions, whatever the key."""

from __future__ import annotations

from collections import Counter

from zootopia.streams.producer import Spread


def test_records_of_one_key_are_dealt_over_every_partition_in_turn() -> None:
    spread = Spread()
    dealt = [spread(b"https://gbif.org", [0, 1, 2], [0, 1, 2]) for _ in range(9)]
    assert dealt == [0, 1, 2] * 3


def test_a_partition_without_a_leader_is_passed_over_until_it_is_back() -> None:
    spread = Spread()
    while_away = Counter(spread(b"k", [0, 1, 2], [0, 2]) for _ in range(10))
    assert set(while_away) == {0, 2}
    assert while_away[0] == while_away[2] == 5
    assert {spread(b"k", [0, 1, 2], [0, 1, 2]) for _ in range(3)} == {0, 1, 2}


def test_a_topic_of_one_partition_gets_everything() -> None:
    spread = Spread()
    assert {spread(b"k", [0], [0]) for _ in range(5)} == {0}
