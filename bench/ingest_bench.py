"""One archive streamed through the deployed pipeline, watched from the master (bench/ingest.yml).

Adds the archive as a source as an operator does (`zootopia streams add`, the API's principal),
follows it in `zootopia streams list` until it is done (records, pauses for backpressure, the
largest lag seen), reads its progress record's size, removes the source, and prints the figures
with the topic's byte retention, read as the admin tools' principal. The nodes' samplers
(ingest_sampler.py) measure the disks and the stream's memory meanwhile.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from dataclasses import replace
from typing import Any

import requests

from zootopia import config, kafka_clients
from zootopia.streams.backpressure import topic_bytes

# As the app user with the API's principal, as playbooks/streams.yml runs it.
STREAMS = ["runuser", "-u", "zootopia", "-g", "zootopia", "-G", "zootopia-api", "--"]


def streams(zootopia: str, *args: str) -> str:
    return subprocess.run([*STREAMS, zootopia, "streams", *args], capture_output=True, text=True, check=True).stdout


def row_of(zootopia: str, url: str) -> dict[str, Any] | None:
    return next((row for row in json.loads(streams(zootopia, "list", "--json")) if row["url"] == url), None)


def follow(zootopia: str, url: str, timeout: float) -> dict[str, Any]:
    """Poll the source's row until it is done: its records over time, pauses and largest lag."""
    started = time.monotonic()
    first_record_at: float | None = None
    largest_lag, row = 0, None
    while time.monotonic() - started < timeout:
        row = row_of(zootopia, url)
        if row is not None:
            if row["records"] and first_record_at is None:
                first_record_at = time.monotonic()
            largest_lag = max(largest_lag, row["lag_records"] or 0)
            if row["state"] == "done":
                break
        time.sleep(2)
    assert row is not None, f"{url} never appeared in streams list"
    ended = time.monotonic()
    streaming = ended - (first_record_at or ended)
    return {
        "node": row["node"],
        "id": row["id"],
        "state": row["state"],
        "records": row["records"],
        "rejects": row["rejects"],
        "seconds_from_add": round(ended - started, 1),
        "seconds_streaming": round(streaming, 1),
        "records_per_s": round(row["records"] / streaming) if streaming else None,
        "pauses": row["pauses"],
        "largest_lag_records": largest_lag,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--archive-mib", type=int, default=256, help="the mirror's /gbif/large/<n>MiB.zip to stream")
    parser.add_argument("--topic", default="gbif")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--zootopia", default="/opt/zootopia/app/venv/bin/zootopia")
    parser.add_argument("--principal", default="admin")
    parser.add_argument("--password-file", default="/etc/kafka/admin.password")
    args = parser.parse_args()
    settings = config.load(principal=args.principal)
    logins = {**settings.kafka.password_files, args.principal: args.password_file}
    settings = replace(settings, kafka=replace(settings.kafka, password_files=logins))
    url = f"{settings.services.gbif}/large/{args.archive_mib}MiB.zip"
    if row_of(args.zootopia, url) is not None:
        raise SystemExit(f"{url} is already a source: remove it first")
    # The mirror builds an archive on its first request: before the stream asks, not on its clock.
    built = time.monotonic()
    requests.get(url, headers={"Range": "bytes=0-0"}, timeout=1800).raise_for_status()
    build_seconds = time.monotonic() - built
    streams(args.zootopia, "add", "--topic", args.topic, url)
    try:
        figures = follow(args.zootopia, url, args.timeout)
        progress = kafka_clients.read_compacted(settings, settings.kafka.progress_topic).get(figures["id"], b"")
        figures["progress_record_bytes"] = len(progress)
    finally:
        streams(args.zootopia, "remove", url)
    retention = topic_bytes(settings, args.topic).retention
    figures.update(
        url=url,
        archive_bytes=args.archive_mib * 1024 * 1024,
        archive_build_seconds=round(build_seconds, 1),
        topic=args.topic,
        retention_bytes_per_partition=retention,
        # A partition's disk budget: its retention and two segments of a sixth of it (roles/kafka/vars).
        partition_bound_bytes=retention * 4 // 3,
        cache_bound_bytes=settings.cache.max_bytes,
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
