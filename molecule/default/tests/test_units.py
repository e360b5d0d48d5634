"""Every daemon is a systemd unit, active and enabled on exactly the nodes its group names, under its own user."""

from __future__ import annotations

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
