"""What a failed playbook run's message keeps: the failed tasks, last, and the recap."""

from __future__ import annotations

import subprocess

from playbook_runner import failed_tasks

OUTPUT = """PLAY [kafka] ***
TASK [kafka : Write server.properties] ***
ok: [node0]
TASK [kafka : Wait until no partition is under-replicated] ***
FAILED - RETRYING: [node1]: Wait until no partition is under-replicated (60 retries left).
fatal: [node1]: FAILED! => {"attempts": 60, "rc": 0, "stdout": "Topic: gbif Partition: 2"}

PLAY RECAP ***
node0 : ok=30 changed=0 unreachable=0 failed=0
node1 : ok=12 changed=1 unreachable=0 failed=1

Sunday 06 December 2026 ...
kafka : Restart this broker ---- 3.14s
"""


def test_the_failed_task_and_its_message_come_last_after_the_recap() -> None:
    result = subprocess.CompletedProcess(["ansible-playbook"], 2, OUTPUT, "[WARNING]: a warning\n")
    lines = failed_tasks(result).splitlines()
    assert lines[-2:] == [
        "TASK [kafka : Wait until no partition is under-replicated] ***",
        'fatal: [node1]: FAILED! => {"attempts": 60, "rc": 0, "stdout": "Topic: gbif Partition: 2"}',
    ]
    assert "node1 : ok=12 changed=1 unreachable=0 failed=1" in lines
    assert "[WARNING]: a warning" in lines
    assert not any("3.14s" in line or "RETRYING" in line for line in lines)


def test_a_run_that_never_reached_a_recap_says_so() -> None:
    result = subprocess.CompletedProcess(["ansible-playbook"], 1, "", "ERROR! the playbook could not be found\n")
    assert failed_tasks(result).splitlines() == ["no recap", "ERROR! the playbook could not be found"]
