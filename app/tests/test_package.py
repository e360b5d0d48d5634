"""The app package installs and reports the version its metadata declares."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import zootopia

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_version_is_the_one_of_pyproject() -> None:
    declared = re.search(r'^version = "([^"]+)"', PYPROJECT.read_text(encoding="utf-8"), re.MULTILINE)
    assert declared is not None
    assert zootopia.__version__ == declared.group(1)


def test_the_command_prints_it() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from zootopia.cli import main; sys.exit(main())", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == f"zootopia {zootopia.__version__}"
