"""A set of sha256 digests held as the sorted first 64 bits of each: 8 bytes a member.

For what grows with a registry (GBIF lists ~120,000 datasets): the archives a crawl has seen, the
resources a stream has finished. A Python set of strings would take ~100 bytes a member and grow
the process with the crawl; 64 bits make a collision between 120,000 digests a chance of about 4e-10.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable

_KEY_DIGITS = 16


def digest(text: str) -> str:
    """The sha256 of a text (a URL, say) in hex: what this set holds."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class HashPrefixSet:
    def __init__(self, digests: Iterable[str] = ()) -> None:
        self._keys = array("Q", sorted({_key(value) for value in digests}))

    def __contains__(self, value: str) -> bool:
        key = _key(value)
        at = bisect_left(self._keys, key)
        return at < len(self._keys) and self._keys[at] == key

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, value: str) -> bool:
        """Adds a hex digest (at least 16 digits); False if it was there already."""
        key = _key(value)
        at = bisect_left(self._keys, key)
        if at < len(self._keys) and self._keys[at] == key:
            return False
        self._keys.insert(at, key)
        return True

    def memory_bytes(self) -> int:
        return self._keys.itemsize * len(self._keys)


def _key(value: str) -> int:
    return int(value[:_KEY_DIGITS], 16)
