"""An archive ten times the streams' cache bound, streamed on the three nodes.

The mirror builds it from the real rows of the recorded GBIF download (/gbif/large/<n>MiB.zip). The
stream reads it in place by range requests; it is SIGKILLed halfway and restarted by systemd. Every
record must be counted exactly once, against ground truth computed here from the file, and the
cache's disk, sampled every second on the stream's node, must never pass its bound; nor may any
data-topic partition's segments on any broker, sampled as often, pass their disk budget: 4/3 of the
retention (its retention and two segments: roles/kafka/vars). Then an archive from a host that answers
no range request, read as it downloads, SIGKILLed and resumed the same way.
"""

from __future__ import annotations

import json
import math
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import groundtruth
import pytest
from controller import (
    ZOOTOPIA,
    disk_budget,
    journal,
    log_bytes,
    on,
    partition_offsets,
    replica_segments,
    streams,
    wait_for,
    windows,
)

MEBIBYTE = 1024 * 1024


def sampled_usage(node: str, directory: str, stop: threading.Event, peaks: list[int]) -> None:
    while not stop.is_set():
        peaks.append(int(on(node, f"du -sb {directory} | cut -f1")))
        stop.wait(1)


def sampled_partitions(stop: threading.Event, peaks: Counter[str], seen: dict[str, str]) -> None:
    """The peak of each partition, and where it was: the broker, live and deleted bytes, the time."""
    while not stop.is_set():
        for partition, nodes in replica_segments().items():
            node, (live, deleted) = max(nodes.items(), key=lambda item: sum(item[1]))
            if live + deleted > peaks[partition]:
                peaks[partition] = live + deleted
                seen[partition] = f"{node}: {live} live, {deleted} deleted at {time.strftime('%H:%M:%S')}"
        stop.wait(1)


def fetched(url: str, tmp_path: Path) -> Path:
    """The archive at `url`, fetched from the mirror on node0 as a stream would: ground truth's file."""
    fetch = f"import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen('{url}').read())"
    archive = tmp_path / "large.zip"
    archive.write_bytes(
        subprocess.run(["docker", "exec", "node0", "python3", "-c", fetch], capture_output=True, check=True).stdout
    )
    return archive


def counted(url: str) -> dict[str, Any]:
    """Records, kingdoms and the last cumulative species of one source, over every window."""
    result: dict[str, Any] = {"records": 0, "kingdoms": Counter(), "species": 0}
    for doc in windows():
        counts = doc["sources"].get(url)
        if counts:
            result["records"] += counts["records"]
            result["kingdoms"].update(counts["kingdoms"])
            result["species"] = counts["cumulative_species"]
    return result


def test_an_archive_ten_times_the_cache_streams_exactly_once_within_the_cache_bound(tmp_path: Path) -> None:
    settings = json.loads(on("node0", "cat /etc/zootopia/zootopia.json"))
    bound = settings["cache"]["max_bytes"]
    url = f"{settings['services']['gbif']}/large/{math.ceil(10 * bound / MEBIBYTE)}MiB.zip"
    archive = fetched(url, tmp_path)
    assert archive.stat().st_size >= 10 * bound
    truth = groundtruth.archive(archive)

    on("node0", f"{ZOOTOPIA} streams add --topic gbif {url}")
    try:
        streamed(url, settings, truth)
    finally:
        # Whatever failed, the later modules find no stream of this test still running.
        on("node0", f"{ZOOTOPIA} streams remove --if-active {url}", check=False)


def streamed(url: str, settings: dict[str, Any], truth: groundtruth.Truth) -> None:
    """Streams the archive added at `url`, SIGKILLs it halfway, and checks the counts and every bound."""
    bound = settings["cache"]["max_bytes"]
    row = next(r for r in streams() if r["url"] == url)
    # The listing is polled every second on two busy cores: one that fails is a probe missed, told
    # in a timeout's explanation, not the test's end (and the caller removes the stream whatever fails).
    missed: list[str] = []

    def state() -> dict[str, Any]:
        try:
            return next(r for r in streams() if r["url"] == url)
        except AssertionError as error:
            missed.append(f"{time.strftime('%H:%M:%S')} {' '.join(str(error).split())[:300]}")
            return {"records": -1, "state": "unknown"}

    stop, peaks = threading.Event(), list[int]()
    partition_peaks: Counter[str] = Counter()
    peak_seen: dict[str, str] = {}
    samplers = [
        threading.Thread(target=sampled_usage, args=(row["node"], settings["cache"]["dir"], stop, peaks)),
        threading.Thread(target=sampled_partitions, args=(stop, partition_peaks, peak_seen)),
    ]
    for sampler in samplers:
        sampler.start()
    unit = f"zootopia-stream@{row['id']}"

    def explain() -> str:
        """Where the stream and the consumer stand: the offsets, their last words."""
        return "\n".join(
            [str(partition_offsets()), journal(row["node"], unit), journal("node0", "zootopia-consumer", 4, "warning")]
            + [f"listing failed: {line}" for line in missed[-5:]]
        )

    try:
        halfway = truth.records // 2
        wait_for(
            "half the archive sent",
            lambda: state()["records"] >= halfway,
            600,
            every=1,
            explain=explain,
        )
        on(row["node"], f"systemctl kill --signal=KILL {unit}")
        wait_for(
            "the stream exhausted",
            lambda: state()["state"] == "done",
            600,
            explain=explain,
        )
        wait_for(
            f"its {truth.records} records counted",
            lambda: counted(url)["records"] >= truth.records,
            300,
            every=10,
            explain=explain,
        )
    finally:
        stop.set()
        for sampler in samplers:
            sampler.join()
    restarts = int(on(row["node"], f"systemctl show -p NRestarts --value {unit}"))
    done = next(r for r in streams() if r["url"] == url)
    found = counted(url)
    assert restarts >= 1, "the SIGKILL restarted the stream"
    assert (done["records"], done["rejects"]) == (truth.records, 0)
    assert found["records"] == truth.records
    assert found["kingdoms"] == truth.kingdoms
    assert found["species"] == len(truth.species)
    assert len(peaks) > 10
    assert max(peaks) <= bound, f"the cache's disk reached {max(peaks)} bytes, over its bound of {bound}"
    offsets = partition_offsets()
    budget = {partition: disk_budget(o["retention"]) for partition, o in offsets.items()}
    # The archive filled GBIF's partitions past their retention: the budget was reached.
    gbif = {partition: peak for partition, peak in partition_peaks.items() if partition.startswith("gbif-")}
    assert len(gbif) == 3, gbif
    assert min(gbif.values()) > offsets["gbif-0"]["retention"], gbif
    over = {
        partition: (peak, budget[partition], peak_seen[partition])
        for partition, peak in partition_peaks.items()
        if peak > budget[partition]
    }
    assert not over, f"partitions over their disk budget while streaming (peak, budget, where): {over}\n" + journal(
        row["node"], unit, 40
    )


# The tar.gz form is checked by app/tests/sources/test_sequential.py only: the mirror's 6MiB.tar.gz
# compresses below the cache and went through it, where python-dwca-reader refused it for the
# extension files its meta.xml names and the mirror's archive lacks.
@pytest.mark.parametrize("form", ["zip?ranges=no"])
def test_an_archive_from_a_host_without_ranges_streams_exactly_once_after_a_kill(form: str, tmp_path: Path) -> None:
    """Twice the cache, served whole to every request (a zip from a host that ignores Range): read as it
    downloads (two downloads, nothing cached), SIGKILLed a third of the way and restarted by systemd;
    every record counted once, against ground truth from the zip."""
    settings = json.loads(on("node0", "cat /etc/zootopia/zootopia.json"))
    bound = settings["cache"]["max_bytes"]
    base = f"{settings['services']['gbif']}/large/{math.ceil(2 * bound / MEBIBYTE)}MiB"
    truth = groundtruth.archive(fetched(f"{base}.zip", tmp_path))
    url = f"{base}.{form}"
    on("node0", f"{ZOOTOPIA} streams add --topic gbif '{url}'")
    try:
        row = next(r for r in streams() if r["url"] == url)
        unit = f"zootopia-stream@{row['id']}"
        peaks: list[int] = []
        stop = threading.Event()
        sampler = threading.Thread(target=sampled_usage, args=(row["node"], settings["cache"]["dir"], stop, peaks))
        sampler.start()
        try:
            wait_for(
                "a third of the archive sent",
                lambda: next(r for r in streams() if r["url"] == url)["records"] >= truth.records // 3,
                600,
                every=1,
                explain=lambda: journal(row["node"], unit),
            )
            on(row["node"], f"systemctl kill --signal=KILL {unit}")
            wait_for(
                "the stream exhausted",
                lambda: next(r for r in streams() if r["url"] == url)["state"] == "done",
                600,
                explain=lambda: journal(row["node"], unit),
            )
            wait_for(f"its {truth.records} records counted", lambda: counted(url)["records"] >= truth.records, 300)
        finally:
            stop.set()
            sampler.join()
        restarts = int(on(row["node"], f"systemctl show -p NRestarts --value {unit}"))
        done = next(r for r in streams() if r["url"] == url)
        found = counted(url)
    finally:
        on("node0", f"{ZOOTOPIA} streams remove --if-active '{url}'", check=False)
    assert restarts >= 1, "the SIGKILL restarted the stream"
    assert (done["records"], done["rejects"]) == (truth.records, 0)
    assert (found["records"], found["kingdoms"], found["species"]) == (
        truth.records,
        truth.kingdoms,
        len(truth.species),
    )
    assert max(peaks) <= bound, f"the cache's disk reached {max(peaks)} bytes, over its bound of {bound}"


def test_by_the_end_retention_deleted_only_counted_records_within_every_bound() -> None:
    """After the seeds and the archive above, GBIF's topic has held more than its retention in each
    partition: retention deleted records, none the consumer had not counted, and no partition's
    segments passed 4/3 of its retention (its retention and two segments: roles/kafka/vars)."""
    offsets = partition_offsets()
    gbif = {partition: o for partition, o in offsets.items() if partition.startswith("gbif-")}
    assert any(o["start"] > 0 for o in gbif.values()), gbif
    for partition, o in offsets.items():
        assert o["start"] <= (o["counted"] or 0), (partition, o)
    for partition, size in log_bytes().items():
        assert size <= disk_budget(offsets[partition]["retention"]), (partition, size, offsets[partition])
