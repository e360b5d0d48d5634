"""A GBIF download of any size, built from the real rows of the recorded one: larger than any cache.

occurrence.txt (the core) and verbatim.txt hold the recorded download's header,
then its rows again and again, the two files in step, until the archive has
the size asked; meta.xml and metadata.xml come last, after the data files, as
they may in a real archive. Stored, not deflated, so the size asked is rows'
bytes (deflated, the same size would take about 9 times the rows). Built once
per size, on first request, and served from disk with range support (or, asked with
`?ranges=no`, as a host that answers no range request would); the same members
as a tar.gz on request.
"""

from __future__ import annotations

import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

from werkzeug.exceptions import BadRequest, NotFound

# The recorded download whose rows are repeated (it has both occurrence.txt and verbatim.txt).
SOURCE = "gbif-download-0013147-250515123054153.zip"
LARGEST_MEBIBYTES = 4096
_MEBIBYTE = 1024 * 1024


class LargeArchives:
    def __init__(self, gbif_dir: Path) -> None:
        self._source = gbif_dir / SOURCE
        self._built: dict[int, Path] = {}
        self._lock = threading.Lock()
        self._dir: Path | None = None

    def path(self, mebibytes: int) -> Path:
        """The archive of at least `mebibytes` MiB, built on first request."""
        if not 1 <= mebibytes <= LARGEST_MEBIBYTES:
            raise BadRequest(f"a large archive is 1 to {LARGEST_MEBIBYTES} MiB, not {mebibytes}")
        if not self._source.is_file():
            raise NotFound(f"no large archive: the recorded {SOURCE} is not in the mirror's data")
        with self._lock:
            if mebibytes not in self._built:
                self._dir = self._dir or Path(tempfile.mkdtemp(prefix="zootopia-mirror-large-"))
                self._built[mebibytes] = build(self._source, mebibytes * _MEBIBYTE, self._dir / f"{mebibytes}MiB.zip")
            return self._built[mebibytes]

    def tar_path(self, mebibytes: int) -> Path:
        """The same archive's members as a tar.gz (meta.xml last too), built on first request."""
        source = self.path(mebibytes)
        target = source.with_name(f"{mebibytes}MiB.tar.gz")
        with self._lock:
            if not target.is_file():
                partial = target.with_suffix(".partial")
                with zipfile.ZipFile(source) as archive, tarfile.open(partial, "w:gz") as tar:
                    for info in archive.infolist():
                        entry = tarfile.TarInfo(info.filename)
                        entry.size = info.file_size
                        with archive.open(info) as member:  # member by member: memory holds a buffer
                            tar.addfile(entry, member)
                partial.rename(target)
            return target


def build(source: Path, size: int, target: Path) -> Path:
    """`target`: a DwC-A of at least `size` bytes, of `source`'s header and rows repeated."""
    with zipfile.ZipFile(source) as recorded:
        occurrence = recorded.read("occurrence.txt").split(b"\n")
        verbatim = recorded.read("verbatim.txt").split(b"\n")
        tail = {name: recorded.read(name) for name in ("meta.xml", "metadata.xml")}
    files = {"occurrence.txt": occurrence, "verbatim.txt": verbatim}
    rows = {name: [row for row in lines[1:] if row] for name, lines in files.items()}
    count = _rows_for(size - sum(len(lines[0]) + 1 for lines in files.values()), *rows.values())
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, lines in files.items():
            # One member at a time, row by row: memory holds the recorded rows, not the archive.
            with archive.open(name, "w", force_zip64=True) as member:
                member.write(lines[0] + b"\n")
                for row in _repeated(rows[name], count):
                    member.write(row + b"\n")
        for name, data in tail.items():
            archive.writestr(name, data)
    partial.replace(target)
    return target


def _rows_for(size: int, core: list[bytes], verbatim: list[bytes]) -> int:
    """How many rows of each file make at least `size` bytes."""
    per_round = sum(len(row) + 1 for row in core) + sum(len(row) + 1 for row in verbatim)
    rounds, rest = divmod(max(size, 0), per_round)
    count = rounds * len(core)
    while rest > 0:
        rest -= len(core[count % len(core)]) + len(verbatim[count % len(verbatim)]) + 2
        count += 1
    return count


def _repeated(rows: list[bytes], count: int) -> Iterator[bytes]:
    for number in range(count):
        yield rows[number % len(rows)]
