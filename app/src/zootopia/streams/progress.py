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
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone

from zootopia.records import Position

# Resource hashes are kept to this many hex digits in the lines' keys and the finished resources' records.
_HASH_DIGITS = 20
# A finished resource is held in memory as the first 64 bits of its hash: 8 bytes each.
_KEY_DIGITS = 16


def short(resource: str) -> str:
    return resource[:_HASH_DIGITS]


class FinishedResources:
    """The resources a source has finished, by hash: a sorted array of 64-bit prefixes (8 bytes a
    resource, 1 MB for 120,000), so that a crawl of a whole registry holds no Python object per
    resource. The list itself lives in Kafka, one record per resource (producer.py)."""

    def __init__(self, resources: Iterable[str] = ()) -> None:
        self._keys = array("Q", sorted({_key(resource) for resource in resources}))

    def __contains__(self, resource: str) -> bool:
        key = _key(resource)
        at = bisect_left(self._keys, key)
        return at < len(self._keys) and self._keys[at] == key

    def __len__(self) -> int:
        return len(self._keys)

    def memory_bytes(self) -> int:
        return self._keys.itemsize * len(self._keys)

    def add(self, resource: str) -> bool:
        """Adds it; False if it was there already."""
        key = _key(resource)
        at = bisect_left(self._keys, key)
        if at < len(self._keys) and self._keys[at] == key:
            return False
        self._keys.insert(at, key)
        return True


def _key(resource: str) -> int:
    return int(resource[:_KEY_DIGITS], 16)


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
    # How many resources the source has finished (their hashes: `finished`).
    resources: int = 0
    # Written by releases before the finished resources had records of their own: read, never written.
    resources_done: list[str] = field(default_factory=list)
    # "<resource>!<member>" -> last line sent, of the resources still open
    lines: dict[str, int] = field(default_factory=dict)
    updated_at: str = ""
    done_at: str = ""
    finished: FinishedResources = field(init=False, repr=False, compare=False)

    def covers(self, position: Position) -> bool:
        resource = short(position.resource)
        if resource in self.finished:
            return True
        return position.line <= self.lines.get(f"{resource}!{position.member}", 0)

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
        self.finished = FinishedResources(self.resources_done)
        self.resources = max(self.resources, len(self.finished))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def mark_done(progress: Progress) -> None:
    progress.state = "done"
    progress.done_at = _now()
