"""A wrong inventory fails at argument validation, readably, before any node is touched."""

from __future__ import annotations

import json
import subprocess
import sys
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


def _other_python() -> str | None:
    """A Python of another minor version than the controller's, from pyenv (this machine's kind has 3.8-3.13)."""
    found = sorted(Path.home().glob(".pyenv/versions/3.9.*/bin/python")) + sorted(
        Path.home().glob(".pyenv/versions/3.12.*/bin/python")
    )
    others = [str(path) for path in found if path.resolve() != Path(sys.executable).resolve()]
    return others[0] if others else None


def test_nodes_on_different_pythons_fail_before_any_change(tmp_path: Path) -> None:
    """Three 'nodes' on this machine (local connection), one of them on another Python: the base play reads
    their facts and stops before its first change."""
    other = _other_python()
    if other is None:
        pytest.skip("no second Python under ~/.pyenv/versions (3.9 or 3.12) to make a mixed cluster with")
    nodes = []
    for index, (name, address) in enumerate(THREE):
        python = other if index == 1 else sys.executable
        nodes.append(
            f"{name}: {{ansible_connection: local, ansible_python_interpreter: {python}, node_address: {address}}}"
        )
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(
        "\n".join(["all:", "  children:", "    cluster:", "      hosts:", *("        " + node for node in nodes)])
        + "\n    master:\n      hosts:\n        node0:\n"
    )
    secrets = {**SPARK_AND_API, **KAFKA_OK, "ansible_become": False}
    result = run_playbook(hosts, "playbooks/base.yml", "-e", json.dumps(secrets), timeout=300)
    minor = ".".join(Path(other).parent.parent.name.split(".")[:2])
    controller = f"{sys.version_info.major}.{sys.version_info.minor}"
    _assert_refused_before_any_change(
        result, f"the nodes run different Python versions (node0: {controller}, node1: {minor}, node2: {controller})"
    )


@pytest.mark.parametrize("mode", ["--syntax-check", "--list-tasks"])
def test_the_production_inventory_gives_a_whole_run(mode: str) -> None:
    """`site.yml -i inventory/cloudlab` as ops run it, without its vault: it parses and lists every play's tasks."""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [str(root / ".venv/bin/ansible-playbook"), "-i", "inventory/cloudlab", "site.yml", mode],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    if mode == "--list-tasks":
        for task in (
            "common : Check the nodes' releases and Python before anything changes",
            "zootopia : Install the units",
        ):
            assert task in result.stdout
