"""The per-node streams agent: runs exactly the stream units the registry assigns to its node.

Every few seconds it compares the registry with the zootopia-stream@<id>
units of this node and starts or stops instances (through a sudo rule that
allows only that). Enabled at boot, it brings a rebooted node's streams back.
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from collections.abc import Callable

from zootopia.config import Settings
from zootopia.streams import registry

log = logging.getLogger(__name__)

UNIT = "zootopia-stream@{}.service"
_INSTANCE = re.compile(r"^zootopia-stream@([0-9a-f]{16})\.service$")
_RUNNING = {"active", "activating", "reloading"}


def running_instances() -> set[str]:
    """Ids of the stream units of this node that are running or about to."""
    listing = subprocess.run(
        ["systemctl", "list-units", "--all", "--plain", "--no-legend", "--no-pager", UNIT.format("*")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    ids = set()
    for line in listing.splitlines():
        fields = line.split()
        match = _INSTANCE.match(fields[0]) if len(fields) >= 3 else None
        if match and fields[2] in _RUNNING:
            ids.add(match[1])
    return ids


def systemctl(action: str, instance: str) -> None:
    subprocess.run(["sudo", "-n", "/usr/bin/systemctl", action, UNIT.format(instance)], check=True)


def reconcile(settings: Settings, node: str, act: Callable[[str, str], None] = systemctl) -> tuple[set[str], set[str]]:
    """Start the missing and stop the extra stream units; returns (started, stopped) ids."""
    wanted = {source.id for source in registry.sources(settings) if source.node == node}
    running = running_instances()
    started, stopped = wanted - running, running - wanted
    for instance in sorted(started):
        act("start", instance)
    for instance in sorted(stopped):
        act("stop", instance)
    if started or stopped:
        log.info("started %s, stopped %s", sorted(started) or "none", sorted(stopped) or "none")
    return started, stopped


def run(settings: Settings, node: str, interval_seconds: float) -> None:
    if node not in settings.nodes:
        raise SystemExit(f"node {node!r} is not one of the stream nodes {settings.nodes}")
    while True:
        try:
            reconcile(settings, node)
        except Exception:
            # Kafka or systemd briefly unavailable: try again next round.
            log.exception("reconcile failed")
        time.sleep(interval_seconds)
