"""A version pinned in two places must be the same in both."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_the_kafka_modules_run_the_apps_kafka_python() -> None:
    pyproject = (ROOT / "app/pyproject.toml").read_text(encoding="utf-8")
    pinned = re.search(r'"kafka-python==([^"]+)"', pyproject)
    assert pinned is not None
    defaults = yaml.safe_load((ROOT / "roles/kafka/defaults/main.yml").read_text(encoding="utf-8"))
    assert defaults["kafka_modules_wheel"].split("-")[1] == pinned.group(1)
