"""A local stand-in for the GBIF, OBIS and iDigBio APIs, serving the recorded real data.

The test cluster has no internet; the engine is pointed at this mirror instead
(Settings.services) and walks the same API paths it walks in production.
"""

from __future__ import annotations

from zootopia.mirror.app import create_app, serve
from zootopia.mirror.cli import add_arguments, run

__all__ = ["add_arguments", "create_app", "run", "serve"]
