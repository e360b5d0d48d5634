"""Controller-side helpers of the checks: a command on a node, a playbook run, the pipeline's streams and windows."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import playbook_runner

ROOT = Path(__file__).resolve().parents[3]
INVENTORY = ROOT / "inventory" / "local"
ZOOTOPIA = "runuser -u zootopia -- /opt/zootopia/app/venv/bin/zootopia"
PYTHON = "runuser -u zootopia -- /opt/zootopia/app/venv/bin/python"

READ_WINDOWS = """
import json
import os
from hdfs import InsecureClient
from zootopia import config
settings = config.load()
client = InsecureClient(settings.hdfs.url, user=settings.hdfs.user)
root = settings.hdfs.root + "/windows"
names = sorted(n for n in (client.list(root) if client.status(root, strict=False) else []) if n.endswith(".json"))
docs = []
for name in names:
    with client.read(root + "/" + name) as reader:
        docs.append(json.load(reader))
print(json.dumps(docs))
"""


def on(node: str, command: str, check: bool = True) -> str:
    """Run `command` on a local node; its stdout. A failure fails the check with the command's output."""
    result = subprocess.run(["docker", "exec", node, "sh", "-c", command], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{node}: {command} -> {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def run_playbook(playbook: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """ansible-playbook against inventory/local, as ops run it (tests/playbook_runner.py)."""
    return playbook_runner.run_playbook(INVENTORY, playbook, *extra, env=env)


def wait_for(what: str, condition: Callable[[], bool], timeout: float, every: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def streams() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(on("node0", f"{ZOOTOPIA} streams list --json"))
    return rows


def windows() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = json.loads(on("node0", f"{PYTHON} - <<'EOF'\n{READ_WINDOWS}\nEOF"))
    return docs
