"""How far a stream got, saved in the same Kafka transaction as the records it covers.

A restarted stream skips every row its last committed progress covers, so
Kafka receives each row once. Rows come in line order within a member of a
resource (an archive's core file, a page's items), which is what makes one
line number per member enough.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from zootopia.records import Position

# Resource hashes are kept to this many hex digits: the progress of a crawl of
# tens of thousands of archives must fit one Kafka record.
_HASH_DIGITS = 20


def _short(resource: str) -> str:
    return resource[:_HASH_DIGITS]


@dataclass
class Progress:
    source_id: str
    state: str = "new"  # new | streaming | paused (backpressure) | done
    records: int = 0
    rejects: int = 0
    # Backpressure: how often the stream paused, and the consumer's lag (records) it saw last.
    pauses: int = 0
    lag_records: int = 0
    resources_done: list[str] = field(default_factory=list)
    # "<resource>!<member>" -> last line sent
    lines: dict[str, int] = field(default_factory=dict)
    updated_at: str = ""
    done_at: str = ""

    def covers(self, position: Position) -> bool:
        resource = _short(position.resource)
        if resource in self._done:
            return True
        return position.line <= self.lines.get(f"{resource}!{position.member}", 0)

    def advance(self, position: Position) -> None:
        self.lines[f"{_short(position.resource)}!{position.member}"] = position.line

    def complete(self, resource: str) -> None:
        short = _short(resource)
        if short not in self._done:
            self.resources_done.append(short)
            self._done.add(short)
        prefix = short + "!"
        self.lines = {key: line for key, line in self.lines.items() if not key.startswith(prefix)}

    def to_json(self) -> bytes:
        self.updated_at = _now()
        body = asdict(self)
        return json.dumps(body, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Progress:
        return cls(**json.loads(data))

    def __post_init__(self) -> None:
        # covers() runs once per row: a set, kept beside the list that is saved.
        self._done = set(self.resources_done)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def mark_done(progress: Progress) -> None:
    progress.state = "done"
    progress.done_at = _now()
