"""Loads a Python file of the repository that is not on the import path (a role's module_utils, a bench script)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load(name: str, relative_path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / relative_path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first, as an import does: dataclasses look their module up while it runs.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
