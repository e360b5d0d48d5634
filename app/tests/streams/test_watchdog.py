"""A Kafka call that hangs ends the process with EX_TEMPFAIL; one that returns in time does not."""

from __future__ import annotations

import subprocess
import sys
import time

from zootopia.streams.watchdog import STALLED

PROGRAM = """
import time
from zootopia.streams.watchdog import Watchdog
dog = Watchdog({limit})
with dog.guard():
    time.sleep({call})
time.sleep({after})
print("survived")
"""


def _run(limit: float, call: float, after: float) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    program = PROGRAM.format(limit=limit, call=call, after=after)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    return result, time.monotonic() - started


def test_a_hanging_call_ends_the_process() -> None:
    result, seconds = _run(limit=0.5, call=30, after=0)
    assert result.returncode == STALLED
    assert "no progress" in result.stderr
    assert seconds < 10


def test_time_outside_a_guarded_call_is_not_a_stall() -> None:
    result, _ = _run(limit=0.5, call=0.1, after=2)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "survived"
