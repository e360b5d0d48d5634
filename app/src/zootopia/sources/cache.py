"""A bounded, content-addressed download cache shared by the stream processes of a node.

Files live at root/sha256/<2 hex>/<64 hex>. A download goes to a temporary file
in root/tmp while it is hashed, then is renamed into place: a reader never sees
a partial file, and two processes fetching the same URL both end with the same
complete file. The file's mtime is its last use; after each fetch the least
recently used files are removed until the cache fits its bound. A pinned file
(one being read) is never removed, by any process: a pin is a marker file
root/pins/<sha>.<pid> that counts only while that process is alive.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

_CHUNK = 1024 * 1024
# Temporary files older than this are leftovers of a crashed process.
_STALE_SECONDS = 24 * 3600


class CacheError(Exception):
    """A resource could not be put in the cache."""


class CacheFull(CacheError):  # noqa: N818 - the name says what happened, as the brief asks
    """The resource alone is larger than the whole cache."""


class FetchError(CacheError):
    """The download failed (connection, HTTP status, timeout)."""


@dataclass(frozen=True)
class CachedFile:
    path: Path
    sha256: str
    size: int


class ContentCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes}")
        self.root = root
        self.max_bytes = max_bytes
        self._files = root / "sha256"
        self._tmp = root / "tmp"
        self._pins_dir = root / "pins"
        # Scratch space for readers (unpacked archives), on the cache's disk rather than /tmp.
        self.work_dir = root / "work"
        for directory in (self._files, self._tmp, self._pins_dir, self.work_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self._pins: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._remove_stale_temporaries()

    def path_of(self, sha256: str) -> Path:
        return self._files / sha256[:2] / sha256

    def fetch(self, url: str, session: requests.Session, timeout: float) -> CachedFile:
        """Download `url` into the cache. Not pinned: use `fetching` to read it safely."""
        cached = self._store(url, session, timeout)
        self.unpin(cached.sha256)
        return cached

    @contextlib.contextmanager
    def fetching(self, url: str, session: requests.Session, timeout: float) -> Iterator[CachedFile]:
        """Download `url` and keep the file pinned until the block ends.

        Pinned files may hold the cache above its bound for a while; once the
        block ends the cache is brought back within it.
        """
        cached = self._store(url, session, timeout)
        try:
            yield cached
        finally:
            self.unpin(cached.sha256)
            self.evict()

    def _store(self, url: str, session: requests.Session, timeout: float) -> CachedFile:
        """Download `url` into place and return it pinned."""
        temporary, sha256, size = self._download(url, session, timeout)
        self.pin(sha256)
        try:
            target = self.path_of(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Atomic: a concurrent fetch of the same content renames identical bytes.
            temporary.replace(target)
            os.utime(target)
            self.evict()
            if not target.exists():
                # Another process evicted it between its pin check and our pin: rare, not fatal.
                raise CacheError(f"{url} was evicted by another process while being stored; fetch it again")
        except BaseException:
            temporary.unlink(missing_ok=True)
            self.unpin(sha256)
            raise
        return CachedFile(target, sha256, size)

    @contextlib.contextmanager
    def using(self, cached: CachedFile) -> Iterator[CachedFile]:
        """Pin `cached` (marking it used) for the duration of the block."""
        self.pin(cached.sha256)
        try:
            if not cached.path.exists():
                raise CacheError(f"{cached.sha256} is no longer in the cache")
            os.utime(cached.path)
            yield cached
        finally:
            self.unpin(cached.sha256)

    def pin(self, sha256: str) -> None:
        with self._lock:
            self._pins[sha256] += 1
            if self._pins[sha256] == 1:
                self._marker(sha256).touch()

    def unpin(self, sha256: str) -> None:
        with self._lock:
            if self._pins[sha256] <= 0:
                raise ValueError(f"{sha256} is not pinned")
            self._pins[sha256] -= 1
            if self._pins[sha256] == 0:
                del self._pins[sha256]
                self._marker(sha256).unlink(missing_ok=True)

    def usage(self) -> int:
        return sum(size for _, _, size in self._entries())

    def evict(self) -> None:
        """Remove least recently used, unpinned files until the cache fits its bound."""
        entries = sorted(self._entries(), key=lambda entry: entry[1])
        total = sum(size for _, _, size in entries)
        pinned = self._pinned_everywhere()
        for path, _, size in entries:
            if total <= self.max_bytes:
                break
            if path.name in pinned:
                continue
            # Another process may have removed it first: it is gone either way.
            path.unlink(missing_ok=True)
            total -= size

    def _download(self, url: str, session: requests.Session, timeout: float) -> tuple[Path, str, int]:
        digest = hashlib.sha256()
        size = 0
        handle, name = tempfile.mkstemp(dir=self._tmp, prefix="download-")
        temporary = Path(name)
        try:
            with os.fdopen(handle, "wb") as out, session.get(url, stream=True, timeout=timeout) as response:
                response.raise_for_status()
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise self._too_big(url, int(declared))
                for chunk in response.iter_content(_CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self._too_big(url, size)
                    digest.update(chunk)
                    out.write(chunk)
        except requests.RequestException as error:
            temporary.unlink(missing_ok=True)
            raise FetchError(f"download of {url} failed: {error}") from error
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return temporary, digest.hexdigest(), size

    def _too_big(self, url: str, size: int) -> CacheFull:
        return CacheFull(
            f"{url} is larger than the whole cache ({size} > {self.max_bytes} bytes): raise cache.max_bytes to read it"
        )

    def _entries(self) -> list[tuple[Path, float, int]]:
        entries = []
        for path in self._files.glob("??/*"):
            try:
                status = path.stat()
            except FileNotFoundError:
                continue
            entries.append((path, status.st_mtime, status.st_size))
        return entries

    def _marker(self, sha256: str) -> Path:
        return self._pins_dir / f"{sha256}.{os.getpid()}"

    def _pinned_everywhere(self) -> set[str]:
        pinned = set()
        for marker in self._pins_dir.iterdir():
            sha256, _, pid = marker.name.partition(".")
            if pid.isdigit() and _alive(int(pid)):
                pinned.add(sha256)
            else:
                marker.unlink(missing_ok=True)
        return pinned

    def _remove_stale_temporaries(self) -> None:
        limit = time.time() - _STALE_SECONDS
        for path in self._tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < limit:
                    path.unlink()
        # Unpacked archives of processes that died before cleaning up (see readers.work_prefix).
        for path in self.work_dir.iterdir():
            pid = path.name.split("-")[2] if path.name.count("-") >= 3 else ""
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
