"""Every shell command of README.md and docs/operations.md, run as written on the local cluster, in the
order the pages give them: a controller block from the repository's root, a master block as root on
node0, a node block as root on node1 (tests/doc_commands.py says how blocks are marked). It runs after
the pipeline's and the API's checks, so the results and sources they show exist, and before the last
look at every unit, so that the stop and start it runs must bring everything back.

Also the operator's commands where they cannot act: one line saying why, never a traceback."""

from __future__ import annotations

import subprocess

import doc_commands
import pytest
from controller import ROOT

testinfra_hosts = ["node0"]  # the checks drive the whole cluster from the controller, once

RUN = [block for page in doc_commands.RUN_PAGES for block in doc_commands.shell_blocks(page)]
WHERE = {"master": "node0", "node": "node1"}


def _run(block: doc_commands.Block) -> subprocess.CompletedProcess[str]:
    script = f"set -euo pipefail\n{block.text}"
    if block.marker == "controller":
        argv = ["bash", "-c", script]
    else:
        argv = ["docker", "exec", WHERE[block.marker], "bash", "-c", script]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)


def test_the_pages_have_blocks_for_each_place() -> None:
    assert {block.marker for block in RUN} >= {"controller", "master", "node"}


@pytest.mark.parametrize(
    "block", [block for block in RUN if block.marker in ("controller", "master", "node")], ids=lambda b: b.where
)
def test_the_docs_command_runs_as_written(block: doc_commands.Block) -> None:
    result = _run(block)
    assert result.returncode == 0, (
        f"{block.where} exited {result.returncode}\n{block.text}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )


def _on(node: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "exec", node, "sh", "-c", command], capture_output=True, text=True, check=False)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_the_streams_commands_on_another_node_say_where_to_run_them() -> None:
    result = _on("node1", "zootopia streams list")
    assert result.returncode == 2
    assert _one_line(result) == (
        "zootopia: 'streams list' logs in to Kafka as 'api', whose password is not on node1: run it on node0"
    )


def test_an_unknown_source_is_one_line() -> None:
    result = _on("node0", "zootopia streams remove https://example.org/not-a-source.zip")
    assert result.returncode == 2
    assert _one_line(result) == "zootopia: https://example.org/not-a-source.zip is not an active source"


def test_the_streams_list_as_another_user_is_one_line() -> None:
    result = _on("node0", "runuser -u nobody -- zootopia streams list")
    assert result.returncode == 1
    line = _one_line(result)
    assert "Permission denied" in line
    assert line.endswith("run it as root (it switches to the app's user itself)")


def test_kafkas_tools_see_the_pipelines_topics_as_root_only() -> None:
    listed = _on("node0", "kafka-topics --list")
    assert listed.returncode == 0, listed.stderr
    assert {"gbif", "obis", "idigbio", "zootopia.sources"} <= set(listed.stdout.split())
    other = _on("node2", "kafka-topics --bootstrap-server node2:9092 --list")
    assert other.returncode == 0, other.stderr
    assert set(other.stdout.split()) == set(listed.stdout.split())
    refused = _on("node0", "runuser -u nobody -- kafka-topics --list")
    assert refused.returncode == 2
    assert _one_line(refused).startswith("kafka-topics: run it as root")
