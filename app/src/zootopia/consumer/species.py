"""Which stored species sets a window reads, and when they are compacted: a plan from directory listings.

Each window writes the (source, name) pairs it saw first into its own partition (species/window=N).
Read as they are, a window would open one partition per earlier window: its cost would grow with the
number of windows. So every `every` windows the newest compacted set and the partitions after it are
merged into one set (species-compacted/upto=N-1), and what it holds is deleted. A window then reads one
compacted set and at most `every` partitions: flat in the number of windows, growing only with the
number of distinct pairs.

Restart-safe: a compacted set appears by one rename, whole; it holds windows <= N-1 only, so a replayed
window N reads exactly what it read the first time; deletions only remove what a newer set holds, and
are repeated by the next window if a crash interrupts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SpeciesPlan:
    """What window `window` reads and does: pairs seen before it = compacted set `base` + `partitions`."""

    window: int
    base: int  # the compacted set upto=base; 0: none
    partitions: tuple[int, ...]  # windows after `base` and before `window` that have a partition
    compact: bool  # merge base and partitions into upto=window-1 first
    stale_partitions: tuple[int, ...]  # partitions a compacted set already holds
    stale_sets: tuple[int, ...]  # compacted sets older than `base`

    @property
    def compacted_upto(self) -> int:
        return self.window - 1


def plan(window: int, partitions: Iterable[int], compacted: Iterable[int], every: int) -> SpeciesPlan:
    """The plan of `window`, given the windows that have a partition and the compacted sets' upto."""
    if window < 1:
        raise ValueError(f"window ids start at 1: {window}")
    if every < 1:
        raise ValueError(f"species sets are compacted every 1 window or more, not {every}")
    partitions, compacted = sorted(set(partitions)), sorted(set(compacted))
    # A set is usable if it holds earlier windows only (a later one exists only once this window is done).
    base = max((upto for upto in compacted if upto < window), default=0)
    after_base = tuple(number for number in partitions if base < number < window)
    return SpeciesPlan(
        window=window,
        base=base,
        partitions=after_base,
        compact=bool(after_base) and window - 1 - base >= every,
        stale_partitions=tuple(number for number in partitions if number <= base),
        stale_sets=tuple(upto for upto in compacted if upto < base),
    )
