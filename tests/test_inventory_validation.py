"""A wrong inventory fails at argument validation, readably, before any node is touched."""

from __future__ import annotations

import subprocess
from pathlib import Path

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
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in " ".join(output.split()), output
    # Nothing was attempted on a node: no connection, no change.
    assert "UNREACHABLE" not in output
    assert "changed: [" not in output
