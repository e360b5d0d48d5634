"""ZooKeeper and Kafka units on every node."""

from __future__ import annotations

import pytest
from testinfra.host import Host


@pytest.mark.parametrize(("unit", "user"), [("zookeeper", "zookeeper"), ("kafka", "kafka")])
def test_unit_runs_enabled_as_its_own_user(host: Host, unit: str, user: str) -> None:
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled
    main_pid = host.run(f"systemctl show --property=MainPID --value {unit}").stdout.strip()
    assert host.run(f"ps -o user= -p {main_pid}").stdout.strip() == user
    limit = host.run(f"systemctl show --property=LimitNOFILE --value {unit}").stdout.strip()
    assert int(limit) >= 65536
