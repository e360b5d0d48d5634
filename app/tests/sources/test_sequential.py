"""Archives larger than the cache from a host that answers no range request, and tar.gz archives, read as
they download: the same rows, positions and identity as the cached read of the same bytes, meta.xml first
or last, nothing on disk, and an archive that changes between the two downloads reported."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import tarfile
import threading
import tracemalloc
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from zootopia.config import Settings
from zootopia.records import Malformed, Record, StreamItem
from zootopia.sources.cache import ContentCache
from zootopia.sources.engine import EngineStats, builtin_stream
from zootopia.sources.readers import read_dwca
from zootopia.streams.progress import Progress

GBIF_DOWNLOAD = "gbif/gbif-download-0013147-250515123054153.zip"  # meta.xml first
NRM = "gbif/nrm-herpetology-dwca-20180905.zip"  # meta.xml last


class _NoRanges(SimpleHTTPRequestHandler):
    """Python's file server: it answers a Range request with the whole file (HTTP 200)."""

    def log_message(self, *args: object) -> None:
        pass


def serve(directory: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_NoRanges, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def data_server(data_dir: Path) -> Iterator[str]:
    yield from serve(data_dir)


def stream(url: str, size: int, tmp_path: Path) -> tuple[list[StreamItem], EngineStats]:
    cache = ContentCache(tmp_path / "cache", size - 1)  # smaller than the archive: never cached
    stats = EngineStats()
    with requests.Session() as session:
        items = list(builtin_stream(url, Settings(), cache, session, stats))
    assert not any((tmp_path / "cache").rglob("*.zip"))
    return items, stats


def cached_rows(path: Path) -> list[tuple[object, ...]]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return [(r.position, r.content_id, r.fields) for r in read_dwca(path, digest) if isinstance(r, Record)]


@pytest.mark.parametrize("name", [GBIF_DOWNLOAD, NRM])
def test_a_zip_from_a_host_without_ranges_gives_the_cached_reads_rows(
    name: str, data_dir: Path, data_server: str, tmp_path: Path
) -> None:
    path = data_dir / name
    items, stats = stream(f"{data_server}/{name}", path.stat().st_size, tmp_path)
    assert [item for item in items if isinstance(item, Malformed)] == []
    rows = [(r.position, r.content_id, r.fields) for r in items if isinstance(r, Record)]
    assert rows == cached_rows(path)
    assert (stats.sequential, stats.in_place) == (1, 0)


def test_a_tar_gz_larger_than_the_cache_is_read_as_it_downloads(data_dir: Path, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    path = served / "nrm.tar.gz"
    with zipfile.ZipFile(data_dir / NRM) as original, tarfile.open(path, "w:gz") as archive:
        for name in original.namelist():  # meta.xml last, as in the zip
            data = original.read(name)
            info = tarfile.TarInfo(f"nrm/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    for url in serve(served):
        items, stats = stream(f"{url}/nrm.tar.gz", path.stat().st_size, tmp_path)
    rows = [(r.position, r.content_id, r.fields) for r in items if isinstance(r, Record)]
    assert len(rows) == 4956
    assert rows == cached_rows(path)
    assert stats.sequential == 1


def test_memory_stays_one_chunk_whatever_the_archive(data_dir: Path, data_server: str, tmp_path: Path) -> None:
    path = data_dir / GBIF_DOWNLOAD
    cache = ContentCache(tmp_path / "cache", path.stat().st_size - 1)
    records = 0
    tracemalloc.start()
    try:
        with requests.Session() as session:
            for item in builtin_stream(f"{data_server}/{GBIF_DOWNLOAD}", Settings(), cache, session, EngineStats()):
                records += isinstance(item, Record)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert records == 7929
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes reading a {path.stat().st_size}-byte archive"


def test_an_archive_that_changes_between_its_two_reads_is_reported(data_dir: Path, tmp_path: Path) -> None:
    """Served from memory, other bytes at each request (the cache's attempt, the range probe, the survey,
    the rows): the rows' download does not hash to the survey's."""
    original = (data_dir / NRM).read_bytes()
    changed = original[:-2] + b"\x00\x01"  # the zip comment's length: other bytes, the same rows
    versions = [original, changed]
    downloads = [0]
    lock = threading.Lock()

    class Moving(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                body = versions[downloads[0] % 2]
                downloads[0] += 1
            self.send_response(200)  # whatever the Range asked
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(ConnectionError):  # the cache's attempt hangs up once it has the size
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Moving)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        items, _ = stream(f"http://127.0.0.1:{server.server_address[1]}/moving.zip", len(original), tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    set_aside = [item for item in items if isinstance(item, Malformed)]
    assert len(set_aside) == 1
    assert "changed between its two reads (its sha256 differs)" in set_aside[0].reason
    assert downloads[0] == 4


def test_a_stream_killed_mid_archive_resumes_sending_each_row_once(
    data_dir: Path, data_server: str, tmp_path: Path
) -> None:
    """Killed after committing half the rows: the restart downloads again and skips what its progress
    covers, so the rows sent over both runs are each row once."""
    url = f"{data_server}/{NRM}"
    size = (data_dir / NRM).stat().st_size
    first, _ = stream(url, size, tmp_path)
    rows = [item for item in first if isinstance(item, Record)]
    progress = Progress("source")
    half = len(rows) // 2
    progress.advance(rows[half - 1].position)
    again, _ = stream(url, size, tmp_path)
    resumed = [item for item in again if isinstance(item, Record) and not progress.covers(item.position)]
    assert [row.content_id for row in rows[:half] + resumed] == [row.content_id for row in rows]
    assert len(resumed) == len(rows) - half
