"""Producer throughput on the cluster: Zootopia's stream path next to Kafka's ProducerPerformance.

Run on a cluster node with the app's virtualenv. Every figure comes from the
same run, against the same brokers, with acks=all on a topic of replication
factor 3, and the same record size (the mean size of the real records used).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import re
import statistics
import subprocess
import time
import uuid
from dataclasses import replace
from itertools import cycle, islice
from pathlib import Path

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.record.util import crc32c_c

from zootopia import config, kafka_clients
from zootopia.records import Position, Record
from zootopia.sources.readers import read_dwca
from zootopia.streams import producer
from zootopia.streams.progress import Progress
from zootopia.streams.registry import Source

TOPIC = "zootopia.bench"


def real_records(archive: Path, count: int) -> list[Record]:
    """`count` records made from the archive's rows, repeated with distinct positions when needed."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    rows = [item for item in read_dwca(archive, digest) if isinstance(item, Record)]
    records = []
    for n, row in enumerate(islice(cycle(rows), count)):
        position = Position(digest, f"!/bench{n // len(rows)}", row.position.line)
        records.append(replace(row, position=position))
    return records


def fresh_topic(settings: config.Settings) -> None:
    admin = KafkaAdminClient(**kafka_clients.connection(settings))
    try:
        if TOPIC in admin.list_topics():
            admin.delete_topics([TOPIC])
            time.sleep(5)
        admin.create_topics([NewTopic(TOPIC, 3, 3, topic_configs={"min.insync.replicas": "2"})])
        time.sleep(3)
    finally:
        admin.close()


def zootopia_stream(settings: config.Settings, records: list[Record]) -> float:
    """Records/s through producer.run: transactional, progress committed every few thousand records."""
    source = Source(id=uuid.uuid4().hex[:16], url="bench://zootopia", topic=TOPIC, node="", seq=-1, added_at="")
    client = producer.transactional_producer(settings, source)
    outcome = producer.run(client, settings, source, records, Progress(source.id))
    client.close()
    assert outcome.sent == len(records), outcome
    return outcome.sent / outcome.seconds


def streams_at_once(settings: config.Settings, records: list[Record], streams: int) -> float:
    """Records/s of `streams` stream paths at once, each a process (as each source's stream is) sending its
    share of the records: all of them over the time from the first start to the last end."""
    context = multiprocessing.get_context("fork")  # the children share the records: nothing to pickle
    ready, spans = context.Barrier(streams), context.Queue()

    def one(share: list[Record]) -> None:
        ready.wait()
        started = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of the machine
        zootopia_stream(settings, share)
        spans.put((started, time.monotonic()))

    children = [context.Process(target=one, args=(records[n::streams],)) for n in range(streams)]
    for child in children:
        child.start()
    for child in children:  # joined first: a stream that failed puts no span (spans are a few bytes each)
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"a stream of the run failed: exit code {child.exitcode}")
    ends: list[tuple[float, float]] = [spans.get(timeout=10) for _ in children]
    return len(records) / (max(end for _, end in ends) - min(start for start, _ in ends))


def plain_producer(settings: config.Settings, records: list[Record]) -> float:
    """Records/s of kafka-python alone with the same settings (the streams' partitioner too), no
    transactions, the values encoded beforehand: the client's ceiling."""
    client = kafka_clients.producer(settings, partitioner=producer.Spread())
    values = [record.to_json() for record in records]
    started = time.monotonic()
    for value in values:
        client.send(TOPIC, key=b"bench://plain", value=value)
    client.flush()
    seconds = time.monotonic() - started
    client.close()
    return len(values) / seconds


# The producer settings of zootopia.kafka_clients, for a like-for-like run of Kafka's tool.
SAME_PROPS = ["enable.idempotence=true", "compression.type=gzip", "batch.size=1048576", "linger.ms=50"]


def producer_performance(
    settings: config.Settings, count: int, payload: list[str], kafka_home: str, props: list[str], client_config: str
) -> dict[str, float]:
    """Kafka's own ProducerPerformance, acks=all: random bytes of the given size (`payload` = [size]),
    or the very records as a payload file."""
    if len(payload) == 1:
        data = ["--record-size", payload[0]]
    else:
        path = Path("/var/lib/zootopia/bench-payload.jsonl")
        # The tool keeps the file in memory and picks lines at random: a few thousand real ones suffice.
        path.write_text("\n".join(payload[:2000]) + "\n", encoding="utf-8")
        data = ["--payload-file", str(path)]
    command = [
        "java", "-Xmx512m", "-cp", f"{kafka_home}/libs/*", "org.apache.kafka.tools.ProducerPerformance",
        "--topic", TOPIC, "--num-records", str(count), *data, "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={','.join(settings.kafka.bootstrap_servers)}", "acks=all", *props,
    ]  # fmt: skip
    if client_config:  # TLS and the login, as for every other client of the run
        command += ["--producer.config", client_config]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"ProducerPerformance failed ({run.returncode}): {run.stderr[-2000:]}")
    output = run.stdout
    summary = output.strip().splitlines()[-1]
    match = re.search(r"([0-9.]+) records/sec \(([0-9.]+) MB/sec\), ([0-9.]+) ms avg latency", summary)
    assert match, output
    return {"records_per_s": float(match[1]), "mb_per_s": float(match[2]), "avg_latency_ms": float(match[3])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--archive", type=Path, required=True, help="a Darwin Core Archive whose rows are sent")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kafka-home", default="/opt/zootopia/kafka")
    # A secured cluster: every client of the run logs in as this principal (it must be allowed to
    # create and write the bench topic: the admin tools' one), its password in --password-file, and
    # Kafka's tool with --client-config (its settings file).
    parser.add_argument("--principal", default="")
    parser.add_argument("--password-file", default="")
    parser.add_argument("--client-config", default="")
    # Only the streams' combined rate: this many stream paths at once, each its share of the records.
    parser.add_argument("--streams-at-once", type=int, default=0)
    args = parser.parse_args()
    settings = config.load(principal=args.principal)
    if args.password_file:
        logins = {**settings.kafka.password_files, args.principal: args.password_file}
        settings = replace(settings, kafka=replace(settings.kafka, password_files=logins))
    records = real_records(args.archive, args.records)
    lines = [record.to_json().decode("utf-8") for record in records]
    size = round(sum(len(line.encode("utf-8")) for line in lines) / len(lines))
    fresh_topic(settings)
    if args.streams_at_once:
        combined = [round(streams_at_once(settings, records, args.streams_at_once)) for _ in range(args.rounds)]
        print(
            json.dumps(
                {
                    "streams": args.streams_at_once,
                    "records": len(records),
                    "record_bytes": size,
                    "records_per_s": combined,
                    "median_records_per_s": statistics.median(combined),
                }
            )
        )
        return 0
    # Rounds in turn, so that the machine's load moves every figure alike; the ratio of their medians.
    rounds: dict[str, list[float]] = {"stream": [], "plain": [], "producer_performance": []}
    for _ in range(args.rounds):
        rounds["stream"].append(round(zootopia_stream(settings, records)))
        rounds["plain"].append(round(plain_producer(settings, records)))
        same = producer_performance(settings, len(records), lines, args.kafka_home, SAME_PROPS, args.client_config)
        rounds["producer_performance"].append(same["records_per_s"])
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    figures = {
        "security_protocol": settings.kafka.security_protocol,
        "records": len(records),
        "record_bytes": size,
        "crc32c_in_c": crc32c_c is not None,
        "zootopia_stream_records_per_s": rounds["stream"],
        "kafka_python_plain_records_per_s": rounds["plain"],
        "kafka_producer_performance_same_records_same_props": rounds["producer_performance"],
        "stream_over_producer_performance": round(medians["stream"] / medians["producer_performance"], 3),
        "plain_over_producer_performance": round(medians["plain"] / medians["producer_performance"], 3),
        "kafka_producer_performance_random_bytes_default_props": producer_performance(
            settings, len(records), [str(size)], args.kafka_home, [], args.client_config
        ),
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
