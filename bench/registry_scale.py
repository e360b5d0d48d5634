"""GBIF's registry at its real size: a crawl of 120,000 datasets, the progress it leaves, and a restart.

The mirror runs in this process on loopback with a GBIF registry of `--datasets` datasets, the
recorded archives repeated under keys and URLs of their own. The crawl (zootopia.sources.crawl, as a
stream runs it) lists every archive; each is marked finished in a stream's progress as the producer
marks it, without downloading it (1.5 MB a copy, 120,000 copies: the crawl's cost is the point here).
Printed: datasets/s, the process's RSS at 10 % and at 100 % of the crawl, the progress record's size,
the finished sets' memory, and a restart that resumes with every archive but the last two finished
in its crawl: how many it passes over without downloading, how many it downloads and how long it
takes; and the same crawl as the previous release held it. tracemalloc slows the crawl about
threefold: datasets/s are those of a traced run. Run with the controller's virtualenv (`.venv/bin/python`).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import requests
from werkzeug.serving import make_server

from zootopia.config import Services, Settings
from zootopia.mirror import create_app
from zootopia.records import Record
from zootopia.sources import crawl
from zootopia.sources.cache import ContentCache
from zootopia.sources.engine import EngineStats, builtin_stream
from zootopia.streams.progress import Progress


def rss_mib() -> float:
    """The process's resident set now (not its peak), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def before_figures(progress: Progress, listed: int) -> dict[str, float]:
    """The same crawl as the previous release held it: the progress record listing every finished
    resource (20 hex digits each), and the crawl's duplicates check as a set of the URLs."""
    record = json.dumps({**json.loads(progress.to_json()), "resources_done": [f"{n:020x}" for n in range(listed)]})
    tracing = tracemalloc.get_traced_memory()[0]
    urls = {
        f"http://127.0.0.1:40000/gbif/archives/gbif-download-0013147-250515123054153.zip?copy={n}"
        for n in range(listed)
    }
    held = tracemalloc.get_traced_memory()[0] - tracing
    del urls
    return {"before_progress_record_bytes": len(record), "before_url_set_mib": round(held / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="shared/data/biodiversity")
    parser.add_argument("--datasets", type=int, default=120_000, help="datasets in the GBIF registry")
    args = parser.parse_args()

    server = make_server("127.0.0.1", 0, create_app(args.data_dir, "http://placeholder"), threaded=True)
    base = f"http://127.0.0.1:{server.port}"
    server.app = create_app(args.data_dir, base, gbif_scale_datasets=args.datasets)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = Settings(services=Services(gbif=f"{base}/gbif", timeout_seconds=120))
    pages = crawl.PageSizes(gbif=1000)  # the registry API's largest page

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    progress = Progress("bench")
    samples: dict[str, float] = {}
    listed = 0
    tracemalloc.start()
    with requests.Session() as session:
        started = time.monotonic()
        for resource in crawl.resolve("https://gbif.org", settings.services, session, pages):
            listed += 1
            # As producer._finished marks a finished archive: its content (here, one per copy) and its URL.
            progress.complete(f"{listed:064x}")
            progress.finish_url(resource.url)
            if listed in (args.datasets // 10, args.datasets):
                share = 100 * listed // args.datasets
                samples[f"rss_mib_at_{share}pct"] = round(rss_mib(), 1)
                # Python's own allocations: the mirror's data, loaded before, is not counted.
                samples[f"traced_mib_at_{share}pct"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 2)
        crawl_seconds = time.monotonic() - started
        record = progress.to_json()
        before = before_figures(progress, listed)

        # A restart in the same crawl with every archive but the last two finished.
        restarted = Progress("bench")
        urls = [r.url for r in crawl.resolve("https://gbif.org", settings.services, session, pages)]
        for url in urls[:-2]:
            restarted.finish_url(url)
        stats = EngineStats()
        with tempfile.TemporaryDirectory() as work:
            cache = ContentCache(Path(work), 256 * 1024 * 1024)
            resumed = time.monotonic()
            records = sum(
                isinstance(item, Record)
                for item in builtin_stream(
                    "https://gbif.org", settings, cache, session, stats, pages, finished=restarted.finished_url
                )
            )
            resume_seconds = time.monotonic() - resumed
    server.shutdown()

    grown = samples["rss_mib_at_100pct"] / samples["rss_mib_at_10pct"] - 1
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "datasets": args.datasets,
                "archives_listed": listed,
                "crawl_seconds": round(crawl_seconds, 1),
                "datasets_per_second": round(listed / crawl_seconds),
                **samples,
                "rss_growth_10_to_100pct": f"{100 * grown:+.1f} %",
                "progress_record_bytes": len(record),
                "finished_sets_bytes": progress.finished.memory_bytes() + progress.finished_urls.memory_bytes(),
                **before,
                "restart_passed_over": stats.passed_over,
                "restart_downloaded": stats.resources,
                "restart_records": records,
                "restart_seconds": round(resume_seconds, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
