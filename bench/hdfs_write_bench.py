"""How long the consumer's window document write takes on the real HDFS, and how often a close waits.

Run on the master as the app's user: `python hdfs_write_bench.py`. Writes WRITES window documents of
a real window's size with the consumer's own WindowStore.write_document (temp file, then rename) under
<hdfs.root>/bench-hdfs-write (deleted at the end), and times each. Next to them, in turn, a NameNode
call alone (a status), the round trip every call pays. A write closes its file; the NameNode completes
it only once a DataNode has reported the last block, and until then the writer sleeps and asks again
(hdfs-site.xml: dfs.client.block.write.locateFollowingBlock.initial.delay.ms). Writes that took more
than SLOW_SECONDS are counted: at Hadoop's 400 ms default, 7 of 40 such writes took 417-434 ms.
Prints one line `HDFS_WRITE_BENCH {json}`.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import replace
from typing import Any

WRITES = 200
# Between a normal write (20-60 ms here) and one that waited out a 400 ms close.
SLOW_SECONDS = 0.3
# About a real window document's size (a window of the seeds: 2-4 KB of JSON).
DOCUMENT_BYTES = 3000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def figures(seconds: list[float]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }


def bench() -> dict[str, Any]:
    from zootopia import config
    from zootopia.consumer.store import WindowStore

    settings = config.load()
    root = f"{settings.hdfs.root}/bench-hdfs-write"
    store = WindowStore(replace(settings.hdfs, root=root))
    store.client.delete(root, recursive=True)
    writes: list[float] = []
    status: list[float] = []
    try:
        for window in range(1, WRITES + 1):
            document = {"window": window, "padding": "x" * DOCUMENT_BYTES}
            started = time.monotonic()
            store.write_document(document)
            writes.append(time.monotonic() - started)
            started = time.monotonic()
            store.client.status(root)
            status.append(time.monotonic() - started)
    finally:
        store.client.delete(root, recursive=True)
    return {
        "writes": WRITES,
        "document_write": figures(writes),
        "slower_than_ms": SLOW_SECONDS * 1000,
        "slow_writes": sum(1 for value in writes if value > SLOW_SECONDS),
        "namenode_status": figures(status),
    }


if __name__ == "__main__":
    print("HDFS_WRITE_BENCH " + json.dumps(bench()), flush=True)
    sys.exit(0)
