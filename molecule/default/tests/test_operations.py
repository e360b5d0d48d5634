"""Operations on the running cluster, driven from the controller as ops would: check mode changes
nothing, status/stop/start/restart playbooks, topic reconciliation, a re-configured Kafka setting
restarts only Kafka broker after broker, a forced certificate renewal rolls the brokers and loses no
acknowledged record, a restarted node brings its units back by itself."""

from __future__ import annotations

import json
import re
import subprocess
import time

from controller import APP_PYTHON, KAFKA_CA, kafka_login, on, run_playbook, wait_for

NODES = ["node0", "node1", "node2"]
NODE_UNITS = {
    "node0": ["zookeeper", "kafka", "hdfs-namenode", "hdfs-datanode", "spark-master", "spark-worker"],
    "node1": ["zookeeper", "kafka", "hdfs-datanode", "spark-worker"],
    "node2": ["zookeeper", "kafka", "hdfs-datanode", "spark-worker"],
}


def _timestamps(node: str, unit: str) -> tuple[int, int]:
    """(last became active, last became inactive), on the kernel's monotonic clock shared by all nodes."""
    shown = on(node, f"systemctl show --property=ActiveEnterTimestampMonotonic,InactiveEnterTimestampMonotonic {unit}")
    values = dict(line.split("=", 1) for line in shown.splitlines())
    return int(values["ActiveEnterTimestampMonotonic"]), int(values["InactiveEnterTimestampMonotonic"])


def _kafka_topic_header(topic: str) -> str:
    described = on(
        "node0",
        "java -cp '/opt/zootopia/kafka/libs/*' kafka.admin.TopicCommand "
        f"--bootstrap-server node0:9092 --command-config /etc/kafka/admin.properties --describe --topic {topic}",
    )
    return described.splitlines()[0]


def _assert_brokers_restarted_one_at_a_time(after: dict[tuple[str, str], tuple[int, int]]) -> None:
    """Each broker went down only after the previous one was up again."""
    for previous, following in zip(NODES, NODES[1:]):
        assert after[following, "kafka"][1] > after[previous, "kafka"][0], (
            f"{following} stopped before {previous} was up"
        )


def test_check_mode_on_the_converged_cluster_changes_nothing() -> None:
    result = run_playbook("site.yml", "--check", "--diff")
    recap = re.findall(r"^(node\d)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.MULTILINE)
    assert sorted(recap) == [(node, "0") for node in NODES]


def test_status_playbook_shows_every_unit_running_and_enabled() -> None:
    result = run_playbook("playbooks/status.yml")
    for node, units in NODE_UNITS.items():
        for unit in units:
            assert re.search(rf"{node}\s+{unit}\s+running\s+enabled", result.stdout), f"{node} {unit}"


def test_stop_and_start_playbooks() -> None:
    run_playbook("playbooks/stop.yml")
    for node, units in NODE_UNITS.items():
        assert on(node, f"systemctl is-active {' '.join(units)} || true").split() == ["inactive"] * len(units)
    run_playbook("playbooks/start.yml")
    for node, units in NODE_UNITS.items():
        assert on(node, f"systemctl is-active {' '.join(units)} || true").split() == ["active"] * len(units)


def test_restart_playbook_restarts_the_brokers_one_at_a_time() -> None:
    before = {(node, "kafka"): _timestamps(node, "kafka") for node in NODES}
    run_playbook("playbooks/restart.yml")
    after = {key: _timestamps(*key) for key in before}
    assert all(after[key][0] > before[key][0] for key in before)
    _assert_brokers_restarted_one_at_a_time(after)


def test_topics_follow_the_inventory_and_refuse_impossible_changes() -> None:
    longer = json.dumps({"kafka_topics": [{"name": "gbif", "config": {"retention.ms": 60000}}]})
    try:
        run_playbook("playbooks/kafka_topics.yml", "-e", longer)
        assert "retention.ms=60000" in _kafka_topic_header("gbif")
    finally:
        run_playbook("playbooks/kafka_topics.yml")
    assert "retention.ms=86400000" in _kafka_topic_header("gbif")
    for change, reason in [
        ({"partitions": 2}, "Kafka cannot remove partitions"),
        ({"replication_factor": 2}, "reassignment"),
    ]:
        refused = run_playbook(
            "playbooks/kafka_topics.yml", "-e", json.dumps({"kafka_topics": [{"name": "obis", **change}]}), check=False
        )
        assert refused.returncode != 0
        assert reason in refused.stdout
    assert "ReplicationFactor: 3" in _kafka_topic_header("obis")
    assert "PartitionCount: 3" in _kafka_topic_header("obis")


# The setting the next check changes; the certificate renewal's run (the last check here) puts the
# inventory's value back, so both share one rolling restart.
CHANGED_SETTING = "log.cleaner.threads=2"


def _server_properties(node: str) -> list[str]:
    return on(node, "cat /etc/kafka/server.properties").splitlines()


def test_a_changed_kafka_setting_restarts_only_kafka_one_broker_at_a_time() -> None:
    before = {(node, unit): _timestamps(node, unit) for node, units in NODE_UNITS.items() for unit in units}
    changed = json.dumps({"kafka_server_config_extra": {"log.cleaner.threads": 2}})
    try:
        run_playbook("playbooks/kafka.yml", "-e", changed)
        after = {key: _timestamps(*key) for key in before}
        for node, unit in before:
            if unit == "kafka":
                assert after[node, unit][0] > before[node, unit][0], f"kafka on {node} was not restarted"
            else:
                assert after[node, unit] == before[node, unit], f"{unit} on {node} was restarted"
        _assert_brokers_restarted_one_at_a_time(after)
        assert all(CHANGED_SETTING in _server_properties(node) for node in NODES)
    except BaseException:
        # Put the inventory's settings back at once: the renewal's run must not be the one to do it.
        run_playbook("playbooks/kafka.yml", check=False)
        raise


def test_a_restarted_node_brings_its_units_back_without_ansible() -> None:
    subprocess.run(["docker", "restart", "node2"], check=True, capture_output=True)
    deadline = time.monotonic() + 180
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {unit: on("node2", f"systemctl is-active {unit} || true") for unit in NODE_UNITS["node2"]}
        if all(state == "active" for state in states.values()):
            break
        time.sleep(3)
    assert all(state == "active" for state in states.values()), states


# Writes one numbered record every 20 ms with acks=all until /root/renewal.stop exists, then
# prints which were acknowledged, which failed and how many neither (still unanswered when its flush
# gave up). Every wait is bounded, so it always reports; kafka-python's warnings go to renewal.log.
RENEWAL_FLUSH_S = 150  # more than kafka-python's delivery timeout (120 s): an unstuck sender answers every record
RENEWAL_PRODUCER = f"""
import json, logging, os, time
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
logging.basicConfig(filename="/root/renewal.log", level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
producer = KafkaProducer(bootstrap_servers="node0:9092,node1:9092,node2:9092", acks="all", retries=2147483647,
                         enable_idempotence=True, max_in_flight_requests_per_connection=1, {kafka_login("admin")})
acked, failed, n = [], [], 0
def sent(number):
    return lambda metadata: acked.append(number)
while not os.path.exists("/root/renewal.stop"):
    try:
        producer.send("zootopia.renewal-check", value=str(n).encode()).add_callback(sent(n)).add_errback(
            lambda error: failed.append(repr(error)))
    except KafkaError as error:  # no metadata within max_block_ms
        failed.append(repr(error))
    n += 1
    time.sleep(0.02)
try:
    producer.flush(timeout={RENEWAL_FLUSH_S})
except KafkaTimeoutError:
    logging.error("flush gave up after {RENEWAL_FLUSH_S} s")
print(json.dumps({{"acked": sorted(acked), "failed": failed, "unanswered": n - len(acked) - len(failed)}}), flush=True)
os._exit(0)  # no exit-time close: it could wait on what the flush gave up on
"""

RENEWAL_COUNT = f"""
import json
from kafka import KafkaConsumer
consumer = KafkaConsumer("zootopia.renewal-check", bootstrap_servers="node0:9092", auto_offset_reset="earliest",
                         consumer_timeout_ms=20000, group_id=None, {kafka_login("admin")})
print(json.dumps(sorted({{int(record.value) for record in consumer}})))
"""


def _serial(node: str) -> str:
    return on(node, "openssl x509 -noout -serial -in /etc/kafka/keystore.pem.d/2-certificate.pem")


def _presented_serial(node: str) -> str:
    shown = on(
        "node0",
        f"echo | openssl s_client -connect {node}:9092 -CAfile {KAFKA_CA} 2>/dev/null | openssl x509 -noout -serial",
    )
    return shown


def _renewal_log() -> str:
    """The renewal producer's last kafka-python warnings (CI shows a failure's message only)."""
    return on("node0", "tail -n 30 /root/renewal.log 2>/dev/null", check=False)


def test_a_forced_certificate_renewal_rolls_the_brokers_and_loses_no_record() -> None:
    """Its run also puts back the Kafka setting the check above changed (the inventory's value)."""
    topic_tool = (
        "java -cp '/opt/zootopia/kafka/libs/*' kafka.admin.TopicCommand --bootstrap-server node0:9092 "
        "--command-config /etc/kafka/admin.properties --topic zootopia.renewal-check"
    )
    create = f"{topic_tool} --create --partitions 3 --replication-factor 3 --config min.insync.replicas=2"
    # A node restarted by the check before may still be joining: three brokers are needed.
    wait_for("the topic created on three brokers", lambda: "Created topic" in on("node0", f"{create} || true"), 180)
    serials = {node: _serial(node) for node in NODES}
    before = {(node, "kafka"): _timestamps(node, "kafka") for node in NODES}
    on("node0", "rm -f /root/renewal.stop /root/renewal.out /root/renewal.log")
    producing = subprocess.Popen(
        ["docker", "exec", "-i", "node0", "sh", "-c", f"{APP_PYTHON} - > /root/renewal.out"],
        stdin=subprocess.PIPE,
        text=True,
    )
    assert producing.stdin is not None
    producing.stdin.write(RENEWAL_PRODUCER)
    producing.stdin.close()
    try:
        time.sleep(5)
        run_playbook("playbooks/kafka.yml", "-e", "pki_force_renewal=true")
        time.sleep(5)
    finally:
        on("node0", "touch /root/renewal.stop")
        try:
            producing.wait(timeout=RENEWAL_FLUSH_S + 90)  # its flush, and a send blocked on metadata
        except subprocess.TimeoutExpired as stuck:
            producing.kill()
            raise AssertionError(f"the producer did not report\n{_renewal_log()}") from stuck
    outcome = json.loads(on("node0", "cat /root/renewal.out"))
    stored = json.loads(on("node0", f"{APP_PYTHON} - <<'EOF'\n{RENEWAL_COUNT}\nEOF"))
    on("node0", f"{topic_tool} --delete")
    after = {key: _timestamps(*key) for key in before}
    assert all(after[key][0] > before[key][0] for key in before), "a broker was not restarted"
    _assert_brokers_restarted_one_at_a_time(after)
    for node in NODES:
        assert CHANGED_SETTING not in _server_properties(node), f"{node} keeps the setting changed before"
        assert _serial(node) != serials[node], f"{node}'s certificate was not renewed"
        assert _presented_serial(node) == _serial(node), f"{node} does not present its new certificate"
    assert outcome["failed"] == [], f"{outcome['failed'][:5]}\n{_renewal_log()}"
    assert outcome["unanswered"] == 0, _renewal_log()
    assert len(outcome["acked"]) > 500  # records were written all along the rolling restart
    assert set(outcome["acked"]) <= set(stored), "an acknowledged record is missing"
