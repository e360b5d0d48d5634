"""Controller-side helpers of the checks: a command on a node, a playbook run, the pipeline's streams and windows."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import playbook_runner

ROOT = Path(__file__).resolve().parents[3]
INVENTORY = ROOT / "inventory" / "local"
# The CLI as ops run it, as root: the command on PATH switches to the app's user with the Kafka
# principal of the CLI and the API (streams add/remove/list), or of the streams (produce).
ZOOTOPIA = "zootopia"
# The app's venv Python, with kafka-python (the nodes have no python3-kafka); PYTHON runs it as the app.
APP_PYTHON = "/opt/zootopia/app/venv/bin/python"
PYTHON = f"runuser -u zootopia -- {APP_PYTHON}"

KAFKA_CA = "/etc/ssl/zootopia/ca.crt"
# Each principal's password file on the nodes (root can read them all).
PASSWORD_FILES = {
    "admin": "/etc/kafka/admin.password",
    "streams": "/etc/zootopia/kafka/streams.password",
    "consumer": "/etc/zootopia/kafka/consumer.password",
    "api": "/etc/zootopia/kafka/api.password",
}


def kafka_login(principal: str) -> str:
    """kafka-python keyword arguments, as Python source, that log in as `principal` (run as root on a node)."""
    return (
        f"security_protocol='SASL_SSL', sasl_mechanism='SCRAM-SHA-512', ssl_cafile='{KAFKA_CA}', "
        f"sasl_plain_username='{principal}', sasl_plain_password=open('{PASSWORD_FILES[principal]}').read().strip()"
    )


READ_WINDOWS = """
import json
from hdfs import HdfsError, InsecureClient
from zootopia import config
settings = config.load()
client = InsecureClient(settings.hdfs.url, user=settings.hdfs.user)
def listed(directory, suffix):
    names = client.list(directory) if client.status(directory, strict=False) else []
    return sorted(directory + "/" + n for n in names if n.endswith(suffix) and not n.startswith("."))
def read(path):
    with client.read(path) as reader:
        return reader.read().decode("utf-8")
# Single files and packs; the consumer may pack some between two listings: read again until whole.
for attempt in range(5):
    docs = {}
    try:
        for path in listed(settings.hdfs.root + "/windows-packed", ".jsonl"):
            for line in read(path).splitlines():
                doc = json.loads(line)
                docs[doc["window"]] = doc
        for path in listed(settings.hdfs.root + "/windows", ".json"):
            doc = json.loads(read(path))
            docs[doc["window"]] = doc
    except HdfsError:
        continue
    if sorted(docs) == list(range(1, len(docs) + 1)):
        break
print(json.dumps([docs[window] for window in sorted(docs)]))
"""


def on(node: str, command: str, check: bool = True) -> str:
    """Run `command` on a local node; its stdout. A failure fails the check with the command's output."""
    result = subprocess.run(["docker", "exec", node, "sh", "-c", command], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{node}: {command} -> {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def run_playbook(
    playbook: str, *extra: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook against inventory/local, as ops run it (tests/playbook_runner.py). With `check`, a
    failed run raises with its failed tasks, not its output's end."""
    result = playbook_runner.run_playbook(INVENTORY, playbook, *extra, env=env)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{playbook} {' '.join(extra)} -> {result.returncode}\n{playbook_runner.failed_tasks(result)}"
        )
    return result


def wait_for(
    what: str,
    condition: Callable[[], bool],
    timeout: float,
    every: float = 3.0,
    explain: Callable[[], str] | None = None,
) -> None:
    """Raises after `timeout` seconds, with what `explain` tells (CI shows a failure's message only)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            why = f"\n{explain()}" if explain is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{why}")
        time.sleep(every)


def journal(node: str, unit: str, lines: int = 6, priority: str = "info") -> str:
    """A unit's last log lines at `priority` or above, prefixed with where they come from."""
    text = on(node, f"journalctl --no-pager -o cat -p {priority} -n {lines} -u {unit}", check=False)
    return "\n".join(f"{node} {unit}: {line[:200]}" for line in text.splitlines())


def streams() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(on("node0", f"{ZOOTOPIA} streams list --json"))
    return rows


def windows() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = json.loads(on("node0", f"{PYTHON} - <<'EOF'\n{READ_WINDOWS}\nEOF"))
    return docs


# Per data-topic partition: its log start, the consumer's counted (committed) offset and its end; and
# the topic's retention.bytes. As the admin principal, which may read any group's offsets.
PARTITION_OFFSETS = """
import json
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType
login = dict({login})
consumer = KafkaConsumer(bootstrap_servers='node0:9092', group_id='zootopia-consumer', enable_auto_commit=False,
                         **login)
admin = KafkaAdminClient(bootstrap_servers='node0:9092', **login)
report = {{}}
for topic in ('gbif', 'obis', 'idigbio'):
    config = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])[0].resources[0][4]
    retention = int(dict((entry[0], entry[1]) for entry in config)['retention.bytes'])
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    starts, ends = consumer.beginning_offsets(parts), consumer.end_offsets(parts)
    for tp in parts:
        report[f'{{topic}}-{{tp.partition}}'] = {{
            'start': starts[tp], 'counted': consumer.committed(tp), 'end': ends[tp], 'retention': retention}}
print(json.dumps(report))
"""
# Bytes of record segments per data-topic partition directory of a broker: the live ones (.log) and
# those a retention check deleted whose files are still there (.log.deleted). A file deleted while
# find walks is left out (its warning and status ignored).
LOG_BYTES = (
    r"find /var/lib/kafka/data \( -path '*/gbif-*' -o -path '*/obis-*' -o -path '*/idigbio-*' \)"
    r" \( -name '*.log' -o -name '*.log.deleted' \) -printf '%s %h %f\n' 2>/dev/null; true"
)


def disk_budget(retention: int) -> int:
    """A data-topic partition's bytes on disk at most: its retention and two segments of a sixth of it
    (roles/kafka/vars)."""
    return retention * 4 // 3


def partition_offsets() -> dict[str, dict[str, Any]]:
    script = PARTITION_OFFSETS.format(login=kafka_login("admin"))
    output = on("node0", f"{APP_PYTHON} - <<'EOF'\n{script}\nEOF")
    report: dict[str, dict[str, Any]] = json.loads(output)
    return report


def replica_segments() -> dict[str, dict[str, tuple[int, int]]]:
    """Each data-topic partition's record segments on each broker: (live bytes, deleted bytes)."""
    replicas: dict[str, dict[str, tuple[int, int]]] = {}
    for node in ("node0", "node1", "node2"):
        for line in on(node, LOG_BYTES).splitlines():
            size, directory, name = line.split(" ", 2)
            nodes = replicas.setdefault(directory.rsplit("/", 1)[-1], {})
            live, deleted = nodes.get(node, (0, 0))
            nodes[node] = (live, deleted + int(size)) if name.endswith(".deleted") else (live + int(size), deleted)
    return replicas


def log_bytes() -> dict[str, int]:
    """The largest size, over the brokers, of each data-topic partition's record segments."""
    return {partition: max(map(sum, nodes.values())) for partition, nodes in replica_segments().items()}
