"""A wrong inventory fails at argument validation, readably, before any node is touched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playbook_runner import run_playbook

# Port 9 on loopback: any attempt to reach a node fails loudly as UNREACHABLE.
NODE = "{name}: {{ansible_host: 127.0.0.1, ansible_port: 9, node_address: {address}}}"


def _inventory(nodes: list[tuple[str, str]], masters: list[str]) -> str:
    lines = ["all:", "  children:", "    cluster:", "      hosts:"]
    lines += ["        " + NODE.format(name=name, address=address) for name, address in nodes]
    if masters:
        lines += ["    master:", "      hosts:"] + [f"        {name}:" for name in masters]
    return "\n".join(lines) + "\n"


def _run_base(tmp_path: Path, inventory: str) -> subprocess.CompletedProcess[str]:
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(inventory)
    return run_playbook(hosts, "playbooks/base.yml", timeout=300)


THREE = [("node0", "10.0.0.1"), ("node1", "10.0.0.2"), ("node2", "10.0.0.3")]


@pytest.mark.parametrize(
    ("inventory", "message"),
    [
        pytest.param(_inventory(THREE, []), "must name exactly one host of the group 'cluster'", id="missing-master"),
        pytest.param(_inventory(THREE, ["node0", "node1"]), "must name exactly one host", id="two-masters"),
        pytest.param(
            _inventory(THREE, ["node9"]),
            "must name exactly one host of the group 'cluster'",
            id="master-outside-cluster",
        ),
        pytest.param(
            _inventory([*THREE[:2], ("node2", "10.0.0.2")], ["node0"]),
            "node_address must differ from node to node; given more than once: ['10.0.0.2']",
            id="shared-address",
        ),
        pytest.param(
            _inventory(THREE, ["node0"]).replace(", node_address: 10.0.0.3", ""),
            "missing required arguments: node_address",
            id="missing-address",
        ),
        pytest.param(_inventory([*THREE, ("node1", "10.0.0.4")], ["node0"]), "duplicate", id="duplicate-node-name"),
        pytest.param(
            _inventory(THREE, ["node0"]),
            "zootopia_api_token (16 or more: the API faces the internet) must come from the inventory's vault",
            id="no-vault",
        ),
    ],
)
def test_wrong_inventory_fails_before_any_change(tmp_path: Path, inventory: str, message: str) -> None:
    result = _run_base(tmp_path, inventory)
    _assert_refused_before_any_change(result, message)


# The API's and Spark's secrets given, Kafka's not, or some too short.
SPARK_AND_API: dict[str, Any] = {"spark_auth_secret": "s" * 32, "zootopia_api_token": "t" * 16}
KAFKA_OK: dict[str, Any] = {
    "kafka_passwords": {name: "p" * 24 for name in ["broker", "admin", "streams", "consumer", "api"]},
    "kafka_key_password": "k" * 24,
    "kafka_zookeeper_password": "z" * 24,
}


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        pytest.param(SPARK_AND_API, "(missing or short: ['broker', 'admin', 'streams', 'consumer', 'api'])", id="none"),
        pytest.param(
            {**SPARK_AND_API, **KAFKA_OK, "kafka_passwords": {**KAFKA_OK["kafka_passwords"], "api": "short"}},
            "(missing or short: ['api'])",
            id="short-password",
        ),
        pytest.param(
            {**SPARK_AND_API, **KAFKA_OK, "kafka_key_password": "short"},
            "kafka_key_password and kafka_zookeeper_password must have 24 or more (now 5 and 24)",
            id="short-key-password",
        ),
    ],
)
def test_missing_kafka_secrets_fail_before_any_change(tmp_path: Path, secrets: dict[str, object], message: str) -> None:
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(_inventory(THREE, ["node0"]))
    result = run_playbook(hosts, "playbooks/base.yml", "-e", json.dumps(secrets), timeout=300)
    _assert_refused_before_any_change(result, message)


def _assert_refused_before_any_change(result: subprocess.CompletedProcess[str], message: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in " ".join(output.split()), output
    # Nothing was attempted on a node: no connection, no change.
    assert "UNREACHABLE" not in output
    assert "changed: [" not in output
