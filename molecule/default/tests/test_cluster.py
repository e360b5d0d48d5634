"""The cluster works as one, checked from the master: one ZooKeeper leader, three brokers,
replicated topics, a record produced through node0 consumed from node2, and the master's
passwordless SSH to every node."""

from __future__ import annotations

import re
import uuid

import pytest
from testinfra.host import Host

# Cross-node checks, run on the master only.
testinfra_hosts = ["ansible://master"]

KAFKA_CLASSPATH = "/opt/zootopia/kafka/libs/*"
TOPICS = ["gbif", "obis", "idigbio"]


def _bootstrap(node_addresses: dict[str, str], node: str) -> str:
    return f"{node_addresses[node]}:9092"


def test_ensemble_has_exactly_one_leader(host: Host, node_addresses: dict[str, str]) -> None:
    modes = []
    for node, address in node_addresses.items():
        answer = host.run(f"bash -c 'exec 3<>/dev/tcp/{address}/2181; echo srvr >&3; cat <&3'")
        assert answer.rc == 0, f"{node}: {answer.stderr}"
        found = re.search(r"^Mode: (\w+)", answer.stdout, re.MULTILINE)
        assert found, f"{node}: {answer.stdout}"
        modes.append(found.group(1))
    assert sorted(modes) == ["follower", "follower", "leader"]


def test_three_live_brokers_with_distinct_ids(host: Host, node_addresses: dict[str, str]) -> None:
    result = host.run(
        f"java -cp '{KAFKA_CLASSPATH}' kafka.admin.BrokerApiVersionsCommand "
        f"--bootstrap-server {_bootstrap(node_addresses, 'node0')}"
    )
    assert result.rc == 0, result.stderr
    ids = re.findall(r"^(\S+):9092 \(id: (\d+) rack", result.stdout, re.MULTILINE)
    assert sorted(ids) == sorted((address, str(index)) for index, address in enumerate(node_addresses.values()))


@pytest.mark.parametrize("topic", TOPICS)
def test_topic_is_replicated_three_times_with_min_isr_two(
    host: Host, node_addresses: dict[str, str], topic: str
) -> None:
    result = host.run(
        f"java -cp '{KAFKA_CLASSPATH}' kafka.admin.TopicCommand "
        f"--bootstrap-server {_bootstrap(node_addresses, 'node1')} --describe --topic {topic}"
    )
    assert result.rc == 0, result.stderr
    header = result.stdout.splitlines()[0]
    assert "ReplicationFactor: 3" in header
    assert "min.insync.replicas=2" in header
    assert "retention.ms=120000" in header


PRODUCE = """
import sys
from kafka import KafkaProducer
producer = KafkaProducer(bootstrap_servers=sys.argv[1], acks="all")
producer.send("obis", key=b"test", value=sys.argv[2].encode()).get(timeout=60)
producer.flush()
"""

CONSUME = """
import sys
from kafka import KafkaConsumer
consumer = KafkaConsumer("obis", bootstrap_servers=sys.argv[1], auto_offset_reset="earliest",
                         consumer_timeout_ms=60000, group_id=None)
for record in consumer:
    if record.value.decode() == sys.argv[2]:
        print("found")
        break
"""


def test_message_produced_on_node0_is_consumed_on_node2(host: Host, node_addresses: dict[str, str]) -> None:
    marker = uuid.uuid4().hex
    produced = host.run(f"python3 - {_bootstrap(node_addresses, 'node0')} {marker} <<'EOF'\n{PRODUCE}\nEOF")
    assert produced.rc == 0, produced.stderr
    # The master's service user reaches node2 over the trusted SSH.
    consumed = host.run(
        f"sudo -u zootopia ssh -o BatchMode=yes node2 python3 - {_bootstrap(node_addresses, 'node2')} {marker}"
        f" <<'EOF'\n{CONSUME}\nEOF"
    )
    assert consumed.rc == 0, consumed.stderr
    assert consumed.stdout.strip() == "found"


def test_master_user_reaches_every_node_without_password(host: Host, node_addresses: dict[str, str]) -> None:
    for node in node_addresses:
        # BatchMode: no password, and no prompt for an unknown host key (they are pinned).
        result = host.run(f"sudo -u zootopia ssh -o BatchMode=yes {node} hostname")
        assert result.rc == 0, result.stderr
        assert result.stdout.strip() == node
