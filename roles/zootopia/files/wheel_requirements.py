#!/usr/bin/env python3
"""The hashed requirement files of the app's wheelhouse, on the controller.

`select`: from the universal lock (app/requirements.lock, every pin with the hashes of its files on PyPI),
the pins a node's interpreter needs, markers evaluated for that node, not the controller (pip evaluates
them against its own interpreter: pypa/pip#11010); split in those PyPI has wheels of and those published
as sdists only (built into wheels here). Both keep their hashes, for pip's --require-hashes.

`pin`: once the wheelhouse is complete, the requirements the nodes install with --require-hashes: every
wheel in it by name, version and the sha256 of its bytes; and the app's own wheel alone in a second file.

Runs on the controller's Ansible Python: `packaging` comes with ansible-core.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename


def entries(lock: str) -> list[tuple[Requirement, list[str]]]:
    """Each pin of a `uv pip compile --generate-hashes` file: the requirement and its hash options."""
    found: list[tuple[Requirement, list[str]]] = []
    joined = lock.replace("\\\n", " ")
    for line in joined.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        text = text.split(" #", 1)[0]
        words = text.split()
        hashes = [word for word in words if word.startswith("--hash=")]
        requirement = Requirement(" ".join(word for word in words if not word.startswith("--hash=")))
        if len(requirement.specifier) != 1 or next(iter(requirement.specifier)).operator != "==":
            raise ValueError(f"{requirement}: a lock pins each package to one version (==)")
        if not hashes:
            raise ValueError(f"{requirement}: no --hash; regenerate the lock with `make lock`")
        found.append((requirement, hashes))
    return found


def environment(python: str, machine: str) -> dict[str, str]:
    """The marker variables of a Linux CPython `python` (major.minor) on `machine`."""
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": machine,
    }


def select(lock: str, python: str, machine: str, sdists: set[str]) -> tuple[list[str], list[str]]:
    """The lines (pin and hashes, no marker) of the wheels to download and of the sdists to build."""
    wheels: list[str] = []
    built: list[str] = []
    env = environment(python, machine)
    names: set[str] = set()
    for requirement, hashes in entries(lock):
        if requirement.marker is not None and not Marker(str(requirement.marker)).evaluate(env):
            continue
        name = canonicalize_name(requirement.name)
        if name in names:
            raise ValueError(f"{name}: pinned twice for Python {python} on {machine}")
        names.add(name)
        line = f"{name}{requirement.specifier} {' '.join(hashes)}"
        (built if name in sdists else wheels).append(line)
    missing = sdists - names
    if missing:
        raise ValueError(f"sdist packages not in the lock: {', '.join(sorted(missing))}")
    return wheels, built


def pin(wheelhouse: Path, app: str) -> tuple[list[str], list[str]]:
    """The node's requirements (every wheel, hashed) and the app's own line."""
    lines: list[str] = []
    own: list[str] = []
    for wheel in sorted(wheelhouse.glob("*.whl")):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        line = f"{name}=={version} --hash=sha256:{digest}"
        lines.append(line)
        if name == canonicalize_name(app):
            own.append(line)
    if len(own) != 1:
        raise ValueError(f"{wheelhouse}: {len(own)} wheels of {app}, not one")
    return lines, own


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    chosen = commands.add_parser("select")
    chosen.add_argument("lock", type=Path)
    chosen.add_argument("--python", required=True, help="the nodes' major.minor")
    chosen.add_argument("--machine", required=True, help="the nodes' platform.machine()")
    chosen.add_argument("--sdist", action="append", default=[], help="a package PyPI has no wheel of")
    chosen.add_argument("--wheels-out", type=Path, required=True)
    chosen.add_argument("--sdists-out", type=Path, required=True)
    pinned = commands.add_parser("pin")
    pinned.add_argument("wheelhouse", type=Path)
    pinned.add_argument("--app", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "select":
            wheels, built = select(
                args.lock.read_text(), args.python, args.machine, {canonicalize_name(n) for n in args.sdist}
            )
            args.wheels_out.write_text("".join(f"{line}\n" for line in wheels))
            args.sdists_out.write_text("".join(f"{line}\n" for line in built))
        else:
            lines, own = pin(args.wheelhouse, args.app)
            (args.wheelhouse / "requirements.txt").write_text("".join(f"{line}\n" for line in lines))
            (args.wheelhouse / f"{canonicalize_name(args.app)}.txt").write_text("".join(f"{line}\n" for line in own))
    except (OSError, ValueError) as error:
        print(f"wheel_requirements: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
