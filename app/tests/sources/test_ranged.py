"""Archives larger than the cache, read in place by range requests, over real HTTP on loopback.

A Flask server (send_file answers ranges, as the mirror's and most archive hosts do) counts the bytes
it sends; Python's http.server stands for a host that ignores ranges. Expected rows are counted here
from the files with zipfile and str.split, not with the engine's readers.
"""

from __future__ import annotations

import functools
import http.server
import io
import tarfile
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, Response, send_file
from werkzeug.serving import make_server

from zootopia.config import Services, Settings
from zootopia.mirror.large import SOURCE, build
from zootopia.records import KINGDOM, Malformed, Record, ResourceDone, StreamItem
from zootopia.sources.cache import ContentCache
from zootopia.sources.engine import EngineStats, builtin_stream
from zootopia.sources.ranged import RangedFile, RangeUnsupported
from zootopia.streams.progress import Progress

CACHE_BYTES = 256 * 1024


class Served:
    """Files under `root` over HTTP with range support; the bytes sent so far in answer to ranges (a
    whole-file answer is cut short by the client's hang-up, after however much the socket took)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sent = 0
        app = Flask(__name__)

        @app.get("/<name>")
        def file(name: str) -> Response:
            return send_file(root / name, download_name=name, max_age=0)

        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            ranged = "HTTP_RANGE" in environ
            for chunk in app(environ, start_response):
                self.sent += len(chunk) if ranged else 0
                yield chunk

        self._server = make_server("127.0.0.1", 0, counted, threaded=True)
        self.base = f"http://127.0.0.1:{self._server.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("served")
    # ~2 MiB of the recorded download's real rows, 8x the cache; meta.xml after the data files.
    build(data_dir / "gbif" / SOURCE, 2 * 1024 * 1024, root / "large.zip")
    return root


@pytest.fixture(scope="module")
def served(files: Path) -> Iterator[Served]:
    server = Served(files)
    yield server
    server.close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as opened:
        yield opened


def stream(
    url: str, tmp_path: Path, sent: Callable[[str], bool] | None = None
) -> tuple[list[StreamItem], EngineStats, ContentCache]:
    settings = replace(Settings(), services=Services(timeout_seconds=30))
    cache = ContentCache(tmp_path / "cache", CACHE_BYTES)
    stats = EngineStats()
    with requests.Session() as session:
        items = list(builtin_stream(url, settings, cache, session, stats, sent=sent))
    return items, stats, cache


def expected_kingdoms(path: Path) -> Counter[str | None]:
    """Kingdom per core row, counted with zipfile and split (the download is tab separated, no quotes)."""
    with zipfile.ZipFile(path) as archive:
        lines = archive.read("occurrence.txt").decode("utf-8").split("\n")
    column = lines[0].split("\t").index("kingdom")
    kingdoms: Counter[str | None] = Counter(line.split("\t")[column] or None for line in lines[1:] if line)
    return kingdoms


def test_an_archive_eight_times_the_cache_streams_every_row_and_leaves_the_disk_alone(
    served: Served, files: Path, tmp_path: Path
) -> None:
    archive = files / "large.zip"
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
    assert archive.stat().st_size > 8 * CACHE_BYTES
    assert names.index("meta.xml") > names.index("occurrence.txt"), "meta.xml comes after the data files"
    before = served.sent
    items, stats, cache = stream(f"{served.base}/large.zip", tmp_path)
    records = [item for item in items if isinstance(item, Record)]
    assert [type(item) for item in items if not isinstance(item, Record)] == [ResourceDone]
    assert Counter(record.fields[KINGDOM] for record in records) == expected_kingdoms(archive)
    assert stats.in_place == 1
    # Nothing went through the cache's disk.
    assert cache.usage() == 0
    assert not any((tmp_path / "cache" / "tmp").iterdir())
    # Only the central directory, meta.xml and the core were fetched: verbatim.txt (37 %) never was.
    with zipfile.ZipFile(archive) as opened:
        core = opened.getinfo("occurrence.txt").compress_size
    assert core < served.sent - before < core + 512 * 1024
    # In place, a row says where it came from by URL (its archive's hash is unknown) and keeps its line.
    assert records[0].content_id == f"line:zip:{served.base}/large.zip!/occurrence.txt!/L2"
    done = items[-1]
    assert isinstance(done, ResourceDone)
    assert records[0].position.resource == done.resource


def test_a_stream_resumed_in_an_archive_read_in_place_sends_each_row_once(served: Served, tmp_path: Path) -> None:
    url = f"{served.base}/large.zip"
    first, _, _ = stream(url, tmp_path)
    rows = [item for item in first if isinstance(item, Record)]
    # The stream committed its progress halfway, then was killed: the restart skips what it covers.
    progress = Progress("source")
    half = len(rows) // 2
    progress.advance(rows[half - 1].position)
    again, _, _ = stream(url, tmp_path)
    resumed = [item for item in again if isinstance(item, Record) and not progress.covers(item.position)]
    assert [row.content_id for row in resumed] == [row.content_id for row in rows[half:]]


def test_content_sent_whole_is_closed_without_reading_its_rows(served: Served, tmp_path: Path) -> None:
    url = f"{served.base}/large.zip"
    first, _, _ = stream(url, tmp_path)
    done = first[-1]
    assert isinstance(done, ResourceDone)
    before = served.sent
    again, _, _ = stream(url, tmp_path, sent=lambda resource: resource == done.resource)
    assert again == [done]
    # The central directory only (a recrawl of unchanged archives costs a few KB each).
    assert served.sent - before < 64 * 1024


def test_reads_at_any_offset_return_the_files_bytes(served: Served, files: Path, session: requests.Session) -> None:
    data = (files / "large.zip").read_bytes()
    with RangedFile(f"{served.base}/large.zip", session, 30) as ranged:
        assert ranged.size == len(data)
        reader = io.BufferedReader(ranged, 4096)  # a raw file may answer short: read through a buffer
        for offset, length in ((0, 10), (len(data) - 22, 22), (12_345, 70_000), (1_000_000, 5)):
            reader.seek(offset)
            assert reader.read(length) == data[offset : offset + length]
        assert reader.seek(-3, io.SEEK_END) == len(data) - 3
        assert reader.read(10) == data[-3:]
        assert reader.read(10) == b""
        # A sequential read of the whole file takes few requests: the spans double.
        reader.seek(0)
        before = ranged.requests
        assert reader.read() == data
        assert ranged.requests - before <= 8


def test_zip64_archives_are_read_in_place(
    served: Served, files: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with zipfile.ZipFile(data_dir / "gbif" / "nrm-herpetology-dwca-20180905.zip") as recorded:
        members = {name: recorded.read(name) for name in recorded.namelist()}
    # Offsets past a (lowered) 4 GiB limit: zipfile writes the zip64 end records a huge archive has.
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1024)
    with zipfile.ZipFile(files / "zip64.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    monkeypatch.undo()
    assert b"PK\x06\x06" in (files / "zip64.zip").read_bytes()[-200:], "a zip64 end of central directory"
    items, stats, _ = stream(f"{served.base}/zip64.zip", tmp_path)
    assert stats.in_place == 1
    assert sum(isinstance(item, Record) for item in items) == 4_956


def test_a_tar_gz_larger_than_the_cache_is_read_as_it_downloads_not_in_place(
    served: Served, files: Path, data_dir: Path, tmp_path: Path
) -> None:
    """A tar.gz cannot be entered in the middle: read sequentially (sources/sequential.py); this one
    holds a zip and no meta.xml, so it is set aside saying so."""
    with tarfile.open(files / "large.tar.gz", "w:gz") as archive:
        archive.add(data_dir / "gbif" / "nrm-herpetology-dwca-20180905.zip", "occurrence.zip")
    items, stats, _ = stream(f"{served.base}/large.tar.gz", tmp_path)
    assert len(items) == 1
    assert isinstance(items[0], Malformed)
    assert items[0].reason == "dwca resource unreadable: no meta.xml in the archive"
    assert (stats.in_place, stats.sequential) == (0, 1)


@pytest.fixture
def no_ranges(files: Path) -> Iterator[str]:
    """Python's http.server: it ignores Range and sends the whole file."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(files)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_host_without_range_requests_is_read_as_it_downloads(
    no_ranges: str, files: Path, tmp_path: Path, session: requests.Session
) -> None:
    with pytest.raises(RangeUnsupported):
        RangedFile(f"{no_ranges}/large.zip", session, 30)
    items, stats, cache = stream(f"{no_ranges}/large.zip", tmp_path)
    records = [item for item in items if isinstance(item, Record)]
    assert [type(item) for item in items if not isinstance(item, Record)] == [ResourceDone]
    assert Counter(record.fields[KINGDOM] for record in records) == expected_kingdoms(files / "large.zip")
    assert (stats.in_place, stats.sequential, stats.failed_resources) == (0, 1, 0)
    assert cache.usage() == 0
