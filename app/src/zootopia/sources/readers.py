"""Rows of a cached resource as Records, and the rows that cannot be records as Malformed.

Darwin Core Archives: python-dwca-reader reads meta.xml (core file, encoding,
separators, header lines, term of each column, defaults); the core file is then
read here line by line, because the library's row iterator stops at the first
row it cannot map, and a bad row must only set that row aside, and it does not
report rows whose bytes are not in the declared encoding. iDigBio records
pages: one record per item, `dwc:` and `dcterms:` keys as term URIs.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, AnyStr, Union

import defusedxml
import defusedxml.ElementTree
from dwca.descriptors import ArchiveDescriptor, DataFileDescriptor
from dwca.read import DwCAReader

from zootopia.config import LimitSettings
from zootopia.records import DWC, OCCURRENCE, REJECT_RAW_CHARS, Malformed, Position, Record

Row = Union[Record, Malformed]

DCTERMS = "http://purl.org/dc/terms/"
_IDIGBIO_PREFIXES = {"dwc": DWC, "dcterms": DCTERMS}
_CHUNK = 1024 * 1024
_LIMITS = LimitSettings()


class ArchiveError(Exception):
    """The resource as a whole cannot be read (not an archive, no core file, not JSON ...)."""


class NotAZip(ArchiveError):  # noqa: N818 - what the bytes are not
    """An archive to be read in place is not a zip (a tar.gz: it is read as it downloads instead)."""


def read_dwca(path: Path, sha256: str, work_dir: Path | None = None, limits: LimitSettings = _LIMITS) -> Iterator[Row]:
    """Every core row of the Darwin Core Archive at `path` (a zip or tar file whose sha256 is `sha256`).

    A zip's core file is read straight from the archive: nothing is unpacked, so the
    cache's bound is all the disk a stream uses. A tar is unpacked into a temporary
    directory under `work_dir` (default: the system's), removed when the iteration ends.
    """
    if zipfile.is_zipfile(path):
        yield from _zip_rows(path, sha256, limits)
        return
    with tempfile.TemporaryDirectory(prefix=work_prefix(), dir=work_dir) as work:
        content = _extract(path, Path(work), limits)
        meta = content / "meta.xml"
        if meta.is_file():
            with meta.open("rb") as member:
                check_meta(member.read(limits.meta_xml_bytes + 1), limits)
        try:
            reader = DwCAReader(str(content), skip_metadata=True)
        except Exception as error:  # whatever the library trips on, the archive is unusable
            raise ArchiveError(f"not a readable Darwin Core Archive: {type(error).__name__}: {error}") from error
        with reader:
            descriptor = reader.core_file.file_descriptor
            data_file = content / descriptor.file_location
            if not data_file.is_file():
                raise ArchiveError(f"the core file {descriptor.file_location} is not in the archive")
            yield from core_rows(data_file.open, descriptor, sha256, f"hash://sha256/{sha256}", limits)


def work_prefix() -> str:
    """Names unpacked archives by process, so a cache can remove those of dead processes."""
    return f"zootopia-dwca-{os.getpid()}-"


def _zip_rows(path: Path, sha256: str, limits: LimitSettings) -> Iterator[Row]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise ArchiveError(f"cannot open the zip: {error}") from error
    with archive:
        yield from zip_rows(archive, sha256, f"hash://sha256/{sha256}", limits)


def open_zip_in_place(file: IO[bytes]) -> tuple[zipfile.ZipFile, str]:
    """A zip read where it is (an archive larger than the cache, whose content hash is unknown until
    every byte is read): the archive, and its identity, the sha256 of its listing (`listing_digest`)."""
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile as error:
        raise NotAZip(f"larger than the cache and not a zip: {error}") from error
    except OSError as error:
        raise ArchiveError(f"cannot open the zip: {error}") from error
    return archive, listing_digest(archive)


def listing_digest(archive: zipfile.ZipFile) -> str:
    """The sha256 of a zip's central directory as zipfile reads it: every member's name, CRC-32, sizes
    and offset. Two archives with the same listing hold the same bytes in every member (up to CRC-32)."""
    digest = hashlib.sha256(b"zip-listing\n")
    for info in archive.infolist():
        entry = f"{info.filename}\t{info.CRC}\t{info.compress_size}\t{info.file_size}\t{info.header_offset}\n"
        digest.update(entry.encode("utf-8"))
    return digest.hexdigest()


def zip_rows(archive: zipfile.ZipFile, resource: str, origin: str, limits: LimitSettings = _LIMITS) -> Iterator[Row]:
    """Every core row of an open zip; positions name `resource`, content ids `origin`."""
    names = set(archive.namelist())
    # meta.xml at the root, or one folder down for archives zipped with their folder.
    meta = "meta.xml" if "meta.xml" in names else next((n for n in sorted(names) if _is_nested_meta(n)), None)
    if meta is None:
        raise ArchiveError("no meta.xml in the archive")
    folder = meta[: -len("meta.xml")]
    _check_size("meta.xml", archive.getinfo(meta).file_size, limits)
    with archive.open(meta) as member:  # the header's size may lie: never more than the bound plus one
        text = check_meta(member.read(limits.meta_xml_bytes + 1), limits)
    try:
        descriptor = ArchiveDescriptor(text, files_to_ignore=[]).core
    except Exception as error:  # whatever the library trips on, the archive is unusable
        raise ArchiveError(f"meta.xml is not a readable descriptor: {type(error).__name__}: {error}") from error
    location = folder + descriptor.file_location
    if location not in names:
        raise ArchiveError(f"the core file {descriptor.file_location} is not in the archive")
    core = archive.getinfo(location)
    if core.file_size > limits.compression_ratio * max(core.compress_size, 1):
        ratio = core.file_size / max(core.compress_size, 1)
        raise ArchiveError(
            f"the core file {descriptor.file_location} expands {ratio:.0f} times ({core.compress_size} to"
            f" {core.file_size} bytes), over limits.compression_ratio ({limits.compression_ratio})"
        )

    def open_core(mode: str = "rb", encoding: str = "utf-8", errors: str = "strict", newline: str = "") -> IO[Any]:
        raw = archive.open(location)
        return raw if mode == "rb" else io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline=newline)

    try:
        yield from core_rows(open_core, descriptor, resource, origin, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ArchiveError(f"the core file is damaged: {error}") from error


def _check_size(member: str, size: int, limits: LimitSettings) -> None:
    if size > limits.meta_xml_bytes:
        raise ArchiveError(f"{member} is {size} bytes, over limits.meta_xml_bytes ({limits.meta_xml_bytes})")


def check_meta(data: bytes, limits: LimitSettings) -> str:
    """meta.xml's text, once it is known to be within its bound and to declare no entity and reference
    no external one (defusedxml): the library then parses it with the standard library's parser."""
    _check_size("meta.xml", len(data), limits)
    try:
        text = data.decode("utf-8")
        defusedxml.ElementTree.fromstring(text)
    except defusedxml.DefusedXmlException as error:
        raise ArchiveError(f"meta.xml refused: {error}") from error
    except Exception as error:  # not UTF-8, not well-formed XML
        raise ArchiveError(f"meta.xml is not a readable descriptor: {type(error).__name__}: {error}") from error
    return text


def _is_nested_meta(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and parts[1] == "meta.xml"


def read_idigbio_page(path: Path, sha256: str) -> Iterator[Row]:
    """Every item of a saved iDigBio /v2/search/records page."""
    try:
        page = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise ArchiveError(f"not a JSON records page: {error}") from error
    items = page.get("items") if isinstance(page, dict) else None
    if not isinstance(items, list):
        raise ArchiveError("the records page has no 'items' list")
    for number, item in enumerate(items, start=1):
        position = Position(sha256, "!/items", number)
        data = item.get("data") if isinstance(item, dict) else None
        if not isinstance(data, dict):
            yield Malformed(json.dumps(item, ensure_ascii=False), "item has no 'data' object", position)
            continue
        content_id = f"line:json:hash://sha256/{sha256}!/items!/L{number}"
        yield Record(idigbio_fields(data), content_id, OCCURRENCE, position)


def idigbio_fields(data: dict[str, Any]) -> dict[str, str | None]:
    """`dwc:x` and `dcterms:x` as term URIs; other keys, lists and objects are left out."""
    fields: dict[str, str | None] = {}
    for key, value in data.items():
        prefix, _, name = key.partition(":")
        namespace = _IDIGBIO_PREFIXES.get(prefix)
        if namespace is None or not name or isinstance(value, (list, dict)) or value is None:
            continue
        fields[namespace + name] = value if isinstance(value, str) else json.dumps(value)
    return fields


def _extract(path: Path, work: Path, limits: LimitSettings = _LIMITS) -> Path:
    """Unpack the archive into `work`; the directory holding meta.xml (or the data file). What it
    unpacks is bounded: limits.compression_ratio times the archive's size, every member together."""
    budget = limits.compression_ratio * max(path.stat().st_size, 1)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                wanted = [info for info in archive.infolist() if _wanted(info.filename)]
                _check_budget(sum(info.file_size for info in wanted), budget, limits)
                archive.extractall(work, members=wanted)
        elif tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                members = list(_safe_members(archive))
                _check_budget(sum(member.size for member in members), budget, limits)
                if hasattr(tarfile, "data_filter"):  # 3.9.17+: the library's own safety net as well
                    archive.extractall(work, members=members, filter="data")
                else:
                    archive.extractall(work, members=members)
        else:
            raise ArchiveError("neither a zip nor a tar file")
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
        raise ArchiveError(f"cannot unpack the archive: {error}") from error
    entries = list(work.iterdir())
    # Archives zipped with their folder: the content is one level down.
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return work


def _check_budget(size: int, budget: int, limits: LimitSettings) -> None:
    if size > budget:
        raise ArchiveError(
            f"its members unpack to {size} bytes, over limits.compression_ratio ({limits.compression_ratio})"
            f" times the archive's size ({budget} bytes)"
        )


def _wanted(name: str) -> bool:
    # Per-dataset EML of GBIF downloads (dataset/<key>.xml): never read here, and the library
    # would parse every one of them and give up the whole archive over a single bad one.
    parts = name.strip("/").split("/")
    return not ("dataset" in parts[:2] and len(parts) > parts.index("dataset") + 1)


def _safe_members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    # Only plain files and directories inside the target (no links, no absolute or parent paths).
    for member in archive.getmembers():
        name = Path(member.name)
        plain = member.isfile() or member.isdir()
        if plain and not name.is_absolute() and ".." not in name.parts and _wanted(member.name):
            yield member


# Opens the core file: ("rb") for bytes, or ("r", encoding=..., errors=..., newline=...) for text.
Opener = Callable[..., IO[Any]]


def core_rows(
    open_core: Opener, descriptor: DataFileDescriptor, resource: str, origin: str, limits: LimitSettings = _LIMITS
) -> Iterator[Row]:
    encoding = descriptor.file_encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError as error:
        raise ArchiveError(f"the core file declares an unknown encoding {encoding!r}") from error
    member = "!/" + descriptor.file_location
    prefix = f"line:zip:{origin}{member}!/L"
    row_type = descriptor.type or OCCURRENCE
    terms = TermMap(descriptor.fields)
    headers = descriptor.lines_to_ignore
    header_columns = 0
    lines = _lines(open_core, encoding, descriptor.lines_terminated_by or "\n", limits.line_bytes)
    for index, (first_line, text, fields, problem) in enumerate(_split(lines, descriptor)):
        if index < headers:
            # The first header line tells how many columns every row must have.
            header_columns = header_columns or len(fields)
            continue
        if problem is None and fields == [""]:
            continue  # a blank line is no row
        position = Position(resource, member, first_line)
        if problem is None and header_columns and len(fields) != header_columns:
            problem = f"{len(fields)} columns where the header has {header_columns}"
        if problem is None and len(fields) < terms.required_columns:
            problem = f"{len(fields)} columns where meta.xml maps {terms.required_columns}"
        # Only a row longer than the bound can hold a field longer than it: one comparison a row.
        if problem is None and len(text) > limits.field_chars:
            longest = max(len(value) for value in fields)
            if longest > limits.field_chars:
                problem = f"a field of {longest} characters, over limits.field_chars ({limits.field_chars})"
        if problem is not None:
            yield Malformed(text[:REJECT_RAW_CHARS], problem, position)
            continue
        yield Record(terms.data(fields), prefix + str(first_line), row_type, position)


class TermMap:
    """A split row -> {term URI: value}, valued as Preston's json-stream (GBIF's dwca-io) values them.

    A column's value, else the field's default, else None (JSON null: the key is kept); a field
    without a column always has its default. Built here from the descriptor's fields rather than
    with the library's row builder, which loops in Python over every term of every row as soon as
    one field has no column (GBIF downloads: 5x slower).
    """

    def __init__(self, fields: list[dict[str, Any]]) -> None:
        indexed = [
            (str(f["term"]), int(f["index"]), f.get("default") or None) for f in fields if f["index"] is not None
        ]
        self._terms = tuple(term for term, _, _ in indexed)
        self._columns = tuple(index for _, index, _ in indexed)
        self._defaults = {term: default for term, _, default in indexed}
        self._constants = {str(f["term"]): f.get("default") or None for f in fields if f["index"] is None}
        self.required_columns = max(self._columns, default=-1) + 1
        self._pick = itemgetter(*self._columns) if len(self._columns) > 1 else None

    def data(self, row: list[str]) -> dict[str, str | None]:
        if self._pick is not None:
            data: dict[str, str | None] = dict(zip(self._terms, self._pick(row)))
        else:
            data = {term: row[index] for term, index in zip(self._terms, self._columns)}
        for term, value in data.items():
            if not value:
                data[term] = self._defaults[term]
        data.update(self._constants)
        return data


# (line number, text, decoding problem or None) of each physical line.
Line = tuple[int, str, Union[str, None]]
# (first line number, raw text, fields, problem or None) of each row.
SplitRow = tuple[int, str, list[str], Union[str, None]]


def _lines(open_core: Opener, encoding: str, terminator: str, limit: int = _LIMITS.line_bytes) -> Iterator[Line]:
    """Physical lines without their terminator; a line that does not decode, or is longer than `limit`
    (bytes; characters where the encoding is not ASCII-compatible), says why. Memory holds one line of
    at most `limit`: a longer one is passed over up to its end, and only its start is kept."""
    if "\n".encode(encoding) != b"\n":
        # Not ASCII-compatible (UTF-16 ...): bytes cannot be split before decoding.
        with open_core("r", encoding=encoding, errors="replace", newline=terminator) as text:
            number = 0
            while decoded := text.readline(limit + 1):
                number += 1
                if len(decoded) > limit and not decoded.endswith(terminator[-1]):
                    chars = len(decoded) + _pass_line(lambda: text.readline(_CHUNK), terminator[-1])
                    yield number, decoded[:REJECT_RAW_CHARS], _too_long(chars, limit, "characters")
                    continue
                yield number, _strip(decoded, terminator), None
        return
    with open_core("rb") as raw:
        for number, (line, size) in enumerate(_raw_lines(raw, terminator.encode(encoding), limit), start=1):
            if size is not None:
                yield number, line.decode(encoding, errors="replace"), _too_long(size, limit, "bytes")
                continue
            try:
                yield number, line.decode(encoding), None
            except UnicodeDecodeError as error:
                bad = line[error.start : error.start + 4]
                problem = f"not valid {encoding} at byte {error.start + 1} of the line ({bad!r})"
                yield number, line.decode(encoding, errors="replace"), problem


def _too_long(size: int, limit: int, unit: str) -> str:
    return f"a line of {size} {unit}, over limits.line_bytes ({limit})"


def _pass_line(read: Callable[[], AnyStr], end: AnyStr) -> int:
    """Reads past the rest of a line (chunk by chunk, nothing kept): how much there was before its end."""
    passed = 0
    while chunk := read():
        passed += len(chunk)
        if chunk.endswith(end):
            return passed - len(end)
    return passed


# A physical line's bytes, and None, or for a line over the bound, its start and its whole size.
RawLine = tuple[bytes, Union[int, None]]


def _raw_lines(raw: IO[bytes], terminator: bytes, limit: int = _LIMITS.line_bytes) -> Iterator[RawLine]:
    if terminator in (b"\n", b"\r\n"):
        # readline(limit) of a BufferedReader scans its buffer in C; a zip member's own is Python.
        raw = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, _CHUNK)  # type: ignore[type-var]
        while line := raw.readline(limit + 1):
            if len(line) > limit and not line.endswith(b"\n"):
                size = len(line) + _pass_line(lambda: raw.readline(_CHUNK), b"\n")
                yield line[:REJECT_RAW_CHARS], size
                continue
            yield line.rstrip(b"\n").rstrip(b"\r"), None
        return
    pending = b""
    # The start and size so far of a line over the bound whose end has not come yet.
    over: tuple[bytes, int] | None = None
    for chunk in iter(lambda: raw.read(_CHUNK), b""):
        pending += chunk
        *complete, pending = pending.split(terminator)
        for line in complete:
            if over is not None:
                yield over[0], over[1] + len(line)
                over = None
            elif len(line) > limit:
                yield line[:REJECT_RAW_CHARS], len(line)
            else:
                yield line, None
        if len(pending) > limit:
            over = (pending[:REJECT_RAW_CHARS], len(pending)) if over is None else (over[0], over[1] + len(pending))
            pending = b""
    if over is not None:
        yield over[0], over[1] + len(pending)
    elif pending:
        yield (pending, None) if len(pending) <= limit else (pending[:REJECT_RAW_CHARS], len(pending))


def _strip(line: str, terminator: str) -> str:
    return line[: -len(terminator)] if line.endswith(terminator) else line.rstrip("\r\n")


def _split(lines: Iterator[Line], descriptor: DataFileDescriptor) -> Iterator[SplitRow]:
    separator = descriptor.fields_terminated_by
    quote = descriptor.fields_enclosed_by
    if not quote:
        for number, text, problem in lines:
            yield number, text, text.split(separator), problem
        return
    yield from _split_quoted(lines, separator, quote)


def _split_quoted(lines: Iterator[Line], separator: str, quote: str) -> Iterator[SplitRow]:
    """Rows of a file whose fields may be enclosed, so that one row may span lines."""
    consumed: list[Line] = []

    def feed() -> Iterable[str]:
        for line in lines:
            consumed.append(line)
            yield line[1] + "\n"

    reader = csv.reader(feed(), delimiter=separator, quotechar=quote, strict=False)
    while True:
        problem: str | None = None
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            fields, problem = [], f"cannot be split: {error}"
        if not consumed:
            return
        number = consumed[0][0]
        text = "\n".join(line[1] for line in consumed)
        problem = problem or next((line[2] for line in consumed if line[2] is not None), None)
        consumed.clear()
        if not fields and problem is None:
            fields = [""]  # csv yields [] for a blank line
        yield number, text, fields, problem
