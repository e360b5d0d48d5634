"""The cluster works as one, checked from the master: one ZooKeeper leader, three brokers,
replicated topics, a record produced through node0 consumed from node2, HDFS with three
DataNodes and WebHDFS across nodes, Spark with every worker reading Kafka into Parquet on HDFS,
and neither HDFS nor the Spark UIs open to the nodes' other local accounts."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable

import pytest
from controller import APP_PYTHON, KAFKA_CA, PASSWORD_FILES, kafka_login
from testinfra.host import Host

# Cross-node checks, run on the master only.
testinfra_hosts = ["ansible://master"]

KAFKA_CLASSPATH = "/opt/zootopia/kafka/libs/*"
# Kafka's tools as the admin principal (its settings file is root's only).
KAFKA_ADMIN = "--command-config /etc/kafka/admin.properties"
WEBHDFS = "http://{namenode}:9870/webhdfs/v1"
AS_APP = "sudo -u zootopia"
TOPICS = ["gbif", "obis", "idigbio"]
CLOSE_DELAY_KEY = "dfs.client.block.write.locateFollowingBlock.initial.delay.ms"


def _bootstrap(node_addresses: dict[str, str], node: str) -> str:
    return f"{node_addresses[node]}:9092"


def _produce(host: Host, node_addresses: dict[str, str], marker: str) -> None:
    produced = host.run(f"sudo {APP_PYTHON} - {_bootstrap(node_addresses, 'node0')} {marker} <<'EOF'\n{PRODUCE}\nEOF")
    assert produced.rc == 0, produced.stderr


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
        f"sudo java -cp '{KAFKA_CLASSPATH}' kafka.admin.BrokerApiVersionsCommand "
        f"--bootstrap-server {_bootstrap(node_addresses, 'node0')} {KAFKA_ADMIN}"
    )
    assert result.rc == 0, result.stderr
    ids = re.findall(r"^(\S+):9092 \(id: (\d+) rack", result.stdout, re.MULTILINE)
    assert sorted(ids) == sorted((address, str(index)) for index, address in enumerate(node_addresses.values()))


@pytest.mark.parametrize("topic", TOPICS)
def test_topic_is_replicated_three_times_with_min_isr_two(
    host: Host, node_addresses: dict[str, str], topic: str
) -> None:
    result = host.run(
        f"sudo java -cp '{KAFKA_CLASSPATH}' kafka.admin.TopicCommand "
        f"--bootstrap-server {_bootstrap(node_addresses, 'node1')} {KAFKA_ADMIN} --describe --topic {topic}"
    )
    assert result.rc == 0, result.stderr
    header = result.stdout.splitlines()[0]
    assert "ReplicationFactor: 3" in header
    assert "min.insync.replicas=2" in header
    assert "retention.ms=86400000" in header


# As the streams write: their principal, TLS checked against the cluster's CA.
PRODUCE = f"""
import sys
from kafka import KafkaProducer
producer = KafkaProducer(bootstrap_servers=sys.argv[1], acks="all", {kafka_login("streams")})
producer.send("obis", key=b"test", value=sys.argv[2].encode()).get(timeout=60)
producer.flush()
"""

# node2 runs no consumer job, so no consumer password: the admin tools' principal reads.
CONSUME = f"""
import sys
from kafka import KafkaConsumer
consumer = KafkaConsumer("obis", bootstrap_servers=sys.argv[1], auto_offset_reset="earliest",
                         consumer_timeout_ms=60000, group_id=None, {kafka_login("admin")})
for record in consumer:
    if record.value.decode() == sys.argv[2]:
        print("found")
        break
"""


def test_message_produced_on_node0_is_consumed_on_node2(
    host: Host, node: Callable[[str], Host], node_addresses: dict[str, str]
) -> None:
    marker = uuid.uuid4().hex
    _produce(host, node_addresses, marker)
    consumed = node("node2").run(
        f"sudo {APP_PYTHON} - {_bootstrap(node_addresses, 'node2')} {marker} <<'EOF'\n{CONSUME}\nEOF"
    )
    assert consumed.rc == 0, consumed.stderr
    assert consumed.stdout.strip() == "found"


def test_no_service_user_logs_in_to_another_node(host: Host, node_addresses: dict[str, str]) -> None:
    """Nothing in the cluster uses SSH between nodes: the app's user holds no key any node accepts."""
    for node in node_addresses:
        options = "-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        # ssh's own failure is 255, which testinfra's SSH connection takes for its own: the status is printed.
        result = host.run(f"sudo -u zootopia ssh {options} {node} hostname 2>&1; echo status=$?")
        assert "status=255" in result.stdout, result.stdout
        assert "Permission denied" in result.stdout, result.stdout


def test_hdfs_has_three_live_datanodes_and_is_healthy(host: Host) -> None:
    report = host.run("sudo -u hdfs hdfs dfsadmin -report -live")
    assert report.rc == 0, report.stderr
    assert "Live datanodes (3)" in report.stdout
    fsck = host.run("sudo -u hdfs hdfs fsck /")
    assert fsck.rc == 0, fsck.stderr
    assert "Status: HEALTHY" in fsck.stdout


def test_every_nodes_hdfs_clients_ask_again_20_ms_after_a_close_not_400(node: Callable[[str], Host]) -> None:
    """The clients that read each node's hdfs-site.xml (its DataNode's WebHDFS writer, Spark) ask again to
    complete a file whose last block is not reported yet after 20 ms (docs/architecture.md, "Results on HDFS")."""
    for name in ("node0", "node1", "node2"):
        got = node(name).run(f"sudo -u hdfs hdfs getconf -confKey {CLOSE_DELAY_KEY}")
        assert got.rc == 0, got.stderr
        assert got.stdout.split() == ["20"], (name, got.stdout)


def test_file_written_over_webhdfs_from_node1_is_read_from_node2(
    host: Host, node: Callable[[str], Host], node_addresses: dict[str, str]
) -> None:
    marker = uuid.uuid4().hex
    url = WEBHDFS.format(namenode=node_addresses["node0"]) + f"/tmp/webhdfs-check/{marker}"
    node1 = node("node1")
    node1.run(f"echo {marker} > /tmp/{marker}")
    # As the app's user: only the accounts that use HDFS may connect to it (the firewall's output chain).
    written = node1.run(f"{AS_APP} curl -sS -f -L -X PUT -T /tmp/{marker} '{url}?op=CREATE&user.name=zootopia'")
    assert written.rc == 0, written.stderr
    read = node("node2").run(f"{AS_APP} curl -sS -f -L '{url}?op=OPEN&user.name=zootopia'")
    assert read.rc == 0, read.stderr
    assert read.stdout.strip() == marker
    status = json.loads(host.run(f"{AS_APP} curl -sS -f '{url}?op=GETFILESTATUS&user.name=zootopia'").stdout)
    assert status["FileStatus"]["replication"] == 2
    assert status["FileStatus"]["owner"] == "zootopia"


def test_webhdfs_sends_clients_to_datanodes_by_their_node_address(host: Host, node_addresses: dict[str, str]) -> None:
    """A client follows the NameNode's redirect to a DataNode: by its inventory address, never a host name that
    another network (CloudLab's control network) may resolve."""
    url = WEBHDFS.format(namenode=node_addresses["node0"]) + f"/tmp/webhdfs-check/{uuid.uuid4().hex}"
    headers = host.run(f"{AS_APP} curl -sS -f -D - -o /dev/null -X PUT '{url}?op=CREATE&user.name=zootopia'")
    assert headers.rc == 0, headers.stderr
    location = re.search(r"^Location: https?://([^:/]+):", headers.stdout, re.MULTILINE | re.IGNORECASE)
    assert location is not None, headers.stdout
    assert location.group(1) in node_addresses.values()
    datanodes = json.loads(
        host.run(
            f"{AS_APP} curl -sS -f 'http://{node_addresses['node0']}:9870/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo'"
        ).stdout
    )
    live = json.loads(datanodes["beans"][0]["LiveNodes"])
    # Keyed by the name each DataNode registered with.
    assert sorted(name.split(":")[0] for name in live) == sorted(node_addresses.values())


def test_spark_master_reports_every_worker_alive(host: Host, node_addresses: dict[str, str]) -> None:
    state = json.loads(host.run(f"curl -sS -f http://{node_addresses['node0']}:8080/json/").stdout)
    alive = sorted(worker["host"] for worker in state["workers"] if worker["state"] == "ALIVE")
    assert alive == sorted(node_addresses.values())


def test_spark_masters_ui_offers_no_kill_form(host: Host, node_addresses: dict[str, str]) -> None:
    """As the operator sees it (the login account, as through an SSH tunnel): the consumer's application listed,
    and no form that kills it."""
    page = host.run(f"curl -sS -f http://{node_addresses['node0']}:8080/")
    assert page.rc == 0, page.stderr
    assert "zootopia-consumer" in page.stdout  # the consumer's application is running and listed
    assert "app/kill" not in page.stdout


def test_other_local_accounts_reach_neither_hdfs_nor_the_spark_uis(
    node: Callable[[str], Host], node_addresses: dict[str, str]
) -> None:
    """As `nobody` on a worker: WebHDFS with or without a claimed user, RPC as `hdfs`, a DataNode, the Spark UIs:
    refused at once (the firewall's output chain resets the connection); the app's user gets through."""
    master = node_addresses["node0"]
    worker, here = node("node1"), node_addresses["node1"]
    for url in (
        f"http://{master}:9870/webhdfs/v1/zootopia?op=GETFILESTATUS",
        f"http://{master}:9870/webhdfs/v1/zootopia?op=GETFILESTATUS&user.name=hdfs",
        f"http://{here}:9864/",
        f"http://{master}:8080/",
        f"http://{here}:8081/",
    ):
        refused = worker.run(f"sudo -u nobody curl -sS -o /dev/null --max-time 10 '{url}'")
        assert refused.rc == 7, (url, refused.rc, refused.stderr)  # 7: could not connect
    rpc = "hdfs dfs -D ipc.client.connect.max.retries=0 -test -d hdfs://{master}:9000/zootopia"
    claimed = worker.run(f"sudo -u nobody env HADOOP_USER_NAME=hdfs timeout 120 {rpc.format(master=master)}")
    assert claimed.rc != 0
    assert "Connection refused" in claimed.stderr, claimed.stderr[-2000:]
    allowed = worker.run(f"{AS_APP} timeout 120 {rpc.format(master=master)}")
    assert allowed.rc == 0, allowed.stderr[-2000:]


SPARK_SUBMIT = "env SPARK_CONF_DIR=/etc/spark /opt/zootopia/spark/bin/spark-submit"
SPARK_SECRET = "/etc/zootopia/spark-auth-secret"


def _properties_with_the_secret(host: Host) -> str:
    """The client defaults plus the cluster's secret, in a file only the app user reads (never on a command line)."""
    path = "/tmp/spark-check.conf"
    # `echo` is the shell's own: the secret is in no process's argv.
    secret = f"spark.authenticate.secret $(cat {SPARK_SECRET})"
    write = f'{{ cat /etc/spark/spark-defaults.conf; echo "{secret}"; }} > {path}'
    made = host.run(f"sudo install -o zootopia -m 0600 /dev/null {path} && sudo sh -c '{write}'")
    assert made.rc == 0, made.stderr
    return path


# As the consumer job reads: its principal (the password read by the driver from its file),
# its group prefix, TLS checked against the cluster's CA.
SPARK_JOB = f"""
import sys
from pyspark.sql import SparkSession
bootstrap, marker, out = sys.argv[1:4]
password = open("{PASSWORD_FILES["consumer"]}").read().strip()
login = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="consumer" password="%s";'
spark = SparkSession.builder.appName("zootopia-check").getOrCreate()
records = (spark.read.format("kafka").option("kafka.bootstrap.servers", bootstrap)
           .option("kafka.security.protocol", "SASL_SSL").option("kafka.sasl.mechanism", "SCRAM-SHA-512")
           .option("kafka.sasl.jaas.config", login % password).option("kafka.ssl.truststore.type", "PEM")
           .option("kafka.ssl.truststore.location", "{KAFKA_CA}").option("groupIdPrefix", "zootopia-consumer")
           .option("subscribe", "obis").option("startingOffsets", "earliest").load()
           .selectExpr("CAST(value AS STRING) AS value"))
records.write.mode("overwrite").parquet(out)
back = spark.read.parquet(out)
print("MARKER_ROWS", back.filter(back.value == marker).count())
spark.stop()
"""


def test_pyspark_job_reads_kafka_and_writes_parquet_to_hdfs(host: Host, node_addresses: dict[str, str]) -> None:
    marker = uuid.uuid4().hex
    _produce(host, node_addresses, marker)
    out = f"/tmp/spark-check/{marker}"
    host.run(f"cat > /tmp/spark-check.py <<'EOF'\n{SPARK_JOB}\nEOF")
    properties = _properties_with_the_secret(host)
    try:
        submitted = host.run(
            f"sudo runuser -u zootopia -g zootopia -G zootopia-consumer -- {SPARK_SUBMIT} "
            f"--properties-file {properties} "
            f"/tmp/spark-check.py {_bootstrap(node_addresses, 'node0')} {marker} {out}"
        )
    finally:
        host.run(f"sudo rm -f {properties}")
    assert submitted.rc == 0, submitted.stderr[-3000:]
    assert "MARKER_ROWS 1" in submitted.stdout
    listing = host.run(f"sudo -u zootopia hdfs dfs -ls {out}")
    assert listing.rc == 0, listing.stderr
    assert ".parquet" in listing.stdout


def test_spark_refuses_an_application_without_the_secret(host: Host, node_addresses: dict[str, str]) -> None:
    host.run("cat > /tmp/spark-intruder.py <<'EOF'\n" + INTRUDER_JOB + "\nEOF")
    # As a user holding no secret would: the client defaults, authentication (and so encryption, which
    # needs it) turned off on its side.
    refused = host.run(
        f"sudo -u nobody timeout 150 {SPARK_SUBMIT} --conf spark.authenticate=false "
        "--conf spark.network.crypto.enabled=false --conf spark.ui.enabled=false /tmp/spark-intruder.py"
    )
    assert refused.rc != 0, refused.stdout
    assert "INTRUDER_RAN" not in refused.stdout
    # The master's own refusal, relayed to the client.
    assert "maybe your client does not have SASL enabled" in refused.stderr, refused.stderr[-3000:]
    state = json.loads(host.check_output(f"curl -sS -f http://{node_addresses['node0']}:8080/json/"))
    names = [app["name"] for app in state["activeapps"] + state["completedapps"]]
    assert "zootopia-intruder" not in names, names


INTRUDER_JOB = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("zootopia-intruder").getOrCreate()
print("INTRUDER_RAN", spark.range(10).count())
"""
