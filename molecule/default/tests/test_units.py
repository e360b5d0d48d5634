"""Every daemon is a systemd unit, active and enabled on exactly the nodes its group names, under its own user."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from testinfra.host import Host

# unit -> (inventory group whose hosts run it, the user it runs as)
UNITS = {
    "zookeeper": ("zookeeper", "zookeeper"),
    "kafka": ("kafka", "kafka"),
    "hdfs-namenode": ("master", "hdfs"),
    "hdfs-datanode": ("hdfs_datanode", "hdfs"),
    "spark-master": ("master", "spark"),
    "spark-worker": ("spark_worker", "spark"),
}


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_unit_runs_exactly_where_its_group_says(host: Host, inventory: dict[str, Any], unit: str) -> None:
    group, user = UNITS[unit]
    service = host.service(unit)
    if inventory["inventory_hostname"] not in inventory["groups"][group]:
        assert not service.is_running
        return
    assert service.is_running
    assert service.is_enabled
    main_pid = host.run(f"systemctl show --property=MainPID --value {unit}").stdout.strip()
    assert host.run(f"ps -o user= -p {main_pid}").stdout.strip() == user
    limit = host.run(f"systemctl show --property=LimitNOFILE --value {unit}").stdout.strip()
    assert int(limit) >= 65536


# The app's units in their sandbox, as systemd reports it (the stream template as one of its instances).
APP_UNITS = ["zootopia-api", "zootopia-consumer", "zootopia-mirror", "zootopia-stream@0000000000000000"]
SANDBOX = {
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "RestrictSUIDSGID": "yes",
}


def _properties(host: Host, unit: str, names: Iterable[str]) -> dict[str, str]:
    """The unit's properties as systemd reports them."""
    shown = host.check_output(f"systemctl show --property={','.join(names)} {unit}")
    return dict(line.split("=", 1) for line in shown.splitlines())


def test_app_units_run_in_a_sandbox(host: Host) -> None:
    """Each app unit installed on this node (every node has the stream template)."""
    installed = [
        unit for unit in APP_UNITS if host.file(f"/etc/systemd/system/{unit.replace('0' * 16, '')}.service").exists
    ]
    assert "zootopia-stream@0000000000000000" in installed
    # The app writes its data directory only.
    expected = {**SANDBOX, "ReadWritePaths": "/var/lib/zootopia"}
    for unit in installed:
        assert _properties(host, f"{unit}.service", expected) == expected, unit


def test_a_streams_unit_is_bounded(host: Host) -> None:
    """A stream's memory and tasks are bounded by its unit (systemd reports bytes for MemoryMax)."""
    if not host.file("/etc/systemd/system/zootopia-stream@.service").exists:
        pytest.skip("no stream units on this node")
    expected = {"MemoryMax": str(2**30), "MemorySwapMax": "0", "TasksMax": "256"}
    assert _properties(host, "zootopia-stream@0000000000000000.service", expected) == expected


def test_the_streams_agent_keeps_sudo_and_a_read_only_system(host: Host) -> None:
    """It starts and stops stream instances through sudo, which NoNewPrivileges would stop."""
    if not host.service("zootopia-streams-agent").is_enabled:
        pytest.skip("no streams agent on this node")
    expected = {"ProtectSystem": "full", "PrivateTmp": "yes", "NoNewPrivileges": "no"}
    assert _properties(host, "zootopia-streams-agent", expected) == expected
