"""The `zootopia` command as an operator meets it: an expected failure is one line and a non-zero exit,
never a traceback. Each case runs the installed entry point in a process of its own."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def _run(
    tmp_path: Path, *args: str, kafka: Mapping[str, object] | None = None, debug: bool = False
) -> subprocess.CompletedProcess[str]:
    settings = tmp_path / "zootopia.json"
    settings.write_text(json.dumps({"kafka": kafka or {}}), encoding="utf-8")
    env = {**os.environ, "ZOOTOPIA_CONFIG": str(settings)}
    env.pop("ZOOTOPIA_DEBUG", None)
    if debug:
        env["ZOOTOPIA_DEBUG"] = "1"
    return subprocess.run(
        [sys.executable, "-c", "import sys; from zootopia.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("zootopia: ")
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_password_file_it_cannot_read_is_one_line(tmp_path: Path) -> None:
    kafka = {
        "security_protocol": "SASL_SSL",
        "ca_file": str(tmp_path / "ca.crt"),
        "password_files": {"api": str(tmp_path / "absent.password")},
    }
    result = _run(tmp_path, "streams", "list", kafka=kafka)
    assert result.returncode == 1
    line = _one_line(result)
    assert "cannot read the Kafka password file" in line
    assert "absent.password" in line


def test_no_broker_answering_is_one_line(tmp_path: Path) -> None:
    kafka = {"bootstrap_servers": [f"127.0.0.1:{_closed_port()}"], "api_version": "3.1"}
    result = _run(tmp_path, "streams", "list", kafka=kafka)
    assert result.returncode == 1
    line = _one_line(result)
    assert "Kafka did not answer" in line
    assert "systemctl status kafka" in line


def test_a_wrong_settings_file_is_one_line(tmp_path: Path) -> None:
    result = _run(tmp_path, "streams", "add", "https://gbif.org", kafka={"no_such_setting": 1})
    assert result.returncode == 1
    assert "unknown settings in kafka: no_such_setting" in _one_line(result)


def test_an_unknown_topic_is_a_usage_error(tmp_path: Path) -> None:
    result = _run(tmp_path, "produce", "--source", "https://example.org/a.zip", "--topic", "nope")
    assert result.returncode == 2
    assert "unknown topic 'nope'" in _one_line(result)


def test_zootopia_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = _run(tmp_path, "streams", "list", kafka={"no_such_setting": 1}, debug=True)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
