"""Controller-side helpers of the checks that drive the nodes as ops would: a command on a node, a playbook."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
INVENTORY = ROOT / "inventory" / "local"


def on(node: str, command: str, check: bool = True) -> str:
    """Run `command` on a local node; its stdout. A failure fails the check with the command's output."""
    result = subprocess.run(["docker", "exec", node, "sh", "-c", command], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{node}: {command} -> {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def run_playbook(playbook: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """ansible-playbook with the repository's ansible.cfg against inventory/local, from the repository root."""
    # Plain text to match against, even under molecule (which forces colour).
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(
        ["ansible-playbook", "-i", str(INVENTORY), playbook, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
