"""How far a stream got, saved in the same Kafka transaction as the records it covers.

A restarted stream skips every row its last committed progress covers, so
Kafka receives each row once. Rows come in line order within a member of a
resource (an archive's core file, a page's items), which is what makes one
line number per member enough. A finished resource is one record of its own in
the finished-resources topic, written in the same transaction, so the progress
record stays small whatever the number of resources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone

from zootopia.hashset import HashPrefixSet, digest
from zootopia.records import Position

# Resource hashes are kept to this many hex digits in the lines' keys and the finished resources' records.
_HASH_DIGITS = 20


def short(resource: str) -> str:
    return resource[:_HASH_DIGITS]


@dataclass
class Progress:
    """One Kafka record per source, of a size that does not grow with the resources it finished:
    those are `finished`, read from their own records (one each) when the stream starts."""

    source_id: str
    state: str = "new"  # new | streaming | paused (backpressure) | done
    records: int = 0
    rejects: int = 0
    # Backpressure: how often the stream paused, and the consumer's lag (records) it saw last.
    pauses: int = 0
    lag_records: int = 0
    # How many resources the source has finished (their content hashes: `finished`).
    resources: int = 0
    # The crawl of the source this is (1, then one more each recrawl), and the URLs it finished:
    # a restart passes over those without downloading them again.
    crawl: int = 1
    # Written by releases before the finished resources had records of their own: read, never written.
    resources_done: list[str] = field(default_factory=list)
    # "<resource>!<member>" -> last line sent, of the resources still open
    lines: dict[str, int] = field(default_factory=dict)
    updated_at: str = ""
    done_at: str = ""
    finished: HashPrefixSet = field(init=False, repr=False, compare=False)
    finished_urls: HashPrefixSet = field(init=False, repr=False, compare=False)

    def covers(self, position: Position) -> bool:
        resource = short(position.resource)
        if resource in self.finished:
            return True
        return position.line <= self.lines.get(f"{resource}!{position.member}", 0)

    def sent_whole(self, resource: str) -> bool:
        """Was every row of the resource whose content is `resource` sent (in any crawl)?"""
        return short(resource) in self.finished

    def advance(self, position: Position) -> None:
        self.lines[f"{short(position.resource)}!{position.member}"] = position.line

    def complete(self, resource: str) -> bool:
        """The resource is finished: True if it was not already (its record is then to be written)."""
        hashed = short(resource)
        prefix = hashed + "!"
        self.lines = {key: line for key, line in self.lines.items() if not key.startswith(prefix)}
        if not self.finished.add(hashed):
            return False
        self.resources = len(self.finished)
        return True

    def finish_url(self, url: str) -> bool:
        """This crawl finished the resource at `url`: True if it had not (its record is then to be written)."""
        return self.finished_urls.add(url_key(url))

    def finished_url(self, url: str) -> bool:
        """Did this crawl finish the resource at `url`?"""
        return url_key(url) in self.finished_urls

    def next_crawl(self) -> None:
        """A recrawl: every URL is looked at again (contents already sent are still skipped row by row)."""
        self.crawl += 1
        self.finished_urls = HashPrefixSet()

    def take_legacy(self) -> list[str]:
        """The finished resources an older release listed in this record: they get records of their own."""
        legacy, self.resources_done = self.resources_done, []
        return legacy

    def to_json(self) -> bytes:
        self.updated_at = _now()
        body = {item.name: getattr(self, item.name) for item in fields(self) if item.init}
        return json.dumps(body, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Progress:
        return cls(**json.loads(data))

    def __post_init__(self) -> None:
        self.finished = HashPrefixSet(self.resources_done)
        self.finished_urls = HashPrefixSet()
        self.resources = max(self.resources, len(self.finished))


def url_key(url: str) -> str:
    """A resource URL's name in the finished records and `finished_urls`: its sha256, shortened."""
    return short(digest(url))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def mark_done(progress: Progress) -> None:
    progress.state = "done"
    progress.done_at = _now()
