"""The host firewall, after every node has been restarted: what an outsider on the nodes' own network reaches.

An outsider is a container on the cluster's network at an address outside the inventory, holding no
credential. It tries every TCP port any daemon listens on, on every node: only SSH (every node) and the
API (the master) may answer; every other port must time out (dropped, not refused). The same scan from
a node of the cluster reaches every port, so the scan itself can see an open port.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from controller import on, run_playbook, wait_for
from testinfra.host import Host

NETWORK = "zootopia"
OUTSIDER = "zootopia-outsider"
OUTSIDER_ADDRESS = "172.30.80.99"
SSH = 22
API = 10001

SCAN = """
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor

def probe(target):
    host, port = target
    with socket.socket() as connection:
        connection.settimeout(3)
        try:
            connection.connect((host, port))
            return "open"
        except socket.timeout:
            return "timeout"
        except ConnectionRefusedError:
            return "refused"
        except OSError as error:
            return "error: %s" % error

targets = [tuple(t) for t in json.loads(sys.argv[1])]
with ThreadPoolExecutor(64) as pool:
    print(json.dumps([[h, p, r] for (h, p), r in zip(targets, pool.map(probe, targets))]))
"""


def _listening_ports(node: str) -> set[int]:
    """TCP ports this node listens on for other hosts (not loopback only)."""
    ports = set()
    for line in on(node, "ss -Htln").splitlines():
        local = line.split()[3]
        address, _, port = local.rpartition(":")
        if address.startswith("127.") or address == "[::1]":
            continue
        ports.add(int(port))
    return ports


@pytest.fixture(scope="module")
def targets(node_addresses: dict[str, str]) -> list[tuple[str, int]]:
    found = [(node_addresses[node], port) for node in sorted(node_addresses) for port in _listening_ports(node)]
    # Every daemon's port is among them: a scan of three sshd would prove nothing.
    assert len(found) > 20, found
    return sorted(found)


@pytest.fixture(scope="module")
def outsider() -> Iterator[str]:
    image = subprocess.run(
        ["docker", "inspect", "--format", "{{.Config.Image}}", "node0"], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["docker", "rm", "-f", OUTSIDER], capture_output=True, check=False)
    network = ["--network", NETWORK, "--ip", OUTSIDER_ADDRESS]
    subprocess.run(
        ["docker", "run", "-d", "--name", OUTSIDER, *network, "--entrypoint", "sleep", image, "600"],
        capture_output=True,
        text=True,
        check=True,
    )
    yield OUTSIDER
    subprocess.run(["docker", "rm", "-f", OUTSIDER], capture_output=True, check=False)


def _scan(container: str, targets: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
    result = subprocess.run(
        ["docker", "exec", container, "python3", "-c", SCAN, json.dumps(targets)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {(host, port): state for host, port, state in json.loads(result.stdout)}


def test_an_outsider_reaches_ssh_everywhere_and_the_api_on_the_master_only(
    outsider: str, targets: list[tuple[str, int]], node_addresses: dict[str, str]
) -> None:
    master = node_addresses["node0"]
    expected_open = {(address, SSH) for address in node_addresses.values()} | {(master, API)}
    states = _scan(outsider, targets)
    assert {target for target, state in states.items() if state == "open"} == expected_open, states
    # Dropped, not refused: an outsider cannot even tell a daemon is there.
    assert {state for target, state in states.items() if target not in expected_open} == {"timeout"}, states


def test_a_node_of_the_cluster_reaches_every_port(targets: list[tuple[str, int]]) -> None:
    states = _scan("node1", targets)
    assert set(states.values()) == {"open"}, {target: state for target, state in states.items() if state != "open"}


def test_the_ruleset_is_loaded_with_a_drop_policy_and_kept_at_boot(host: Host) -> None:
    with host.sudo():
        table = host.check_output("nft list table inet zootopia")
        checked = host.run("nft -c -f /etc/nftables.conf")
    assert "policy drop;" in table
    assert f"tcp dport {SSH} ip saddr @ssh_v4 accept" in table
    assert checked.rc == 0, checked.stderr
    assert host.service("nftables").is_enabled


def test_a_ruleset_that_locks_ansible_out_is_rolled_back() -> None:
    # node2's SSH opened to a network the controller is not on: the run must fail, not strand the node.
    locked = run_playbook(
        "playbooks/base.yml",
        "--limit",
        "node2",
        "-e",
        '{"firewall_ssh_sources": ["192.0.2.0/24"], "firewall_rollback_seconds": 20}',
        check=False,
    )
    assert locked.returncode != 0
    assert "Timeout when waiting for search string OpenSSH" in locked.stdout, locked.stdout[-3000:]
    # The timer puts back the previous table and file: SSH answers again, with no Ansible run.
    wait_for("the rollback on node2", lambda: "192.0.2.0/24" not in on("node2", "nft list table inet zootopia"), 60)
    assert "192.0.2.0/24" not in on("node2", "cat /etc/nftables.conf")
    # The next run writes the rendered file again (the rollback kept the table's listing) and loads it.
    run_playbook("playbooks/base.yml", "--limit", "node2")
    settled = run_playbook("playbooks/base.yml", "--limit", "node2")
    assert "changed=0" in settled.stdout.split("PLAY RECAP")[-1], settled.stdout[-3000:]
