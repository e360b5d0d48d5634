"""What one node holds while a stream runs, sampled every second until a stop file appears.

Run on every node by bench/ingest.yml (the node's python3, standard library only): each data-topic
partition's bytes in Kafka's log directory, the resident memory of each stream process running
here, and the bytes under the streams' cache directory (`du -sb`, as the molecule check measures it).
Prints the peaks as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

DATA_PARTITION = re.compile(r"^(gbif|obis|idigbio)-[0-9]+$")


def partition_bytes(log_dir: Path) -> dict[str, int]:
    """Bytes of the record segments of every data-topic partition in Kafka's log directory."""
    sizes: dict[str, int] = {}
    if not log_dir.is_dir():
        return sizes
    for entry in os.scandir(log_dir):
        if entry.is_dir() and DATA_PARTITION.match(entry.name):
            total = 0
            # Record segments only, live or deleted by retention but still there (.log.deleted, a
            # second): the active segment's index files are preallocated (10 MiB each).
            for file in os.scandir(entry.path):
                if not file.name.endswith((".log", ".log.deleted")):
                    continue
                try:
                    total += file.stat().st_size
                except FileNotFoundError:  # a segment deleted by retention meanwhile
                    continue
            sizes[entry.name] = total
    return sizes


def stream_rss_kib() -> dict[str, int]:
    """Resident memory (KiB) of each stream unit's main process on this node."""
    listed = subprocess.run(
        ["systemctl", "list-units", "zootopia-stream@*", "--state=active", "--plain", "--no-legend"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    rss: dict[str, int] = {}
    for line in listed.stdout.splitlines():
        unit = line.split()[0]
        pid = subprocess.run(
            ["systemctl", "show", "-p", "MainPID", "--value", unit], capture_output=True, text=True, check=False
        ).stdout.strip()
        try:
            status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
        except (FileNotFoundError, ProcessLookupError):
            continue
        match = re.search(r"^VmRSS:\s+([0-9]+) kB", status, re.M)
        if match and pid != "0":
            rss[unit] = int(match[1])
    return rss


def du_bytes(directory: Path) -> int:
    run = subprocess.run(["du", "-sb", str(directory)], capture_output=True, text=True, check=False)
    return int(run.stdout.split()[0]) if run.returncode == 0 and run.stdout else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kafka-log-dir", type=Path, default=Path("/var/lib/kafka/data"))
    parser.add_argument("--cache-dir", type=Path, default=Path("/var/lib/zootopia/cache"))
    parser.add_argument("--stop-file", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=3600, help="stop after this long at the latest")
    args = parser.parse_args()
    deadline = time.monotonic() + args.seconds
    samples, broker_peak, cache_peak = 0, 0, 0
    partition_peak: dict[str, int] = {}
    rss_peak: dict[str, int] = {}
    while not args.stop_file.exists() and time.monotonic() < deadline:
        sizes = partition_bytes(args.kafka_log_dir)
        broker_peak = max(broker_peak, sum(sizes.values()))
        for name, size in sizes.items():
            partition_peak[name] = max(partition_peak.get(name, 0), size)
        for unit, kib in stream_rss_kib().items():
            rss_peak[unit] = max(rss_peak.get(unit, 0), kib)
        cache_peak = max(cache_peak, du_bytes(args.cache_dir))
        samples += 1
        time.sleep(1)
    print(
        json.dumps(
            {
                "node": socket.gethostname(),
                "samples": samples,
                "kafka_data_bytes_peak": broker_peak,
                "kafka_partition_bytes_peak": dict(sorted(partition_peak.items())),
                "stream_rss_kib_peak": rss_peak,
                "cache_bytes_peak": cache_peak,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
