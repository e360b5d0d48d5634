"""An archive larger than the cache that cannot be read in place: read as it downloads, nothing on disk.

Hosts that answer no range request, and tar.gz archives (one gzip stream, which cannot be entered in
the middle), are read in two sequential downloads, each held to one chunk in memory:

1. the survey: every byte hashed (the archive's identity is its sha256, as through the cache), only
   meta.xml kept (within its bound), every other member passed over as it streams by; so meta.xml may
   come anywhere in the archive (the NRM archive and GBIF's downloads have it last or first);
2. the rows: the core file's rows read as its member streams by, every other member passed over; the
   bytes hashed again, so an archive that changed between the two reads is reported, and the download
   checked to have the same validator (ETag or Last-Modified) before a row is read.

Zip members are unpacked by stream-unzip (deflate, deflate64, bzip2, ZIP64, data descriptors); a tar's
by tarfile's stream mode. A stream restarted mid-archive surveys it again and skips the rows its
progress covers: the rows' positions are those of the cached read of the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import requests
import stream_unzip
from dwca.descriptors import ArchiveDescriptor

from zootopia.config import LimitSettings
from zootopia.sources import readers
from zootopia.sources.cache import FetchError

_CHUNK = 1024 * 1024
_ZIP = b"PK\x03\x04"


@dataclass
class Survey:
    """What the first download found: the identity, the validator, the format, meta.xml's text and the
    core file's member name."""

    sha256: str = ""
    version: str = ""
    size: int = 0
    kind: str = ""
    metas: dict[str, bytes] = field(default_factory=dict)
    core: str = ""
    descriptor: Any = None


def open_archive(
    url: str, session: requests.Session, timeout: float, limits: LimitSettings
) -> tuple[str, Iterator[readers.Row]]:
    """The archive's identity (its sha256) and its core rows, read in two downloads (module docstring)."""
    survey = _survey(url, session, timeout, limits)
    return survey.sha256, _rows(url, session, timeout, limits, survey)


def _download(url: str, session: requests.Session, timeout: float) -> requests.Response:
    try:
        response = session.get(url, stream=True, timeout=timeout, headers={"Accept-Encoding": "identity"})
        response.raise_for_status()
    except requests.RequestException as error:
        raise FetchError(f"download of {url} failed: {error}") from error
    return response


def _hashed(response: requests.Response, update: Callable[[bytes], object], counted: list[int]) -> Iterator[bytes]:
    try:
        for chunk in response.iter_content(_CHUNK):
            update(chunk)
            counted[0] += len(chunk)
            yield chunk
    except requests.RequestException as error:
        raise FetchError(f"download of {response.url} broke off after {counted[0]} bytes: {error}") from error


def _survey(url: str, session: requests.Session, timeout: float, limits: LimitSettings) -> Survey:
    survey = Survey()
    digest = hashlib.sha256()
    counted = [0]
    with _download(url, session, timeout) as response:
        survey.version = _version(response)
        chunks = _Peeked(_hashed(response, digest.update, counted))
        survey.kind = "zip" if chunks.head.startswith(_ZIP) else "tar"
        for name, member in _members(chunks, survey.kind):
            if _is_meta(name):
                survey.metas[name] = _bounded(member, limits)
            else:
                _drain(member)
        _drain(chunks)  # a zip's central directory: hashed too
    survey.sha256, survey.size = digest.hexdigest(), counted[0]
    meta = "meta.xml" if "meta.xml" in survey.metas else min(survey.metas, default=None)
    if meta is None:
        raise readers.ArchiveError("no meta.xml in the archive")
    text = readers.check_meta(survey.metas[meta], limits)
    try:
        survey.descriptor = ArchiveDescriptor(text, files_to_ignore=[]).core
    except Exception as error:  # whatever the library trips on, the archive is unusable
        raise readers.ArchiveError(f"meta.xml is not a readable descriptor: {type(error).__name__}: {error}") from error
    survey.core = meta[: -len("meta.xml")] + survey.descriptor.file_location
    return survey


def _rows(
    url: str, session: requests.Session, timeout: float, limits: LimitSettings, survey: Survey
) -> Iterator[readers.Row]:
    digest = hashlib.sha256()
    counted = [0]
    found = False
    with _download(url, session, timeout) as response:
        if _version(response) != survey.version:
            raise FetchError(f"{url} changed between its two reads (ETag or Last-Modified differ)")
        chunks = _Peeked(_hashed(response, digest.update, counted))
        for name, member in _members(chunks, survey.kind):
            if name != survey.core:
                _drain(member)
                continue
            found = True
            opener = _Opener(member)
            origin = f"hash://sha256/{survey.sha256}"
            yield from readers.core_rows(opener, survey.descriptor, survey.sha256, origin, limits)
            _drain(member)
        _drain(chunks)
    if not found:
        raise readers.ArchiveError(f"the core file {survey.descriptor.file_location} is not in the archive")
    if digest.hexdigest() != survey.sha256:
        raise FetchError(f"{url} changed between its two reads (its sha256 differs)")


def _members(chunks: Iterable[bytes], kind: str) -> Iterator[tuple[str, Iterator[bytes]]]:
    """(name, its bytes as they come) of every regular member, in archive order; each member's bytes must
    be read or drained before the next is asked for."""
    try:
        if kind == "zip":
            for name, _, unzipped in stream_unzip.stream_unzip(chunks, chunk_size=_CHUNK):
                yield name.decode("utf-8", errors="replace"), unzipped
            return
        with tarfile.open(fileobj=_IterStream(chunks), mode="r|*") as archive:
            for member in archive:
                extracted = archive.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    yield member.name, iter(functools.partial(extracted.read, _CHUNK), b"")
    except (stream_unzip.UnzipError, tarfile.TarError, zlib.error, EOFError) as error:
        what = "zip" if kind == "zip" else "tar"
        raise readers.ArchiveError(f"not a readable {what} as it streams: {type(error).__name__}: {error}") from error


def _is_meta(name: str) -> bool:
    parts = name.strip("/").split("/")
    return parts[-1] == "meta.xml" and len(parts) <= 2


def _bounded(member: Iterator[bytes], limits: LimitSettings) -> bytes:
    """A member's bytes up to the meta.xml bound plus one (the rest drained): check_meta refuses more."""
    kept = bytearray()
    for chunk in member:
        if len(kept) <= limits.meta_xml_bytes:
            kept += chunk[: limits.meta_xml_bytes + 1 - len(kept)]
    return bytes(kept)


def _drain(chunks: Iterable[bytes]) -> None:
    for _ in chunks:
        pass


def _version(response: requests.Response) -> str:
    return response.headers.get("ETag") or response.headers.get("Last-Modified") or "-"


class _Peeked:
    """An iterator of chunks whose first bytes can be looked at before it is consumed (once: iterating
    it again, as the drain after the members does, goes on where the first iteration stopped)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.head = next(chunks, b"")
        self._pending = self.head

    def __iter__(self) -> Iterator[bytes]:
        pending, self._pending = self._pending, b""
        if pending:
            yield pending
        yield from self._chunks


class _IterStream(io.RawIOBase):
    """A readable file over an iterator of chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, b"")
            if not chunk:
                return 0
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


class _Opener:
    """The core member as readers.core_rows opens it: once, as bytes or as text."""

    def __init__(self, member: Iterator[bytes]) -> None:
        self._member = member

    def __call__(self, mode: str = "rb", encoding: str = "utf-8", errors: str = "strict", newline: str = "") -> IO[Any]:
        raw = io.BufferedReader(_IterStream(self._member), _CHUNK)
        return raw if mode == "rb" else io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline=newline)
