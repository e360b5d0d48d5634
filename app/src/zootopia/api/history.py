"""The whole history per hour or per day, from the windows a worker keeps at each hour's end.

A bucket's figures are the difference of the running totals at its last window and at the last
window before it, so the history costs one window per hour of memory and no scan of the windows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from zootopia.api.results import Snapshot, Window

PERIODS = {"hour": 1, "day": 24}


@dataclass(frozen=True)
class Bucket:
    first: int
    last: int
    # When its last window was processed (UTC, ISO 8601).
    until: str
    records: int
    kingdoms: Mapping[str, int]
    new_species: int
    # Unique species over every window up to its last.
    species: int

    def as_dict(self) -> dict[str, object]:
        return {
            "first": self.first,
            "last": self.last,
            "until": self.until,
            "records": self.records,
            "kingdoms": dict(self.kingdoms),
            "new_species": self.new_species,
            "species": self.species,
        }


def buckets(snapshot: Snapshot, per: str) -> list[Bucket]:
    """Buckets of `per` (hour or day, in windows at the trigger) up to the last window, the last one partial."""
    size = snapshot.hour * PERIODS[per]
    ends = [window for window in snapshot.hourly if window.id % size == 0]
    if snapshot.recent and (not ends or ends[-1].id != snapshot.last):
        ends.append(snapshot.recent[-1])
    listed: list[Bucket] = []
    before: Window | None = None
    for end in ends:
        listed.append(_between(before, end))
        before = end
    return listed


def _between(before: Window | None, end: Window) -> Bucket:
    kingdoms = {
        name: count - (before.cumulative_kingdoms.get(name, 0) if before else 0)
        for name, count in end.cumulative_kingdoms.items()
    }
    return Bucket(
        first=before.id + 1 if before else 1,
        last=end.id,
        until=end.processed_at,
        records=end.cumulative_records - (before.cumulative_records if before else 0),
        kingdoms={name: count for name, count in kingdoms.items() if count},
        new_species=end.cumulative_species - (before.cumulative_species if before else 0),
        species=end.cumulative_species,
    )
