"""An archive many times the cache, read in place by range requests, against the same archive read
through a cache large enough to hold it, and read as it downloads from a host that answers no range
request (twice: a survey, then the rows; sources/sequential.py), in the same run.

The mirror runs in this process on loopback and builds /gbif/large/<n>MiB.zip from the recorded
GBIF download's real rows. The built-in engine streams it three times: with a cache bound of
`--cache-mib` (so it is read in place), with a cache twice the archive's size (downloaded, hashed,
then read from disk), and with the small cache again while the mirror ignores Range. Printed for
each: records/s, bytes fetched over HTTP, the cache's peak disk, the process's RSS growth (sampled
every 5,000 rows). Run with the controller's virtualenv
(`.venv/bin/python bench/in_place_read.py`).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from zootopia.config import Services, Settings
from zootopia.mirror import create_app
from zootopia.records import Record
from zootopia.sources.cache import ContentCache
from zootopia.sources.engine import EngineStats, builtin_stream

MEBIBYTE = 1024 * 1024


class Mirror:
    """The mirror on loopback, counting the bytes it sends."""

    def __init__(self, data_dir: Path) -> None:
        self.sent = 0
        # False: the mirror answers a Range request with the whole file, as many hosts do.
        self.ranges = True
        holder: dict[str, Any] = {}

        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if not self.ranges:
                environ.pop("HTTP_RANGE", None)
            for chunk in holder["app"](environ, start_response):
                self.sent += len(chunk)
                yield chunk

        self._server = make_server("127.0.0.1", 0, counted, threaded=True)
        self.base = f"http://127.0.0.1:{self._server.port}"
        holder["app"] = create_app(data_dir, self.base)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()


def rss_mib() -> float:
    """The process's resident memory now (the mirror's in it too, the same in both runs)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / MEBIBYTE


def run(mirror: Mirror, url: str, cache_bytes: int, work: Path) -> dict[str, float]:
    settings = replace(Settings(), services=Services(timeout_seconds=120))
    cache = ContentCache(work, cache_bytes)
    stats = EngineStats()
    peak_disk, peak_rss = 0, 0.0
    sent_before, rss_before = mirror.sent, rss_mib()
    started = time.monotonic()
    records = 0
    with requests.Session() as session:
        for number, item in enumerate(builtin_stream(url, settings, cache, session, stats)):
            records += isinstance(item, Record)
            if number % 5000 == 0:
                peak_disk = max(peak_disk, sum(f.stat().st_size for f in work.rglob("*") if f.is_file()))
                peak_rss = max(peak_rss, rss_mib())
    seconds = time.monotonic() - started
    return {
        "records": records,
        "in_place": stats.in_place,
        "sequential": stats.sequential,
        "seconds": seconds,
        "records_per_s": records / seconds,
        "fetched_mib": (mirror.sent - sent_before) / MEBIBYTE,
        "peak_cache_disk_mib": peak_disk / MEBIBYTE,
        "peak_rss_growth_mib": peak_rss - rss_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/biodiversity"
    )
    parser.add_argument("--archive-mib", type=int, default=256)
    parser.add_argument("--cache-mib", type=int, default=3)
    args = parser.parse_args()
    mirror = Mirror(args.data_dir)
    url = f"{mirror.base}/gbif/large/{args.archive_mib}MiB.zip"
    requests.head(url, timeout=600)  # built once, before either run is timed
    with tempfile.TemporaryDirectory() as work:
        in_place = run(mirror, url, args.cache_mib * MEBIBYTE, Path(work) / "small")
        cached = run(mirror, url, 2 * args.archive_mib * MEBIBYTE, Path(work) / "large")
        mirror.ranges = False
        downloading = run(mirror, url, args.cache_mib * MEBIBYTE, Path(work) / "no-ranges")
    print(f"archive {args.archive_mib} MiB of real GBIF rows; cache bound {args.cache_mib} MiB for the first run")
    runs = (("in place", in_place), ("through the cache", cached), ("as it downloads", downloading))
    for name, figures in runs:
        print(
            f"{name:>18}: {figures['records']:,.0f} records in {figures['seconds']:.1f} s,"
            f" {figures['records_per_s']:,.0f} records/s, fetched {figures['fetched_mib']:.1f} MiB,"
            f" cache disk peak {figures['peak_cache_disk_mib']:.1f} MiB,"
            f" RSS peak +{figures['peak_rss_growth_mib']:.1f} MiB"
            f" (in_place={figures['in_place']:.0f}, sequential={figures['sequential']:.0f})"
        )
    print(f"in place / through the cache: {in_place['records_per_s'] / cached['records_per_s']:.2f}x the records/s")
    print(f"as it downloads / in place: {downloading['records_per_s'] / in_place['records_per_s']:.2f}x the records/s")


if __name__ == "__main__":
    main()
