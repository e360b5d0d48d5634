"""The content cache over real HTTP (a local file server on the real data) and real files."""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from zootopia.sources.cache import CacheFull, ContentCache, FetchError

NRM = "gbif/nrm-herpetology-dwca-20180905.zip"
GBIF_DOWNLOAD = "gbif/gbif-download-0013147-250515123054153.zip"
PAGE = "idigbio/search-records-page.json"
RECORDSETS = "idigbio/registry-recordsets-page.json"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up early (a refused too-big download) is expected here


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(data_dir))
    httpd = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as client:
        yield client


def size(data_dir: Path, name: str) -> int:
    return (data_dir / name).stat().st_size


def test_fetch_stores_the_bytes_under_their_sha256(
    server: str, data_dir: Path, tmp_path: Path, session: requests.Session
) -> None:
    cache = ContentCache(tmp_path, 10**9)
    cached = cache.fetch(f"{server}/{NRM}", session, 30)
    expected = hashlib.sha256((data_dir / NRM).read_bytes()).hexdigest()
    assert cached.sha256 == expected
    assert cached.path == tmp_path / "sha256" / expected[:2] / expected
    assert cached.path.read_bytes() == (data_dir / NRM).read_bytes()
    assert cached.size == cache.usage() == size(data_dir, NRM)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_least_recently_used_files_go_first_and_usage_stays_bounded(
    server: str, data_dir: Path, tmp_path: Path, session: requests.Session
) -> None:
    bound = size(data_dir, NRM) + size(data_dir, PAGE) + 1000
    cache = ContentCache(tmp_path, bound)
    nrm = cache.fetch(f"{server}/{NRM}", session, 30)
    page = cache.fetch(f"{server}/{PAGE}", session, 30)
    with cache.using(nrm):  # used again: now the page is the oldest
        pass
    recordsets = cache.fetch(f"{server}/{RECORDSETS}", session, 30)
    assert cache.usage() <= bound
    assert nrm.path.exists()
    assert recordsets.path.exists()
    assert not page.path.exists()


def test_pinned_files_survive_eviction(server: str, data_dir: Path, tmp_path: Path, session: requests.Session) -> None:
    bound = size(data_dir, GBIF_DOWNLOAD) + 1000
    cache = ContentCache(tmp_path, bound)
    with cache.fetching(f"{server}/{NRM}", session, 30) as nrm:
        big = cache.fetch(f"{server}/{GBIF_DOWNLOAD}", session, 30)
        # Both do not fit, but the pinned one is being read and the other was just asked for.
        assert nrm.path.exists()
        assert big.path.exists()
        assert cache.usage() > bound
    # Read: the bound holds again, by removing the least recently used.
    assert cache.usage() <= bound
    assert not nrm.path.exists()
    assert big.path.exists()


def test_a_pin_held_by_another_process_is_respected(
    server: str, data_dir: Path, tmp_path: Path, session: requests.Session
) -> None:
    cache = ContentCache(tmp_path, size(data_dir, GBIF_DOWNLOAD) + 1000)
    nrm = cache.fetch(f"{server}/{NRM}", session, 30)
    holder = (
        "import sys; from pathlib import Path; from zootopia.sources.cache import ContentCache\n"
        f"cache = ContentCache(Path({str(tmp_path)!r}), 1)\n"
        f"cache.pin({nrm.sha256!r}); print('pinned', flush=True); sys.stdin.read()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "pinned\n"
        cache.fetch(f"{server}/{GBIF_DOWNLOAD}", session, 30)
        assert nrm.path.exists()
    finally:
        child.communicate("")
    # The holder is gone (its marker is stale): the next fetch may evict the file.
    cache.fetch(f"{server}/{GBIF_DOWNLOAD}", session, 30)
    assert not nrm.path.exists()


def test_a_resource_larger_than_the_cache_is_refused(
    server: str, data_dir: Path, tmp_path: Path, session: requests.Session
) -> None:
    cache = ContentCache(tmp_path, size(data_dir, GBIF_DOWNLOAD) - 1)
    with pytest.raises(CacheFull, match="larger than the whole cache"):
        cache.fetch(f"{server}/{GBIF_DOWNLOAD}", session, 30)
    assert cache.usage() == 0
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_failed_download_leaves_nothing(server: str, tmp_path: Path, session: requests.Session) -> None:
    cache = ContentCache(tmp_path, 10**9)
    with pytest.raises(FetchError, match="404"):
        cache.fetch(f"{server}/gbif/no-such-archive.zip", session, 30)
    assert cache.usage() == 0
    assert list((tmp_path / "tmp").iterdir()) == []


def test_concurrent_fetches_of_one_url_agree(server: str, data_dir: Path, tmp_path: Path) -> None:
    cache = ContentCache(tmp_path, 10**9)

    def fetch(_: int) -> str:
        with requests.Session() as client:
            return cache.fetch(f"{server}/{GBIF_DOWNLOAD}", client, 30).sha256

    with ThreadPoolExecutor(8) as pool:
        shas = set(pool.map(fetch, range(8)))
    expected = hashlib.sha256((data_dir / GBIF_DOWNLOAD).read_bytes()).hexdigest()
    assert shas == {expected}
    assert cache.usage() == size(data_dir, GBIF_DOWNLOAD)
    assert hashlib.sha256(cache.path_of(expected).read_bytes()).hexdigest() == expected
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "pins").iterdir()) == []


def test_unpacked_archives_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / "work" / f"zootopia-dwca-{dead.stdout.strip()}-abc"
    live = tmp_path / "work" / f"zootopia-dwca-{os.getpid()}-def"
    for path in (stale, live):
        (path / "core").mkdir(parents=True)
        (path / "core" / "occurrence.txt").write_text("id\n1\n")
    ContentCache(tmp_path, 1024)
    assert not stale.exists()
    assert (live / "core" / "occurrence.txt").is_file()
