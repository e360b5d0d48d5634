"""What the streams' systemd sandbox costs: the stream path of bench/producer_bench.py (one stream, real
records, the deployed brokers) run in turn as a transient unit with the stream unit's bounds and sandbox
(every setting between its ExecStart= and SyslogIdentifier= lines, as installed) and without them, same
environment and working directory. Rounds alternate which goes first; the figure is the ratio of the
medians (sandboxed / plain). Prints JSON, asserts nothing. Runs as root on the master.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

UNIT = Path("/etc/systemd/system/zootopia-stream@.service")


def unit_settings(text: str) -> tuple[list[str], list[str]]:
    """The stream unit's (environment and working directory, bounds and sandbox) as key=value lines."""
    common: list[str] = []
    sandbox: list[str] = []
    inside = False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("Environment=", "WorkingDirectory=")):
            common.append(line)
        elif line.startswith("ExecStart="):
            inside = True
        elif line.startswith("SyslogIdentifier="):
            inside = False
        elif inside and line and not line.startswith("#"):
            sandbox.append(line)
    if not sandbox:
        raise ValueError(f"{UNIT}: no settings between ExecStart= and SyslogIdentifier=")
    return common, sandbox


def one_run(properties: list[str], bench: list[str]) -> float:
    command = ["systemd-run", "--wait", "--pipe", "--quiet", "--collect"]
    command += [f"--property={setting}" for setting in properties]
    result = subprocess.run(command + bench, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:5])} ... -> {result.returncode}: {result.stderr.strip()[-400:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return float(figures["median_records_per_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("bench", nargs=argparse.REMAINDER, help="the producer bench's command line")
    args = parser.parse_args()
    common, sandbox = unit_settings(UNIT.read_text(encoding="utf-8"))
    # Both run as root with the admin principal (the bench creates its topic); without capabilities
    # (the sandbox's empty bounding set) root enters the app's 0750 directory through its group.
    common.append("SupplementaryGroups=zootopia")
    bench = [arg for arg in args.bench if arg != "--"]
    runs: dict[str, list[float]] = {"sandboxed": [], "plain": []}
    for number in range(args.rounds):
        order = ["sandboxed", "plain"] if number % 2 == 0 else ["plain", "sandboxed"]
        for mode in order:
            properties = common + (sandbox if mode == "sandboxed" else [])
            runs[mode].append(round(one_run(properties, bench)))
    medians = {mode: statistics.median(values) for mode, values in runs.items()}
    print(
        json.dumps(
            {
                "sandbox": sandbox,
                "sandboxed_records_per_s": runs["sandboxed"],
                "plain_records_per_s": runs["plain"],
                "sandboxed_over_plain": round(medians["sandboxed"] / medians["plain"], 3),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
