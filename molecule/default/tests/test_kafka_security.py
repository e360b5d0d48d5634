"""Kafka and ZooKeeper let in only who logs in, and each job's principal only where its job needs.

Every client here runs on a cluster node, inside the firewall: what is left to stop it is TLS, SCRAM
and the ACLs. A refusal is checked twice: the client gets an error, and the topic it tried to write
has the same end offsets afterwards (read as the admin principal), so nothing landed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from controller import APP_PYTHON, KAFKA_CA, kafka_login, on

# Checks across nodes, run from the controller.
testinfra_hosts = ["ansible://master"]

KAFKA_TOOL = "java -Xmx256m -cp '/opt/zootopia/kafka/libs/*'"
ZOOKEEPER_SHELL = f"{KAFKA_TOOL} org.apache.zookeeper.ZooKeeperMain -server node0:2181"
# The CA of inventory/local (stack_cluster_name: local), on the controller only.
CA_DIR = Path(os.environ.get("ZOOTOPIA_CACHE_DIR", Path.home() / ".cache" / "zootopia")) / "pki" / "local"

ATTEMPT = """
import json, sys
from kafka import KafkaConsumer
try:
    topics = KafkaConsumer(bootstrap_servers="{bootstrap}", request_timeout_ms=10000, api_version_auto_timeout_ms=10000,
                           {options}).topics()
    print(json.dumps({{"listed": sorted(topics)}}))
except Exception as error:
    print(json.dumps({{"refused": type(error).__name__}}))
"""

END_OFFSETS = f"""
import json, sys
from kafka import KafkaConsumer, TopicPartition
consumer = KafkaConsumer(bootstrap_servers="node0:9092", {kafka_login("admin")})
partitions = [TopicPartition(sys.argv[1], p) for p in consumer.partitions_for_topic(sys.argv[1])]
print(json.dumps(sorted(consumer.end_offsets(partitions).values())))
"""

WRITE = """
import json, sys
from kafka import KafkaProducer
try:
    producer = KafkaProducer(bootstrap_servers="node0:9092", acks="all", max_block_ms=15000, request_timeout_ms=15000,
                             retries=0, {login})
    producer.send(sys.argv[1], key=b"intruder", value=b"must not land").get(timeout=30)
    print(json.dumps({{"written": True}}))
except Exception as error:
    print(json.dumps({{"refused": type(error).__name__}}))
"""


def _python(node: str, script: str, *args: str) -> dict[str, object]:
    output = on(node, f"{APP_PYTHON} - {' '.join(args)} <<'EOF'\n{script}\nEOF")
    result: dict[str, object] = json.loads(output.splitlines()[-1])
    return result


def _end_offsets(topic: str) -> list[int]:
    offsets: list[int] = json.loads(on("node0", f"{APP_PYTHON} - {topic} <<'EOF'\n{END_OFFSETS}\nEOF").splitlines()[-1])
    return offsets


@pytest.mark.parametrize(
    "options",
    [
        pytest.param("", id="plaintext"),
        pytest.param(f"security_protocol='SSL', ssl_cafile='{KAFKA_CA}'", id="tls-without-login"),
    ],
)
def test_a_client_without_credentials_gets_nothing(options: str) -> None:
    outcome = _python("node1", ATTEMPT.format(bootstrap="node1:9092", options=options))
    # Refused outright, or connected to nothing: either way not one topic is seen.
    assert not outcome.get("listed"), f"a client without credentials listed topics: {outcome}"


def test_the_same_client_logged_in_sees_only_the_topics_its_principal_may_describe() -> None:
    outcome = _python("node0", ATTEMPT.format(bootstrap="node0:9092", options=kafka_login("api")))
    assert outcome == {"listed": ["zootopia.progress", "zootopia.sources"]}


def test_a_wrong_password_is_refused_by_the_broker() -> None:
    config = "/root/wrong-login.properties"
    login = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="api" password="wrong";'
    lines = [
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-512",
        f"sasl.jaas.config={login}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={KAFKA_CA}",
    ]
    on("node1", f"printf '%s\\n' {' '.join(repr(line) for line in lines)} > {config}")
    try:
        listed = subprocess.run(
            [
                "docker",
                "exec",
                "node1",
                "sh",
                "-c",
                f"timeout 120 {KAFKA_TOOL} kafka.admin.TopicCommand --bootstrap-server node1:9092 "
                f"--command-config {config} --list",
            ],
            capture_output=True,
            text=True,
        )
    finally:
        on("node1", f"rm -f {config}")
    assert listed.returncode != 0
    assert "gbif" not in listed.stdout
    assert "Authentication failed" in listed.stdout + listed.stderr, listed.stderr[-2000:]


@pytest.mark.parametrize(
    ("principal", "topic"),
    [
        pytest.param("consumer", "zootopia.sources", id="consumer-to-sources"),
        pytest.param("consumer", "gbif", id="consumer-to-a-data-topic"),
        pytest.param("api", "gbif", id="api-to-a-data-topic"),
        pytest.param("api", "zootopia.progress", id="api-to-progress"),
    ],
)
def test_a_job_cannot_write_where_its_job_does_not(principal: str, topic: str) -> None:
    before = _end_offsets(topic)
    outcome = _python("node0", WRITE.format(login=kafka_login(principal)), topic)
    assert outcome.get("written") is not True, f"{principal} wrote to {topic}"
    assert "refused" in outcome
    assert _end_offsets(topic) == before, f"a record of {principal} landed in {topic}"


# The consumer's counted offsets (backpressure): the streams may read them, never move them.
COUNTED = """
import json
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
consumer = KafkaConsumer(bootstrap_servers="node0:9092", group_id="zootopia-consumer", enable_auto_commit=False,
                         request_timeout_ms=15000, {login})
partition = TopicPartition("gbif", 0)
outcome = {{"read": consumer.committed(partition, timeout_ms=15000)}}
try:
    if {attempt}:
        consumer.commit({{partition: OffsetAndMetadata(0, "", -1)}}, timeout_ms=15000)
        outcome["committed"] = True
except Exception as error:
    outcome["refused"] = type(error).__name__
print(json.dumps(outcome))
"""


def test_the_streams_read_the_consumers_counted_offsets_and_cannot_move_them() -> None:
    # The admin only reads: a commit would move the consumer's offsets back and pause the streams.
    admin = _python("node0", COUNTED.format(login=kafka_login("admin"), attempt=False))
    outcome = _python("node1", COUNTED.format(login=kafka_login("streams"), attempt=True))
    assert outcome["read"] == admin["read"], outcome
    assert outcome.get("committed") is not True, outcome
    assert outcome["refused"] == "GroupAuthorizationFailedError", outcome


def test_zookeeper_refuses_a_client_without_the_brokers_login() -> None:
    intruder = subprocess.run(
        ["docker", "exec", "node1", "sh", "-c", f"timeout 60 {ZOOKEEPER_SHELL} create /kafka/intruder x 2>&1"],
        capture_output=True,
        text=True,
    )
    assert "Created /kafka/intruder" not in intruder.stdout
    # With the brokers' login (as the tool that sets credentials does): the node is not there.
    admin = f"{KAFKA_TOOL} -Djava.security.auth.login.config=/etc/kafka/zookeeper-admin.jaas"
    checked = on(
        "node0", f"{admin} org.apache.zookeeper.ZooKeeperMain -server node0:2181 stat /kafka/intruder 2>&1 || true"
    )
    assert "Node does not exist: /kafka/intruder" in checked, checked[-2000:]
    acl = on("node0", f"{admin} org.apache.zookeeper.ZooKeeperMain -server node0:2181 getAcl /kafka/brokers/ids 2>&1")
    # Kafka's znodes: everything for the brokers' login, at most reading for anyone else.
    assert "'sasl,'kafka\n: cdrwa" in acl, acl[-2000:]
    assert not re.search(r"'world,'anyone\n: \w*[cdwa]", acl), acl[-2000:]


@pytest.mark.parametrize("node", ["node0", "node1", "node2"])
def test_each_broker_presents_a_certificate_of_the_cluster_ca_for_its_address(
    node: str, node_addresses: dict[str, str]
) -> None:
    address = node_addresses[node]
    shown = on(
        "node0",
        f"echo | openssl s_client -connect {address}:9092 -CAfile {KAFKA_CA} -verify_return_error "
        f"-verify_ip {address} 2>&1",
        check=False,
    )
    assert "Verify return code: 0 (ok)" in shown, shown[-2000:]


def test_the_ca_key_is_on_no_node() -> None:
    ca_public = subprocess.run(
        ["openssl", "pkey", "-in", str(CA_DIR / "ca.key"), "-pubout"], capture_output=True, text=True, check=True
    ).stdout
    assert "PUBLIC KEY" in ca_public
    for node in ["node0", "node1", "node2"]:
        on(node, f"test -f {KAFKA_CA}")
        holders = on(
            node, "grep -rlsE 'BEGIN (EC |RSA )?PRIVATE KEY' /etc /root /var /opt /tmp /srv /home || true"
        ).split()
        for holder in holders:
            public = on(node, f"openssl pkey -in {holder} -pubout 2>/dev/null || true")
            assert public != ca_public, f"the CA's key is on {node} at {holder}"
    assert (CA_DIR / "ca.key").stat().st_mode & 0o077 == 0
