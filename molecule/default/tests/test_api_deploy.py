"""The API as the role deploys it on the master: its unit, its token in a file only root and the app read,
a self-signed certificate for the names clients use, HTTPS served with it, and the token asked for.
That the other nodes have none of it is checked with the app's units (test_app.py)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from typing import Any

import pytest
from testinfra.host import Host

UNIT = "zootopia-api"
PORT = 10001
TOKEN_FILE = "/etc/zootopia/api-token"
# curl reads the token from files, never from its command line (sudo logs command lines to the journal).
BEARER_FILE = "/root/.zootopia-api-bearer"
WITH_TOKEN = ("-H", f"@{BEARER_FILE}")
WITH_QUERY_TOKEN = ("-G", "--data-urlencode", f"token@{TOKEN_FILE}")
TLS_DIR = "/etc/zootopia/tls"
CERTIFICATE = f"{TLS_DIR}/api.crt"
PRIVATE_KEY = f"{TLS_DIR}/api.key"
SEEDS = ["https://gbif.org", "https://obis.org", "https://idigbio.org"]

testinfra_hosts = ["ansible://master"]


@pytest.fixture
def tls(inventory: dict[str, Any]) -> None:
    if not inventory.get("zootopia_api_tls_enabled", False):
        pytest.skip("the inventory serves the API over plain HTTP")


@pytest.fixture
def token(host: Host) -> str:
    with host.sudo():
        value: str = host.check_output(f"cat {TOKEN_FILE}")
    return value


@pytest.fixture(scope="module", autouse=True)
def bearer_file(host: Host) -> Iterator[None]:
    write = f"umask 077; printf 'Authorization: Bearer %s\\n' \"$(cat {TOKEN_FILE})\" > {BEARER_FILE}"
    with host.sudo():
        host.check_output(f"sh -c {shlex.quote(write)}")
    yield
    with host.sudo():
        host.run(f"rm -f {BEARER_FILE}")


def _status(host: Host, url: str, *curl: str) -> str:
    """The HTTP status curl gets on the node ('000' when no HTTP answer came)."""
    arguments = " ".join(shlex.quote(argument) for argument in [*curl, url])
    with host.sudo():  # the certificate's directory is closed to all but root and the app
        status: str = host.run(f"curl -sS -o /dev/null -w '%{{http_code}}' --max-time 10 {arguments}").stdout.strip()
    return status


def test_unit_runs_as_the_app_and_listens(host: Host) -> None:
    assert host.service(UNIT).is_enabled
    assert host.service(UNIT).is_running
    assert host.socket(f"tcp://0.0.0.0:{PORT}").is_listening
    assert host.run(f"systemctl show --property=User --value {UNIT}").stdout.strip() == "zootopia"
    assert host.run(f"systemctl show --property=Restart --value {UNIT}").stdout.strip() == "always"


def test_unit_serves_the_installed_pair(host: Host, tls: None) -> None:
    exec_start = host.run(f"systemctl show --property=ExecStart --value {UNIT}").stdout
    assert f"--certfile {CERTIFICATE} --keyfile {PRIVATE_KEY}" in exec_start
    assert "--workers 2 --threads 8" in exec_start


def test_settings_point_at_the_token_file_not_the_token(host: Host, token: str, node_addresses: dict[str, str]) -> None:
    with host.sudo():
        settings = json.loads(host.file("/etc/zootopia/zootopia.json").content_string)
        unit = host.file(f"/etc/systemd/system/{UNIT}.service").content_string
    assert settings["api"] == {
        "allowed_sources": SEEDS,
        "token_file": TOKEN_FILE,
        "refresh_seconds": 5,
        "recent_windows": 5,  # inventory/local: fewer than the checks' windows
        "spark_ui": f"http://{node_addresses['node0']}:8080",
    }
    assert token not in json.dumps(settings)
    assert token not in unit


def test_token_is_readable_by_root_and_the_app_only(host: Host) -> None:
    with host.sudo():
        token_file = host.file(TOKEN_FILE)
        assert (token_file.user, token_file.group, token_file.mode) == ("root", "zootopia", 0o640)
        assert len(token_file.content_string.strip()) >= 16
        assert "\n" not in token_file.content_string  # curl --data-urlencode token@file sends it whole
    assert host.run(f"cat {TOKEN_FILE}").rc != 0  # the SSH user is neither


def test_tls_files_are_readable_by_root_and_the_app_only(host: Host, tls: None) -> None:
    with host.sudo():
        certificate = host.file(CERTIFICATE)
        key = host.file(PRIVATE_KEY)
        assert (certificate.user, certificate.group, certificate.mode) == ("root", "zootopia", 0o644)
        assert (key.user, key.group, key.mode) == ("root", "zootopia", 0o640)
    assert host.run(f"cat {PRIVATE_KEY}").rc != 0


def test_certificate_names_the_master_and_matches_its_key(
    host: Host, tls: None, inventory: dict[str, Any], node_addresses: dict[str, str]
) -> None:
    name = inventory["inventory_hostname"]
    with host.sudo():
        text = host.check_output(f"openssl x509 -noout -text -in {CERTIFICATE}")
        certificate_key = host.check_output(f"openssl x509 -noout -pubkey -in {CERTIFICATE}")
        private_key = host.check_output(f"openssl pkey -pubout -in {PRIVATE_KEY}")
    names = f"DNS:{name}, DNS:localhost, IP Address:{node_addresses[name]}, IP Address:127.0.0.1"
    assert names in text, text
    assert f"Subject: CN = {name}" in text
    assert "CA:FALSE" in text
    assert certificate_key == private_key


@pytest.mark.parametrize("address", ["node", "node_address", "localhost", "127.0.0.1"])
def test_https_is_served_with_the_certificate(
    host: Host,
    tls: None,
    inventory: dict[str, Any],
    node_addresses: dict[str, str],
    address: str,
) -> None:
    name = inventory["inventory_hostname"]
    # curl checks the certificate's names against the one it asked for: each name of the SANs.
    target = {"node": name, "node_address": node_addresses[name]}.get(address, address)
    pinned = ["--resolve", f"{name}:{PORT}:127.0.0.1"] if address == "node" else []
    url = f"https://{target}:{PORT}/listSources"
    assert _status(host, url, *pinned, "--cacert", CERTIFICATE, *WITH_TOKEN) == "200"


def test_plain_http_gets_no_answer(host: Host, tls: None) -> None:
    assert _status(host, f"http://127.0.0.1:{PORT}/listSources") == "000"


def test_the_token_is_required(host: Host, inventory: dict[str, Any]) -> None:
    scheme = "https" if inventory.get("zootopia_api_tls_enabled", False) else "http"
    url = f"{scheme}://127.0.0.1:{PORT}/listSources"
    trust = ["--cacert", CERTIFICATE] if scheme == "https" else []
    assert _status(host, url, *trust) == "401"
    assert _status(host, url, *trust, "-H", "Authorization: Bearer not-the-token-0123456789") == "401"
    assert _status(host, f"{url}?token=not-the-token-0123456789", *trust) == "401"
    assert _status(host, url, *trust, *WITH_TOKEN) == "200"
    # The right token in a query string is refused, even with the header: a leaked link carries nothing.
    assert _status(host, url, *trust, *WITH_QUERY_TOKEN) == "401"
    assert _status(host, url, *trust, *WITH_TOKEN, *WITH_QUERY_TOKEN) == "401"


def test_answers_carry_the_security_headers(host: Host, inventory: dict[str, Any]) -> None:
    scheme = "https" if inventory.get("zootopia_api_tls_enabled", False) else "http"
    trust = ["--cacert", CERTIFICATE] if scheme == "https" else []
    arguments = " ".join(shlex.quote(argument) for argument in [*trust, *WITH_TOKEN])
    with host.sudo():
        headers = host.check_output(
            f"curl -sS -o /dev/null -D - --max-time 10 {arguments} {scheme}://127.0.0.1:{PORT}/listSources"
        ).lower()
    for header in ("cache-control: no-store", "x-content-type-options: nosniff", "x-frame-options: deny"):
        assert header in headers, headers
    assert "content-security-policy: default-src 'none'; frame-ancestors 'none'" in headers, headers
    if scheme == "https":
        assert "strict-transport-security: max-age=" in headers, headers
