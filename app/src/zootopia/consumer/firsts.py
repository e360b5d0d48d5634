"""A window's species counts from its distinct (source, name) pairs and the earlier pairs of the same names.

Spark finds both (consumer/job.py): the window's pairs in the job that counts its rows, the earlier ones
by scanning the stored history for this window's names only. What is left is small, one window's worth, and counted
here, on the driver: names per source and overall, those no earlier window had, and the pairs to store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from zootopia.consumer.documents import SpeciesCount

Pair = tuple[str, str]  # (source, scientific name)


@dataclass(frozen=True)
class WindowSpecies:
    by_source: dict[str, SpeciesCount]
    overall: SpeciesCount
    new_pairs: list[Pair]  # first seen by their source in this window: stored with it


def count(window_pairs: Iterable[Pair], earlier_pairs: Iterable[Pair]) -> WindowSpecies:
    """`earlier_pairs` may hold any earlier pair; only those of this window's names change the counts."""
    pairs = set(window_pairs)
    earlier = set(earlier_pairs)
    names_before = {name for _, name in earlier}
    new_pairs = sorted(pair for pair in pairs if pair not in earlier)
    species = Counter(source for source, _ in pairs)
    new = Counter(source for source, _ in new_pairs)
    names = {name for _, name in pairs}
    return WindowSpecies(
        by_source={source: SpeciesCount(species[source], new[source]) for source in species},
        overall=SpeciesCount(len(names), len(names - names_before)),
        new_pairs=new_pairs,
    )
