"""A stream's progress: what it covers survives a JSON round trip through Kafka."""

from __future__ import annotations

import hashlib
import json

from zootopia.records import Position
from zootopia.sources.engine import set_aside_position
from zootopia.streams.progress import Progress, short, url_key

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
    assert progress.complete(ARCHIVE)
    assert not progress.complete(ARCHIVE)
    assert progress.covers(Position(ARCHIVE, "!/occurrence.txt", 10_000))
    assert progress.lines == {}
    assert (progress.resources, len(progress.finished)) == (1, 1)


def test_round_trip_keeps_what_is_covered() -> None:
    progress = Progress("s1", records=7, rejects=1)
    progress.advance(Position(OTHER, "!/items", 3))
    progress.complete(ARCHIVE)
    again = Progress.from_json(progress.to_json())
    # Finished resources have records of their own: the stream reads them back into `finished`.
    assert not again.covers(Position(ARCHIVE, "!/occurrence.txt", 99))
    again.finished.add(short(ARCHIVE))
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
    assert progress.complete(dead.resource)
    assert progress.lines == {}
    again = Progress.from_json(progress.to_json())
    again.finished.add(short(dead.resource))
    assert again.covers(dead)
    assert not again.covers(set_aside_position("http://mirror.test/idigbio/links/ipt.example.org/other.zip"))


def test_the_progress_record_does_not_grow_with_the_resources_finished() -> None:
    # GBIF's registry: 118,773 datasets. Each finished resource is a record of its own, so the
    # progress stays far below the broker's 1 MB message limit (the issue asks under 64 KiB).
    progress = Progress("s1", records=3_500_000_000)
    small = len(progress.to_json())
    for n in range(120_000):
        progress.complete(hashlib.sha256(str(n).encode()).hexdigest())
    progress.advance(Position(OTHER, "!/occurrence.txt", 123_456_789))
    assert progress.resources == 120_000
    assert len(progress.to_json()) < small + 200 < 64 * 1024
    # 8 bytes a finished resource in memory.
    assert progress.finished.memory_bytes() == 960_000


def test_urls_finished_in_this_crawl_are_known_until_the_next_crawl() -> None:
    progress = Progress("s1")
    url = "http://mirror.test/gbif/archives/a.zip"
    assert progress.finish_url(url)
    assert not progress.finish_url(url)
    again = Progress.from_json(progress.to_json())
    assert again.crawl == 1
    # Read back from its record by the stream (producer.load_progress), not from the progress record.
    assert not again.finished_url(url)
    again.finished_urls.add(url_key(url))
    assert again.finished_url(url)
    again.next_crawl()
    assert (again.crawl, again.finished_url(url)) == (2, False)


def test_an_older_release_list_of_finished_resources_is_read_once_and_then_written_as_records() -> None:
    legacy = json.dumps({"source_id": "s1", "state": "done", "resources_done": [short(ARCHIVE)], "lines": {}})
    progress = Progress.from_json(legacy.encode())
    assert progress.covers(Position(ARCHIVE, "!/occurrence.txt", 5))
    assert progress.take_legacy() == [short(ARCHIVE)]
    assert json.loads(progress.to_json())["resources_done"] == []
    assert progress.covers(Position(ARCHIVE, "!/occurrence.txt", 5))
