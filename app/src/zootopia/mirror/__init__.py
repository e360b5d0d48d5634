"""The mirror: the recorded GBIF, OBIS and iDigBio files in, those APIs' paths out over HTTP.

A local stand-in for the three aggregators: the test cluster has no internet, so the engine is pointed
at this mirror instead (Settings.services) and walks the same API paths it walks in production.
"""

from __future__ import annotations

from zootopia.mirror.app import create_app, serve
from zootopia.mirror.cli import add_arguments, run

__all__ = ["add_arguments", "create_app", "run", "serve"]
