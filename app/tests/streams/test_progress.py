"""A stream's progress: what it covers survives a JSON round trip through Kafka."""

from __future__ import annotations

from zootopia.records import Position
from zootopia.sources.engine import set_aside_position
from zootopia.streams.progress import Progress

ARCHIVE = "b" * 64
OTHER = "c" * 64


def test_lines_up_to_the_last_sent_are_covered() -> None:
    progress = Progress("s1")
    progress.advance(Position(ARCHIVE, "!/occurrence.txt", 5))
    assert progress.covers(Position(ARCHIVE, "!/occurrence.txt", 5))
    assert not progress.covers(Position(ARCHIVE, "!/occurrence.txt", 6))
    assert not progress.covers(Position(ARCHIVE, "!/other.txt", 2))
    assert not progress.covers(Position(OTHER, "!/occurrence.txt", 2))


def test_a_completed_resource_is_covered_whole_and_forgets_its_lines() -> None:
    progress = Progress("s1")
    progress.advance(Position(ARCHIVE, "!/occurrence.txt", 5))
    progress.complete(ARCHIVE)
    progress.complete(ARCHIVE)
    assert progress.covers(Position(ARCHIVE, "!/occurrence.txt", 10_000))
    assert progress.lines == {}
    assert len(progress.resources_done) == 1


def test_round_trip_keeps_what_is_covered() -> None:
    progress = Progress("s1", records=7, rejects=1)
    progress.advance(Position(OTHER, "!/items", 3))
    progress.complete(ARCHIVE)
    again = Progress.from_json(progress.to_json())
    assert again.covers(Position(ARCHIVE, "!/occurrence.txt", 99))
    assert again.covers(Position(OTHER, "!/items", 3))
    assert not again.covers(Position(OTHER, "!/items", 4))
    assert (again.records, again.rejects, again.updated_at) == (7, 1, progress.updated_at)


def test_a_resource_set_aside_whole_is_covered_after_a_restart() -> None:
    # The engine gives a dead link or unreadable archive its URL's position: a restarted stream
    # (its progress read back from Kafka) skips it instead of setting it aside a second time.
    dead = set_aside_position("http://mirror.test/idigbio/links/ipt.example.org/archive.do?r=gone")
    progress = Progress("s1")
    assert not progress.covers(dead)
    progress.advance(dead)
    again = Progress.from_json(progress.to_json())
    assert again.covers(dead)
    assert not again.covers(set_aside_position("http://mirror.test/idigbio/links/ipt.example.org/other.zip"))
