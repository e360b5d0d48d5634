"""The variable reference is generated from the argument specs, and its check fails when it is stale."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import repository_module

ROOT = repository_module.ROOT
SCRIPT = ROOT / "scripts/variables_reference.py"
reference = repository_module.load("variables_reference", "scripts/variables_reference.py")


def _check(roles: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--roles", str(roles), "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_committed_reference_is_current() -> None:
    committed = (ROOT / "docs/variables.md").read_text(encoding="utf-8")
    assert committed == reference.render(ROOT / "roles"), "run scripts/variables_reference.py"


def test_every_option_of_every_role_is_in_the_reference() -> None:
    import yaml

    text = (ROOT / "docs/variables.md").read_text(encoding="utf-8")
    names: set[str] = set()
    for spec in (ROOT / "roles").glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec.read_text())["argument_specs"].values():
            names.update((entry or {}).get("options") or {})
    assert len(names) > 200
    missing = sorted(name for name in names if f"| `{name}`" not in text)
    assert missing == []


def test_the_check_fails_on_a_changed_argument_spec(tmp_path: Path) -> None:
    roles = tmp_path / "roles"
    shutil.copytree(ROOT / "roles", roles)
    output = tmp_path / "variables.md"
    assert reference.main(["--roles", str(roles), "--output", str(output)]) == 0
    assert _check(roles, output).returncode == 0

    spec = roles / "kafka/meta/argument_specs.yml"
    spec.write_text(spec.read_text().replace("description: Listener port.", "description: The listener's port."))
    stale = _check(roles, output)
    assert stale.returncode == 1
    assert "stale" in stale.stderr
    assert "run scripts/variables_reference.py" in stale.stderr

    assert reference.main(["--roles", str(roles), "--output", str(output)]) == 0
    assert "The listener's port." in output.read_text()
    assert _check(roles, output).returncode == 0


def test_the_check_fails_when_the_reference_is_missing(tmp_path: Path) -> None:
    assert _check(ROOT / "roles", tmp_path / "absent.md").returncode == 1


def test_secrets_show_no_default(tmp_path: Path) -> None:
    role = tmp_path / "roles/demo"
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "meta/argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    short_description: Demo\n    options:\n"
        "      demo_token: {type: str, default: hunter2, no_log: true, description: A token.}\n"
        "      demo_port: {type: int, description: A | port.}\n"
    )
    (role / "defaults/main.yml").write_text("demo_port: 8080\n")
    text = reference.render(tmp_path / "roles")
    assert "hunter2" not in text
    assert "| `demo_token` | str | (secret) | A token. |" in text
    assert "| `demo_port` | int | `8080` | A \\| port. |" in text
