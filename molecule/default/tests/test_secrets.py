"""Secrets stay where they belong: in root-owned files of the hosts that need them, nowhere else.

The secrets are read from the inventory's vault on the controller (and the API's private key from the
master). They are copied to each node as a pattern file only root reads, so that no check puts them on a
command line; then every process's command line, the whole journal and the files of the node are
searched for them. After the pipeline, API and restart checks ran, so every path that could leak has run.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest
import yaml
from controller import INVENTORY, ROOT, on
from testinfra.host import Host

PATTERNS = "/root/.zootopia-secret-patterns"
VAULT = INVENTORY / "group_vars" / "all" / "vault.yml"
# Where each secret may be, and with which owner and mode (never readable by others).
ALLOWED = {
    "/etc/zootopia/api-token": ("root", "zootopia", 0o640),
    "/etc/zootopia/spark-auth-secret": ("root", "zootopia", 0o640),
    "/etc/spark/spark-daemon.conf": ("root", "spark", 0o640),
    "/etc/zootopia/tls/api.key": ("root", "zootopia", 0o640),
    "/run/zootopia-consumer/spark.properties": ("zootopia", "zootopia", 0o600),
    # Kafka: the broker's key password and SCRAM login, its ZooKeeper login, its encrypted key.
    "/etc/kafka/secrets.properties": ("root", "kafka", 0o640),
    "/etc/kafka/zookeeper-client.jaas": ("root", "kafka", 0o640),
    "/etc/kafka/keystore.pem": ("root", "kafka", 0o640),
    "/etc/kafka/keystore.pem.d/1-key.pem": ("root", "root", 0o600),
    # The admin tools' login (root only), and the ZooKeeper login of the one that sets credentials.
    "/etc/kafka/admin.properties": ("root", "root", 0o600),
    "/etc/kafka/admin.password": ("root", "root", 0o600),
    "/etc/kafka/zookeeper-admin.jaas": ("root", "root", 0o600),
    "/etc/zookeeper/jaas.conf": ("root", "zookeeper", 0o640),
    # Each job's Kafka password, readable by its own group only.
    "/etc/zootopia/kafka/streams.password": ("root", "zootopia-streams", 0o640),
    "/etc/zootopia/kafka/consumer.password": ("root", "zootopia-consumer", 0o640),
    "/etc/zootopia/kafka/api.password": ("root", "zootopia-api", 0o640),
}
SEARCHED = "/etc /home /root /run /srv /tmp /var /opt/zootopia/app"


@pytest.fixture(scope="module")
def secrets() -> list[str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    plain = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-vault"), "view", str(VAULT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    values = []
    for value in yaml.safe_load(plain).values():  # a value may be a dict of secrets (Kafka's, by principal)
        values += [str(item) for item in value.values()] if isinstance(value, dict) else [str(value)]
    for key in ["/etc/zootopia/tls/api.key", "/etc/kafka/keystore.pem.d/1-key.pem"]:
        key_lines = on("node0", f"cat {key}").splitlines()
        values.append(max(key_lines, key=len))  # a line of the key's base64 body
    assert all(len(value) >= 16 for value in values), "a secret too short to search for"
    return values


@pytest.fixture
def patterns(host: Host, secrets: list[str]) -> Iterator[str]:
    name = host.backend.get_hostname()
    # Through docker's stdin: the secrets are on no command line, here or on the node.
    subprocess.run(
        ["docker", "exec", "-i", name, "sh", "-c", f"umask 077; cat > {PATTERNS}"],
        input="\n".join(secrets) + "\n",
        text=True,
        check=True,
    )
    yield PATTERNS
    on(name, f"rm -f {PATTERNS}")


def test_no_process_has_a_secret_on_its_command_line(host: Host, patterns: str) -> None:
    with host.sudo():
        found = host.run(
            f"for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done | grep -cF -f {patterns}"
        )
    assert found.stdout.strip() == "0", "a command line holds a secret"


def test_the_journal_holds_no_secret(host: Host, patterns: str) -> None:
    marker = f"zootopia-secrets-check-{uuid.uuid4().hex}"
    with host.sudo():
        host.check_output(f"logger -t zootopia-check {marker}")
        # The same search finds a line that is there: the journal was searched, not missed.
        seen = host.run(f"journalctl --no-pager -o cat | grep -cF {marker}")
        found = host.run(f"journalctl --no-pager -o cat | grep -cF -f {patterns}")
    assert int(seen.stdout.strip()) >= 1
    assert found.stdout.strip() == "0", "the journal holds a secret"


def test_secrets_are_only_in_their_own_files_closed_to_others(host: Host, patterns: str) -> None:
    with host.sudo():
        listed = host.run(
            f"grep -rlsF -f {patterns} {SEARCHED} --exclude-dir=journal --exclude-dir=proc | grep -vx {patterns}"
        )
        holders = sorted(set(listed.stdout.split()))
        modes = {path: (host.file(path).user, host.file(path).group, host.file(path).mode) for path in holders}
    unexpected = [path for path in holders if path not in ALLOWED]
    assert unexpected == [], f"secrets found in {unexpected}"
    assert modes == {path: ALLOWED[path] for path in holders}
