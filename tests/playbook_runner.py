"""ansible-playbook as ops run it: the repository's ansible.cfg, from its root, plain text out.

The one runner of both test trees: the controller tests here and the molecule checks
(molecule/default/tests, whose conftest puts this folder on the path).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ansible_playbook() -> str:
    # The one beside this interpreter (the project's .venv), else the one on PATH.
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.is_file() else shutil.which("ansible-playbook") or "ansible-playbook"


def run_playbook(
    inventory: Path, playbook: str, *extra: str, timeout: float = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `playbook` (relative to the repository root) against `inventory`, with `env` added to the
    environment; never raises on failure."""
    # Plain text to match against, even under molecule (which forces colour).
    plain = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run(
        [_ansible_playbook(), "-i", str(inventory), playbook, *extra],
        cwd=ROOT,
        env={**os.environ, **plain, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def failed_tasks(result: subprocess.CompletedProcess[str]) -> str:
    """A failed run's failures: each failed task's header and message, then the recap. Its output's end
    is only the tasks' timings (profile_tasks), and CI shows the end of a failure's message."""
    picked: list[str] = []
    task = ""
    for line in result.stdout.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith(("fatal: ", "failed: ")):
            picked += [task, line[:2000]]
    recap = result.stdout.split("PLAY RECAP")[-1].split("\n\n")[0] if "PLAY RECAP" in result.stdout else ""
    # The failed tasks last: CI shows the end of a failure's message.
    return "\n".join([f"PLAY RECAP{recap}" if recap else "no recap", result.stderr[-1000:], *picked])
