"""The 8-bytes-a-member set of sha256 digests that registries' sizes are held in."""

from __future__ import annotations

from zootopia.hashset import HashPrefixSet, digest


def test_members_are_found_by_their_prefix_and_kept_once() -> None:
    hashes = [digest(str(n)) for n in range(1000)]
    members = HashPrefixSet(hashes[:500] + hashes[:10])
    assert len(members) == 500
    assert all(h in members for h in hashes[:500])
    assert not any(h in members for h in hashes[500:])
    assert members.add(hashes[700])
    assert not members.add(hashes[700])
    # A shortened digest (20 digits, as the finished resources' records name them) is the same member.
    assert hashes[700][:20] in members
    assert members.memory_bytes() == 501 * 8


def test_a_crawl_of_a_registry_of_120000_archives_holds_8_bytes_each() -> None:
    members = HashPrefixSet()
    for n in range(120_000):
        assert members.add(digest(f"https://archive.example/{n}.zip"))
    assert members.memory_bytes() == 960_000
    assert digest("https://archive.example/119999.zip") in members
    assert digest("https://archive.example/120000.zip") not in members
