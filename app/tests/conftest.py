"""Shared fixtures: where the real biodiversity data is (read in place, never copied)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The repository sits next to `shared/` on development and CI machines.
_DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "biodiversity"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ.get("ZOOTOPIA_DATA_DIR", _DEFAULT_DATA))
    assert (path / "README.md").is_file(), f"the real data is missing at {path}: set ZOOTOPIA_DATA_DIR"
    return path
