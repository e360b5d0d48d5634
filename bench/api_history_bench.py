"""An API worker over a long history on the real HDFS: memory and answer times at 1,000 and 3,000 windows.

Run on the master as the app's user: `python api_history_bench.py`. It writes window documents with the
consumer's own code (build_document, WindowStore.write_document) under <hdfs.root>/bench-api (deleted at
the end) and packs them as the consumer does, then for each history size starts a fresh process that
loads an API worker's results (zootopia.api.results over WebHDFS) and asks the Flask app what an analyst
and the dashboard ask. Production's recent windows (360) and pack size (720), whatever the cluster's.
The same process also loads a worker that keeps every window (the design before), as the reference.
Prints one line `API_HISTORY_BENCH {json}`.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HISTORIES = (1_000, 3_000)
# Production's defaults (the app's, which the role's match), not the small local cluster's.
RECENT_WINDOWS = 360
DOCUMENTS_PER_PACK = 720
TRIGGER_SECONDS = 120
SOURCES = ("https://gbif.org", "https://obis.org", "https://idigbio.org")
KINGDOMS = ("Animalia", "Plantae", "Fungi", "Chromista", "Bacteria")


def documents(first: int, last: int, previous: Any) -> list[dict[str, Any]]:  # noqa: ANN401  # Cumulative
    from zootopia.consumer.documents import KingdomCount, SpeciesCount, build_document

    written = []
    for number in range(first, last + 1):
        counts = [
            KingdomCount(url, url.split("//")[1].split(".")[0], kingdom, 40 + (number * (i + 3) * (k + 1)) % 97)
            for i, url in enumerate(SOURCES)
            for k, kingdom in enumerate(KINGDOMS)
        ]
        document = build_document(
            number,
            trigger_seconds=TRIGGER_SECONDS,
            counts=counts,
            rejects=number % 5,
            species_by_source={url: SpeciesCount(300, 20 + number % 7) for url in SOURCES},
            species_overall=SpeciesCount(850, 55 + number % 11),
            previous=previous,
            processed_at=datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=number * TRIGGER_SECONDS),
        )
        written.append(document)
        previous = previous.after(document)
    return written


def rss_kib() -> int:
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))


def measure(root: str) -> dict[str, Any]:
    """In a fresh process: an API worker's results over `root`, then the same questions the API answers."""
    from zootopia import config
    from zootopia.api.app import create_app
    from zootopia.api.health import Health
    from zootopia.api.results import Results
    from zootopia.api.streams import AllowList
    from zootopia.consumer.store import WindowStore

    settings = config.load()
    store = WindowStore(replace(settings.hdfs, root=root), timeout=30)
    figures: dict[str, Any] = {"rss_before_kib": rss_kib()}
    started = time.monotonic()
    results = Results(store, interval=3600, recent=RECENT_WINDOWS)
    snapshot = results.refresh()
    figures["load_seconds"] = round(time.monotonic() - started, 2)
    gc.collect()
    figures["rss_kib"] = rss_kib()
    figures["windows"] = snapshot.last
    figures["held"] = {"recent": len(snapshot.recent), "hourly": len(snapshot.hourly)}
    started = time.monotonic()
    results.refresh()
    figures["refresh_nothing_new_ms"] = round((time.monotonic() - started) * 1000, 1)

    health = Health({"results": lambda: {"status": "ok"}}, timeout=1)
    app = create_app(results, None, AllowList(list(SOURCES)), health)  # type: ignore[arg-type]
    client = app.test_client()

    def timed_ms(path: str, times: int) -> float:
        samples = []
        for _ in range(times):
            started = time.monotonic()
            response = client.get(path, headers={"Accept": "application/json"})
            _ = response.data
            assert response.status_code == 200, (path, response.status_code, response.text[:200])
            samples.append((time.monotonic() - started) * 1000)
        return round(statistics.median(samples), 2)

    last = snapshot.last
    figures["median_ms"] = {
        "count_totals": timed_ms("/count?by=kingdom", 200),
        "count_recent_120": timed_ms("/count?by=kingdom&windows=120", 50),
        "window_recent": timed_ms(f"/window?id={last}", 50),
        "window_older_first_read": timed_ms("/window?id=7", 1),
        "window_older_cached": timed_ms("/window?id=7", 50),
        "history_hour": timed_ms("/history?per=hour", 50),
    }
    started = time.monotonic()
    body = client.get("/count?by=kingdom&windows=all", headers={"Accept": "application/json"}).data
    figures["count_all_seconds"] = round(time.monotonic() - started, 2)
    figures["count_all_windows"] = len(json.loads(body)["windows"])
    figures["count_all_bytes"] = len(body)
    del body
    gc.collect()
    figures["rss_after_answers_kib"] = rss_kib()

    # The reference: a worker holding every window, as before.
    everything = Results(store, interval=3600, recent=last)
    everything.refresh()
    gc.collect()
    figures["rss_holding_every_window_kib"] = rss_kib()
    return figures


def main() -> None:
    from zootopia import config
    from zootopia.consumer.documents import Cumulative
    from zootopia.consumer.store import WindowStore

    settings = config.load()
    root = f"{settings.hdfs.root}/bench-api"
    store = WindowStore(replace(settings.hdfs, root=root), timeout=60)
    store.client.delete(root, recursive=True)
    figures: dict[str, Any] = {
        "recent_windows": RECENT_WINDOWS,
        "documents_per_pack": DOCUMENTS_PER_PACK,
        "trigger_seconds": TRIGGER_SECONDS,
    }
    previous, written = Cumulative(), 0
    try:
        for windows in HISTORIES:
            started = time.monotonic()
            batch = documents(written + 1, windows, previous)
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(store.write_document, batch))
            for window in range(written + 1, windows + 1):  # as the consumer does after each window
                store.pack_older(window, DOCUMENTS_PER_PACK)
            previous = Cumulative.from_last_document(batch[-1]) or previous
            written = windows
            write_seconds = time.monotonic() - started
            measured = subprocess.run(
                [sys.executable, __file__, "measure", root], capture_output=True, text=True, check=True, timeout=3600
            )
            figures[f"{windows}_windows"] = {
                **json.loads(measured.stdout.strip().splitlines()[-1]),
                "write_seconds": round(write_seconds, 1),
                "hdfs_files_under_root": store.client.content(root)["fileCount"],
            }
        small, large = (figures[f"{n}_windows"] for n in HISTORIES)
        figures["worker_rss_growth_percent"] = round(100 * (large["rss_kib"] / small["rss_kib"] - 1), 1)
        figures["every_window_rss_growth_percent"] = round(
            100 * (large["rss_holding_every_window_kib"] / small["rss_holding_every_window_kib"] - 1), 1
        )
    finally:
        store.client.delete(root, recursive=True)
    print("API_HISTORY_BENCH " + json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:2] == ["measure"]:
        print(json.dumps(measure(sys.argv[2])))
    else:
        main()
