"""An archive larger than the cache, read where it is: HTTP range requests, nothing on disk.

zipfile finds a zip's central directory at its end and then reads each member
from its own offset; `RangedFile` turns those seeks and reads into range
requests. A member read from start to end costs one request per span, and the
spans double (up to 16 MiB) while the reads stay sequential, so a core file of
hundreds of GB takes few requests and only the memory of one span's buffer.
Members that are not read (verbatim.txt, multimedia, per-dataset EML) are never
downloaded. A tar.gz is one gzip stream that cannot be entered in the middle,
and some hosts answer no range request: both are read as they download instead
(sources/sequential.py).
"""

from __future__ import annotations

import bisect
import io
import os
import re
from collections.abc import Iterable

import requests

from zootopia.sources.cache import CacheError, FetchError

_FIRST_SPAN = 64 * 1024
_LARGEST_SPAN = 16 * 1024 * 1024
# A dropped connection mid-archive is asked again from where it broke, this many times in a row.
_ATTEMPTS = 3
_CONTENT_RANGE = re.compile(r"bytes (?P<start>\d+)-(?P<end>\d+)/(?P<total>\d+)$")


class RangeUnsupported(CacheError):  # noqa: N818 - the name says what the server lacks
    """The server answers a range request with the whole resource (or not at all)."""


class RangedFile(io.RawIOBase):
    """A read-only, seekable file whose bytes are those of `url`, fetched by range on demand."""

    def __init__(self, url: str, session: requests.Session, timeout: float) -> None:
        super().__init__()
        self.url = url
        self._session = session
        self._timeout = timeout
        self._position = 0
        self._span = _FIRST_SPAN
        self._response: requests.Response | None = None
        # Where the open response's next byte is, and how many of its bytes are left.
        self._at = 0
        self._left = 0
        # Requests made (the cost of reading in place).
        self.requests = 0
        self._version = ""
        # Offsets a span never crosses (where members start): reading one member fetches none of the next.
        self._boundaries: list[int] = []
        self.size = self._probe()

    def stop_at(self, offsets: Iterable[int]) -> None:
        """No span reaches past the next of `offsets` (members' starts, the central directory's)."""
        self._boundaries = sorted(set(offsets))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError(f"seek to {base + offset}, before the start of {self.url}")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._position >= self.size or len(buffer) == 0:
            return 0
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                if self._response is None or self._at != self._position or self._left == 0:
                    self._open()
                assert self._response is not None
                data = self._response.raw.read(min(len(buffer), self._left))
                if not data:
                    raise FetchError(f"{self.url} closed the connection {self._left} bytes before the span's end")
                break
            except (requests.RequestException, OSError, FetchError) as error:
                self._drop()
                if attempt == _ATTEMPTS:
                    raise FetchError(f"range read of {self.url} at byte {self._position} failed: {error}") from error
        count = len(data)
        buffer[:count] = data
        self._position += count
        self._at += count
        self._left -= count
        return count

    def close(self) -> None:
        self._drop()
        super().close()

    def _probe(self) -> int:
        """The resource's size, from a one-byte range; refuses a server that does not answer ranges."""
        with self._get(0, 0) as response:
            total = self._checked(response, 0)
            self._version = _version(response)
        return total

    def _open(self) -> None:
        sequential = self._response is not None and self._at == self._position
        self._drop()
        self._span = min(self._span * 2, _LARGEST_SPAN) if sequential else _FIRST_SPAN
        following = bisect.bisect_right(self._boundaries, self._position)
        limit = self._boundaries[following] if following < len(self._boundaries) else self.size
        end = min(self._position + self._span, limit, self.size) - 1
        response = self._get(self._position, end)
        try:
            if self._checked(response, self._position) != self.size:
                raise FetchError(f"{self.url} changed size while it was read")
            if _version(response) != self._version:
                raise FetchError(f"{self.url} changed while it was read (ETag or Last-Modified differ)")
        except BaseException:
            response.close()
            raise
        self._response = response
        self._at = self._position
        self._left = end - self._position + 1

    def _get(self, start: int, end: int) -> requests.Response:
        self.requests += 1
        # identity: the range is of the stored bytes, never of a compressed rendering of them.
        headers = {"Range": f"bytes={start}-{end}", "Accept-Encoding": "identity"}
        try:
            return self._session.get(self.url, headers=headers, stream=True, timeout=self._timeout)
        except requests.RequestException as error:
            raise FetchError(f"range request to {self.url} failed: {error}") from error

    def _checked(self, response: requests.Response, start: int) -> int:
        """The total size a 206 answer gives, after checking it answers the range asked for."""
        if response.status_code == 200:
            raise RangeUnsupported(
                f"{self.url} answered a range request with the whole resource (HTTP 200): its server, or a"
                " proxy on the way, does not answer range requests"
            )
        if response.status_code != 206:
            raise FetchError(f"range request to {self.url} answered HTTP {response.status_code}")
        found = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if found is None or int(found["start"]) != start:
            raise FetchError(f"{self.url} answered a range request with Content-Range {found and found.group(0)!r}")
        return int(found["total"])

    def _drop(self) -> None:
        if self._response is not None:
            self._response.close()
        self._response = None
        self._left = 0


def _version(response: requests.Response) -> str:
    """What identifies the bytes served: ETag, else Last-Modified (a change between spans is an error)."""
    return response.headers.get("ETag") or response.headers.get("Last-Modified") or "-"
