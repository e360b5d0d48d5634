"""The app on every node: a virtual environment on the node's own Python with the pinned set, settings its own loader
accepts, its units where the inventory puts them, and a sudoers rule that lets the streams agent start and
stop stream instances and nothing else."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import repository_module
from packaging.utils import canonicalize_name
from testinfra.host import Host

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the controller runs 3.11
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = ROOT / "app" / "pyproject.toml"
LOCK = ROOT / "app" / "requirements.lock"
STREAM_ID = "0123456789abcdef"


wheel_requirements = repository_module.load("wheel_requirements", "roles/zootopia/files/wheel_requirements.py")


@pytest.fixture(scope="module")
def pinned() -> dict[str, str]:
    """name -> version of the app's direct dependencies, from pyproject.toml."""
    dependencies: list[str] = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return dict(dependency.split("==") for dependency in dependencies)


@pytest.fixture
def venv_python(stack_defaults: dict[str, Any]) -> str:
    return f"{stack_defaults['stack_app_venv']}/bin/python"


def _is_master(inventory: dict[str, Any]) -> bool:
    return bool(inventory["inventory_hostname"] in inventory["groups"]["master"])


def test_venv_is_the_nodes_python(host: Host, venv_python: str) -> None:
    """The wheelhouse is built for the Python the node has (zootopia_python_version empty: read from the nodes)."""
    script = "'import sys; print(sys.version_info[:2])'"
    venv = host.run(f"{venv_python} -c {script}")
    node = host.run(f"/usr/bin/python3 -c {script}")
    assert venv.rc == 0, venv.stderr
    assert venv.stdout.strip() == node.stdout.strip()
    assert venv.stdout.strip() in {"(3, 9)", "(3, 10)", "(3, 11)", "(3, 12)"}


def test_app_and_pinned_dependencies_import(host: Host, venv_python: str, pinned: dict[str, str]) -> None:
    script = (
        "import json, importlib.metadata as m, zootopia;"
        f"print(json.dumps({{n: m.version(n) for n in {sorted(pinned)!r} + ['zootopia']}}))"
    )
    result = host.run(f"{venv_python} -c {shlex.quote(script)}")
    assert result.rc == 0, result.stderr
    installed = json.loads(result.stdout)
    assert {name: installed[name] for name in pinned} == pinned
    assert installed["zootopia"]


def test_the_venv_holds_the_locked_set_from_a_hashed_wheelhouse(host: Host, venv_python: str) -> None:
    """The venv has exactly the lock's pins for this node's Python and machine (markers evaluated for the
    node), from a wheelhouse whose requirements give every wheel's sha256, which the files match (pip
    installs with --require-hashes)."""
    python = host.run(f"{venv_python} -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'").stdout.strip()
    machine = host.run("uname -m").stdout.strip()
    wheels, built = wheel_requirements.select(LOCK.read_text(encoding="utf-8"), python, machine, {"docopt", "hdfs"})
    locked = {line.split(" ")[0] for line in wheels + built}
    listed = host.run(f"{venv_python} -m pip list --format=json --disable-pip-version-check")
    assert listed.rc == 0, listed.stderr
    tools = {"pip", "setuptools", "wheel", "zootopia"}
    installed = {
        f"{canonicalize_name(d['name'])}=={d['version']}" for d in json.loads(listed.stdout) if d["name"] not in tools
    }
    assert installed == locked
    wheelhouse = "/var/cache/zootopia/wheelhouse"
    requirements = host.file(f"{wheelhouse}/requirements.txt").content_string.splitlines()
    sums = host.run(f"cd {wheelhouse} && sha256sum *.whl")
    assert sums.rc == 0, sums.stderr
    files = {}
    for line in sums.stdout.splitlines():
        digest, name = line.split()
        distribution, version = name.split("-")[:2]
        files[f"{canonicalize_name(distribution)}=={version}"] = digest
    assert sorted(requirements) == sorted(f"{pin} --hash=sha256:{digest}" for pin, digest in files.items())
    assert set(files) - {pin for pin in files if pin.startswith("zootopia==")} == locked


def test_settings_load_with_the_apps_own_loader(
    host: Host, venv_python: str, inventory: dict[str, Any], node_addresses: dict[str, str]
) -> None:
    script = (
        "import dataclasses, json; from zootopia import config; print(json.dumps(dataclasses.asdict(config.load())))"
    )
    result = host.run(f"sudo -u zootopia {venv_python} -c {shlex.quote(script)}")
    assert result.rc == 0, result.stderr
    settings = json.loads(result.stdout)
    master = node_addresses[inventory["groups"]["master"][0]]
    assert settings["nodes"] == inventory["groups"]["cluster"]
    assert settings["kafka"]["bootstrap_servers"] == [f"{node_addresses[n]}:9092" for n in inventory["groups"]["kafka"]]
    assert settings["hdfs"] == {"url": f"http://{master}:9870", "user": "zootopia", "root": "/zootopia"}
    assert settings["engine"] == "builtin"
    base = f"http://{master}:8088" if inventory.get("zootopia_mirror_enabled") else None
    if base:
        assert settings["services"]["gbif"] == f"{base}/gbif"
    else:
        assert settings["services"]["gbif"] == "https://api.gbif.org"


def test_settings_are_readable_by_the_app_only(host: Host, stack_defaults: dict[str, Any]) -> None:
    with host.sudo():  # its directory is closed to others too
        settings = host.file(stack_defaults["stack_app_config"])
        assert (settings.user, settings.group, settings.mode) == ("root", "zootopia", 0o640)
    assert host.run(f"cat {stack_defaults['stack_app_config']}").rc != 0


def test_state_directories_belong_to_the_app(host: Host, stack_defaults: dict[str, Any]) -> None:
    with host.sudo():
        for name in ("cache", "preston"):
            directory = host.file(f"{stack_defaults['stack_app_data_dir']}/{name}")
            assert directory.is_directory
            assert directory.user == "zootopia"


def test_units_are_installed_and_enabled_where_expected(host: Host, inventory: dict[str, Any]) -> None:
    master = _is_master(inventory)
    mirror = master and bool(inventory.get("zootopia_mirror_enabled", False))
    expected = {
        "zootopia-streams-agent": True,
        "zootopia-consumer": master,
        "zootopia-api": master,
        "zootopia-mirror": mirror,
    }
    for unit, wanted in expected.items():
        assert host.file(f"/etc/systemd/system/{unit}.service").exists == wanted, unit
        assert host.service(unit).is_enabled == wanted, unit
    stream = host.run(f"systemctl show --property=ExecStart --property=User zootopia-stream@{STREAM_ID}.service")
    assert stream.rc == 0, stream.stderr
    assert f"bin/zootopia stream run {STREAM_ID} " in stream.stdout
    assert "User=zootopia" in stream.stdout
    # Instances belong to the agent: nothing enables them at boot.
    assert host.run(f"systemctl is-enabled zootopia-stream@{STREAM_ID}.service").stdout.strip() != "enabled"


def test_api_secrets_are_on_the_master_only(host: Host, inventory: dict[str, Any]) -> None:
    # Their owners and modes on the master: test_api_deploy.py.
    master = _is_master(inventory)
    expected = {
        "/etc/zootopia/api-token": master and bool(inventory.get("zootopia_api_token")),
        "/etc/zootopia/tls": master and bool(inventory.get("zootopia_api_tls_enabled")),
    }
    with host.sudo():
        for path, wanted in expected.items():
            assert host.file(path).exists == wanted, path


def test_units_run_as_the_app_user(host: Host) -> None:
    result = host.run("systemctl show --property=User --value zootopia-streams-agent")
    assert result.stdout.strip() == "zootopia"


def test_sudoers_rule_is_valid(host: Host) -> None:
    result = host.run("sudo visudo -cf /etc/sudoers.d/zootopia-streams")
    assert result.rc == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("command", "allowed"),
    [
        (f"/usr/bin/systemctl start zootopia-stream@{STREAM_ID}.service", True),
        (f"/usr/bin/systemctl stop zootopia-stream@{STREAM_ID}.service", True),
        ("/usr/bin/systemctl stop kafka", False),
        ("/usr/bin/systemctl start zootopia-stream@0123456789ABCDEF.service", False),
        (f"/usr/bin/systemctl start zootopia-stream@{STREAM_ID}0.service", False),
        (f"/usr/bin/systemctl restart zootopia-stream@{STREAM_ID}.service", False),
        (f"/usr/bin/systemctl start zootopia-stream@{STREAM_ID}.service kafka.service", False),
    ],
)
def test_sudoers_lets_the_app_start_and_stop_streams_only(host: Host, command: str, allowed: bool) -> None:
    # `sudo -l <command>` asks the policy without running anything.
    result = host.run(f"sudo -u zootopia sudo -n -l {command}")
    assert (result.rc == 0) == allowed, result.stdout + result.stderr
