"""The hashed locks: every pin of pyproject.toml and requirements.txt in them at its version, every pin with
hashes, and the selection of the nodes' set from the app's lock for each supported Python and machine."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import repository_module
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "roles/zootopia/files/wheel_requirements.py"
APP_LOCK = ROOT / "app/requirements.lock"
CONTROLLER_LOCK = ROOT / "requirements.lock"
SDISTS = {"docopt", "hdfs"}


wheel_requirements = repository_module.load("wheel_requirements", "roles/zootopia/files/wheel_requirements.py")


def _pins(lock: Path) -> dict[str, set[str]]:
    """name -> every version the lock pins (one per marker branch)."""
    found: dict[str, set[str]] = {}
    for requirement, _ in wheel_requirements.entries(lock.read_text(encoding="utf-8")):
        found.setdefault(canonicalize_name(requirement.name), set()).add(str(requirement.specifier)[2:])
    return found


def _direct(lines: list[str]) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lines:
        requirement = Requirement(line)
        pins[canonicalize_name(requirement.name)] = str(requirement.specifier)[2:]
    return pins


def _pyproject_dependencies() -> dict[str, str]:
    text = (ROOT / "app/pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M)
    assert block is not None
    return _direct(re.findall(r'^\s*"([^"]+)"', block.group(1), re.M))


def test_every_pin_of_pyproject_is_locked_at_its_version_with_hashes() -> None:
    locked = _pins(APP_LOCK)
    for name, version in _pyproject_dependencies().items():
        assert locked.get(name) == {version}, f"{name}=={version} in pyproject.toml, {locked.get(name)} in the lock"


def test_every_tool_of_the_controller_is_locked_at_its_version() -> None:
    lines = [
        line.split("#", 1)[0].strip()
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.split("#", 1)[0].strip()
    ]
    locked = _pins(CONTROLLER_LOCK)
    for name, version in {**_direct(lines), **_pyproject_dependencies()}.items():
        assert version in locked.get(name, set()), f"{name}=={version} is not in requirements.lock: make lock"


def test_the_kafka_modules_wheel_is_one_the_lock_knows() -> None:
    defaults = yaml.safe_load((ROOT / "roles/kafka/defaults/main.yml").read_text(encoding="utf-8"))
    hashes = dict(
        (canonicalize_name(requirement.name), hashes)
        for requirement, hashes in wheel_requirements.entries(APP_LOCK.read_text(encoding="utf-8"))
    )
    assert f"--hash=sha256:{defaults['kafka_modules_wheel_sha256']}" in hashes["kafka-python"]


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
@pytest.mark.parametrize("python", ["3.9", "3.10", "3.11", "3.12"])
def test_the_nodes_set_is_one_pin_per_package_for_their_python(python: str, machine: str) -> None:
    wheels, built = wheel_requirements.select(APP_LOCK.read_text(encoding="utf-8"), python, machine, SDISTS)
    names = [canonicalize_name(line.split("==")[0]) for line in wheels + built]
    assert len(names) == len(set(names))
    assert {canonicalize_name(line.split("==")[0]) for line in built} == SDISTS
    assert all(" --hash=sha256:" in line and ";" not in line for line in wheels + built)
    # Flask's backport for 3.9 only: the marker is the node's, not this interpreter's.
    assert ("importlib-metadata" in names) == (python == "3.9")
    assert "colorama" not in names  # click's, on Windows only
    assert set(_pyproject_dependencies()) <= set(names)


def test_a_pin_without_hashes_or_a_range_is_refused() -> None:
    with pytest.raises(ValueError, match="no --hash"):
        wheel_requirements.entries("six==1.17.0\n")
    with pytest.raises(ValueError, match="one version"):
        wheel_requirements.entries("six>=1.0 --hash=sha256:00\n")


def test_pin_hashes_every_wheel_and_names_the_apps_own(tmp_path: Path) -> None:
    (tmp_path / "six-1.17.0-py2.py3-none-any.whl").write_bytes(b"six")
    (tmp_path / "zootopia-0.2.0-py3-none-any.whl").write_bytes(b"app")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "pin", str(tmp_path), "--app=zootopia"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "requirements.txt").read_text().splitlines()
    assert lines == [
        f"six==1.17.0 --hash=sha256:{hashlib.sha256(b'six').hexdigest()}",
        f"zootopia==0.2.0 --hash=sha256:{hashlib.sha256(b'app').hexdigest()}",
    ]
    assert (tmp_path / "zootopia.txt").read_text().splitlines() == [lines[1]]


def test_select_says_in_one_line_what_is_wrong(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.write_text("six==1.17.0 --hash=sha256:00\n")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "select", str(lock), "--python=3.11", "--machine=x86_64", "--sdist=hdfs",
         f"--wheels-out={tmp_path / 'w'}", f"--sdists-out={tmp_path / 's'}"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == "wheel_requirements: sdist packages not in the lock: hdfs\n"
