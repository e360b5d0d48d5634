"""The platform on every node: systemd, Java 11 by its path, a fresh image's services kept off the stack, pinned
artifacts in their layout, SSH trust."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from testinfra.host import Host

# One file each artifact must provide in the layout, whatever its source.
LAYOUT_MARKERS = {
    "kafka": "libs/kafka_2.13-*.jar",
    "hadoop": "share/hadoop/*/hadoop-hdfs-[0-9]*.jar share/hadoop/*/lib/hadoop-hdfs-[0-9]*.jar",
    "spark": "jars/spark-core_2.12-*.jar",
    "spark-kafka-connector": "jars/spark-sql-kafka-0-10_2.12-*.jar",
}
SERVICE_USERS = ["zookeeper", "kafka", "hdfs", "spark", "zootopia"]
STACK_UNIT_PREFIXES = ("zookeeper", "kafka", "hdfs-", "spark-", "zootopia")
# needrestart's configuration as needrestart itself loads it (its main file evaluates the drop-ins of
# conf.d), then, for each unit named, every verdict of the override_rc patterns that match it.
NEEDRESTART_VERDICTS = r"""
our %nrconf;
do "/etc/needrestart/needrestart.conf";
die "needrestart.conf: $@" if $@;
print "restart $nrconf{restart}\n";
for my $unit (@ARGV) {
    my @verdicts = map { $nrconf{override_rc}{$_} } grep { $unit =~ /$_/ } keys %{$nrconf{override_rc}};
    print "$unit @verdicts\n";
}
"""


def test_systemd_is_running(host: Host) -> None:
    state = host.run("systemctl is-system-running").stdout.strip()
    failed = host.run("systemctl --failed --no-legend").stdout
    assert state == "running", failed


def test_every_jvm_runs_the_stacks_java_11(host: Host, stack_defaults: dict[str, Any]) -> None:
    """By its path (stack_java), whatever /usr/bin/java points at."""
    java = stack_defaults["stack_java"]
    result = host.run(f"{java} -version")
    assert result.rc == 0
    assert 'version "11.' in result.stderr
    for unit in ("zookeeper", "kafka", "hdfs-datanode", "spark-worker"):
        pid = host.run(f"systemctl show --property=MainPID --value {unit}").stdout.strip()
        assert pid not in ("", "0"), unit
        # The command the JVM was started by (reading /proc/<pid>/exe of another user needs CAP_SYS_PTRACE).
        command = host.run(f"ps -o args= -p {pid}").stdout.split()
        assert command[:1] == [java], (unit, command[:1])


def test_a_fresh_images_services_leave_the_stack_alone(host: Host) -> None:
    """The nodes are built like a fresh Ubuntu image: needrestart restarting services on its own, ufw, and
    unattended-upgrades. needrestart would restart none of the stack's running units; ufw is still inactive."""
    listed = host.run("systemctl list-units --type=service --state=running --no-legend --plain").stdout
    units = sorted(line.split()[0] for line in listed.splitlines() if line.startswith(STACK_UNIT_PREFIXES))
    assert units, listed
    result = host.run(f"perl -e {shlex.quote(NEEDRESTART_VERDICTS)} {' '.join(units)}")
    assert result.rc == 0, result.stderr
    verdicts = dict(line.partition(" ")[::2] for line in result.stdout.splitlines())
    assert verdicts.pop("restart") == "a"  # the stand-in restarts on its own, as Ubuntu's non-interactive default
    assert verdicts == dict.fromkeys(units, "0")
    assert host.package("unattended-upgrades").is_installed
    with host.sudo():
        assert host.run("ufw status").stdout.strip() == "Status: inactive"


def test_every_artifact_has_its_pinned_checksum(
    host: Host, stack_defaults: dict[str, Any], artifacts: list[dict[str, str]]
) -> None:
    for artifact in artifacts:
        algorithm, expected = artifact["checksum"].split(":")
        path = f"{stack_defaults['stack_node_artifact_dir']}/{artifact['file']}"
        result = host.run(f"{algorithm}sum {path}")
        assert result.rc == 0, result.stderr
        assert result.stdout.split()[0] == expected, path


@pytest.mark.parametrize("name", sorted(LAYOUT_MARKERS))
def test_layout(host: Host, stack_defaults: dict[str, Any], artifacts: list[dict[str, str]], name: str) -> None:
    artifact = next(a for a in artifacts if a["name"] == name)
    link = host.file(f"{stack_defaults['stack_install_root']}/{name}")
    assert link.is_symlink
    assert link.linked_to.endswith("/" + artifact["dir"])
    patterns = " ".join(f"{link.path}/{pattern}" for pattern in LAYOUT_MARKERS[name].split())
    found = host.run(f"ls -d {patterns} 2>/dev/null")
    assert found.stdout.strip(), f"{name} has none of {LAYOUT_MARKERS[name]}"


def test_spark_launcher_runs(host: Host, stack_defaults: dict[str, Any]) -> None:
    result = host.run(f"{stack_defaults['stack_install_root']}/spark/bin/spark-submit --version")
    assert result.rc == 0, result.stderr
    assert f"version {stack_defaults['stack_spark_version']}" in result.stderr


def test_kafka_classes_load(host: Host, stack_defaults: dict[str, Any]) -> None:
    libs = f"{stack_defaults['stack_install_root']}/kafka/libs/*"
    result = host.run(f"java -cp '{libs}' kafka.Kafka --version")
    assert result.rc == 0, result.stderr
    assert stack_defaults["stack_kafka_version"] in result.stdout


@pytest.mark.parametrize("user", SERVICE_USERS)
def test_service_user(host: Host, user: str) -> None:
    assert host.user(user).exists
    assert host.group(user).exists


def test_every_node_resolves_every_node(host: Host, node_addresses: dict[str, str]) -> None:
    for node, address in node_addresses.items():
        # A container also lists itself once more, by the runtime: the first answer counts.
        first = host.run(f"getent hosts {node}").stdout.splitlines()[0]
        assert first.split() == [address, node]


@pytest.mark.parametrize("user", SERVICE_USERS)
def test_no_service_user_logs_in(host: Host, user: str) -> None:
    """No login shell, and no SSH key of theirs or for them: nothing logs in as a service user."""
    assert host.user(user).shell == "/usr/sbin/nologin"
    with host.sudo():
        keys = host.run(f"find {host.user(user).home} -maxdepth 2 -path '*/.ssh/*'").stdout.split()
    assert keys == []
