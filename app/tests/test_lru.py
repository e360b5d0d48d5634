"""The cache of older windows and packs: the least recently used entry goes first, the size holds."""

from __future__ import annotations

from zootopia.lru import Lru


def test_the_least_recently_used_entry_is_dropped_first() -> None:
    cache: Lru[int, str] = Lru(2)
    cache.put(1, "one")
    cache.put(2, "two")
    assert cache.get(1) == "one"  # 1 is now the most recent
    cache.put(3, "three")
    assert (cache.get(1), cache.get(2), cache.get(3)) == ("one", None, "three")
    assert len(cache) == 2
    cache.clear()
    assert (len(cache), cache.get(1)) == (0, None)
