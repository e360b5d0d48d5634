"""The app package installs and reports the version its metadata declares."""

from __future__ import annotations

from importlib.metadata import version

import zootopia


def test_version_matches_the_installed_metadata() -> None:
    assert zootopia.__version__ == version("zootopia")
